// Dispatcher: the one entry point frontends hand requests to.
//
// Submit() finds the model version in the repository, checks the request
// against its configuration, and enqueues it on that version's scheduler. It
// keeps one scheduler per loaded version by listening to the repository: a
// scheduler is created when a version becomes READY and drained and destroyed
// when the version is removed (requests already queued still run).
//
// Ownership: Submit() takes the request and calls its on_complete exactly
// once: at once (inline, on the caller's thread) for a refusal, later from a
// scheduler thread otherwise. Frontends must not block in on_complete.
//
// Thread-safety: Submit may be called from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "core/clock.h"
#include "core/infer.h"
#include "core/metrics.h"
#include "core/model_repository.h"
#include "core/scheduler.h"

namespace infergate::core {

class InferenceService {
 public:
  virtual ~InferenceService() = default;
  virtual void Submit(std::unique_ptr<InferRequest> request) = 0;
};

// Checks a request against a model version's configuration: inputs (names,
// types, shapes with the batch dimension), batch size <= max_batch_size, and
// the requested outputs. Errors name the input or output.
Status ValidateRequest(const ModelConfig& config, const InferRequest& request);

class Dispatcher final : public InferenceService {
 public:
  // Registers itself as a repository listener: construct before the
  // repository's first Poll. Both pointers are not owned and outlive this.
  Dispatcher(ModelRepository* repository, MetricsRegistry* metrics,
             const Clock* clock = &SteadyClock::Instance());
  ~Dispatcher() override;

  void Submit(std::unique_ptr<InferRequest> request) override;

  // Drains every scheduler (what is queued runs and is answered) and refuses
  // every later Submit with UNAVAILABLE. Must not be called from a scheduler
  // thread. Idempotent; the destructor calls it.
  void Shutdown();

 private:
  struct VersionMetrics;
  struct Entry {
    std::shared_ptr<Scheduler> scheduler;  // null when creating it failed
    Status error;                          // why there is no scheduler
    std::shared_ptr<VersionMetrics> metrics;
  };

  void OnRepositoryEvent(const RepositoryEvent& event);
  // Refuses the request with `status`, counting it.
  void Refuse(std::unique_ptr<InferRequest> request, Status status);

  ModelRepository* repository_;
  MetricsRegistry* metrics_;
  const Clock* clock_;
  mutable std::mutex mu_;
  std::map<const ModelVersion*, Entry> entries_;  // GUARDED_BY(mu_)
  bool shut_down_ = false;                        // GUARDED_BY(mu_)
};

}  // namespace infergate::core
