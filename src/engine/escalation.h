// EscalatingService: the InferenceService every frontend (and the device
// pipeline) submits to. It passes requests through to the dispatcher, and for
// a model whose config has `escalate:` it runs the local model first, then,
// when the rule fires (escalation_rule.h), sends the same inputs to the
// target model (`to`, looked up per request, usually backend: remote) and
// answers with whichever comes first:
//   - the target's answer, within timeout_ms of the local answer -> tier "cloud";
//   - else the local answer, with "escalation": "timeout" (no answer in time)
//     or "unavailable" (the target failed, is not loaded, or its circuit
//     breaker is open: then no time is spent at all).
// Every answer of an escalating model carries the parameter "tier" ("edge"
// or "cloud"); fallbacks add "escalation". The answer keeps the model's
// own name and version. Models without `escalate:` are untouched.
//
// Nothing blocks: the local answer's callback (a scheduler thread) submits
// to the target and arms a timer (TimerQueue, its own thread); the first of
// the target's callback and the timer answers.
//
// Metrics: infergate_escalations_total{model,to},
// infergate_escalation_fallbacks_total{model,reason},
// infergate_escalation_duration_seconds{model} (the target's latency, answers
// in time), infergate_escalation_breaker_state{to} (0 closed, 1 open,
// 2 half-open).
//
// Lifetime: destroy after the inner service has been shut down (so no
// callback of it is still to come); pending timers then fire at once.
// Thread-safety: Submit from any thread, also from inside a callback.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/clock.h"
#include "core/dispatcher.h"
#include "core/metrics.h"
#include "core/model_repository.h"
#include "engine/circuit_breaker.h"
#include "engine/timer_queue.h"

namespace infergate::engine {

class EscalatingService final : public core::InferenceService {
 public:
  // The configuration of the READY version `version` (0: the newest) of
  // `model`, or null. Called on every Submit, from any thread.
  using ConfigLookup =
      std::function<std::shared_ptr<const core::ModelConfig>(const std::string& model, int64_t version)>;
  // The repository's lookup (the config shares the version's lifetime).
  static ConfigLookup LookupIn(const core::ModelRepository* repository);

  // The pointers are not owned and outlive this.
  EscalatingService(core::InferenceService* inner, ConfigLookup lookup, core::MetricsRegistry* metrics,
                    const core::Clock* clock);

  void Submit(std::unique_ptr<core::InferRequest> request) override;
  // Makes the timer thread re-read the clock (tests with a ManualClock).
  void WakeTimers() { timers_.Wake(); }

 private:
  struct Pending;
  struct Captured;

  void OnLocal(const std::shared_ptr<Captured>& captured, std::unique_ptr<core::InferResponse> response);
  void Escalate(const std::shared_ptr<Captured>& captured, std::unique_ptr<core::InferResponse> local);
  void OnTarget(const std::shared_ptr<Pending>& pending, std::unique_ptr<core::InferResponse> response);
  void OnTimeout(const std::shared_ptr<Pending>& pending);
  // Answers with the local response, marked as a fallback for `reason`.
  void FallBack(const Captured& captured, std::unique_ptr<core::InferResponse> local, const char* reason);
  CircuitBreaker& BreakerFor(const core::EscalationConfig& config);

  core::InferenceService* inner_;
  ConfigLookup lookup_;
  core::MetricsRegistry* metrics_;
  const core::Clock* clock_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<CircuitBreaker>> breakers_;  // GUARDED_BY(mu_), by target
  TimerQueue timers_;  // last: its destructor fires what is pending while the rest exists
};

}  // namespace infergate::engine
