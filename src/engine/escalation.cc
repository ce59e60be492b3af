#include "engine/escalation.h"

#include <atomic>
#include <chrono>
#include <utility>
#include <vector>

#include "engine/escalation_rule.h"

namespace infergate::engine {
namespace {

constexpr const char* kEscalations = "infergate_escalations_total";
constexpr const char* kFallbacks = "infergate_escalation_fallbacks_total";

// A copy of a tensor that owns its bytes: the target may still read it
// after the client's request (and the memory it borrowed) is gone.
core::Tensor OwnedCopy(const core::Tensor& t) {
  std::vector<uint8_t> bytes(t.data(), t.data() + t.byte_size());
  return core::Tensor::FromBytes(t.dtype(), t.shape(), std::move(bytes));
}

void Tag(core::InferResponse* response, const char* tier, const char* escalation) {
  response->parameters["tier"] = std::string(tier);
  if (escalation != nullptr) response->parameters["escalation"] = std::string(escalation);
}

}  // namespace

// What the local request said, kept for the target's request and the reply.
struct EscalatingService::Captured {
  std::shared_ptr<const core::ModelConfig> config;  // holds the rule
  std::string id;
  core::Parameters parameters;
  std::vector<core::InferInput> inputs;  // share the request's storage until escalated
  std::vector<std::string> outputs;
  core::ResponseCallback reply;
};

// One escalation in flight: the target's callback and the timer race for it.
struct EscalatingService::Pending {
  std::shared_ptr<Captured> captured;
  std::unique_ptr<core::InferResponse> local;
  CircuitBreaker* breaker = nullptr;
  core::TimePoint sent{};
  std::atomic<bool> done{false};
};

EscalatingService::ConfigLookup EscalatingService::LookupIn(const core::ModelRepository* repository) {
  return [repository](const std::string& model, int64_t version) -> std::shared_ptr<const core::ModelConfig> {
    auto found = repository->Get(model, version);
    if (!found.ok()) return nullptr;
    return std::shared_ptr<const core::ModelConfig>(*found, &(*found)->config());
  };
}

EscalatingService::EscalatingService(core::InferenceService* inner, ConfigLookup lookup,
                                     core::MetricsRegistry* metrics, const core::Clock* clock)
    : inner_(inner), lookup_(std::move(lookup)), metrics_(metrics), clock_(clock), timers_(clock) {}

void EscalatingService::Submit(std::unique_ptr<core::InferRequest> request) {
  auto config = lookup_(request->model_name, request->model_version);
  if (!config || !config->escalate) {
    inner_->Submit(std::move(request));
    return;
  }
  auto captured = std::make_shared<Captured>();
  captured->config = std::move(config);
  captured->id = request->id;
  captured->parameters = request->parameters;
  captured->inputs = request->inputs;
  for (const auto& o : request->outputs) captured->outputs.push_back(o.name);
  captured->reply = std::move(request->on_complete);
  request->on_complete = [this, captured](std::unique_ptr<core::InferResponse> response) {
    OnLocal(captured, std::move(response));
  };
  inner_->Submit(std::move(request));
}

void EscalatingService::OnLocal(const std::shared_ptr<Captured>& captured,
                                std::unique_ptr<core::InferResponse> response) {
  const core::ModelConfig& config = *captured->config;
  if (!response->status.ok() || !ShouldEscalate(config, *response)) {
    if (response->status.ok()) Tag(response.get(), "edge", nullptr);
    captured->inputs.clear();
    captured->reply(std::move(response));
    return;
  }
  Escalate(captured, std::move(response));
}

void EscalatingService::Escalate(const std::shared_ptr<Captured>& captured,
                                 std::unique_ptr<core::InferResponse> local) {
  const core::ModelConfig& config = *captured->config;
  const core::EscalationConfig& e = *config.escalate;
  CircuitBreaker& breaker = BreakerFor(e);
  if (!breaker.Allow()) {
    FallBack(*captured, std::move(local), "unavailable");
    return;
  }
  metrics_->GetCounter(kEscalations, "Answers sent on to the escalation target.", {{"model", config.name}, {"to", e.to}})
      .Increment();
  auto pending = std::make_shared<Pending>();
  pending->captured = captured;
  pending->local = std::move(local);
  pending->breaker = &breaker;
  pending->sent = clock_->Now();
  auto request = std::make_unique<core::InferRequest>();
  request->model_name = e.to;
  request->id = captured->id;
  request->parameters = captured->parameters;
  // Input parameters stay behind: they describe the client's transport
  // (shared memory, binary sizes), which the tensors have already resolved.
  for (const auto& in : captured->inputs) request->inputs.push_back({in.name, OwnedCopy(in.tensor), {}});
  captured->inputs.clear();  // the client's memory is not needed any more
  for (const auto& name : captured->outputs) request->outputs.push_back({name, {}, std::nullopt});
  core::TimePoint deadline = pending->sent + std::chrono::milliseconds(e.timeout_ms);
  request->deadline = deadline;
  request->arrival = pending->sent;
  request->on_complete = [this, pending](std::unique_ptr<core::InferResponse> response) {
    OnTarget(pending, std::move(response));
  };
  timers_.Schedule(deadline, [this, pending] { OnTimeout(pending); });
  inner_->Submit(std::move(request));
}

void EscalatingService::OnTarget(const std::shared_ptr<Pending>& pending,
                                 std::unique_ptr<core::InferResponse> response) {
  if (pending->done.exchange(true)) return;  // the timer answered
  const Captured& captured = *pending->captured;
  const std::string& model = captured.config->name;
  if (response->status.code() == core::StatusCode::kDeadlineExceeded) {
    pending->breaker->OnFailure();
    FallBack(captured, std::move(pending->local), "timeout");
    return;
  }
  if (!response->status.ok()) {
    pending->breaker->OnFailure();
    FallBack(captured, std::move(pending->local), "unavailable");
    return;
  }
  pending->breaker->OnSuccess();
  std::chrono::duration<double> took = clock_->Now() - pending->sent;
  metrics_->GetHistogram("infergate_escalation_duration_seconds", "Escalation target latency (answers in time).",
                         {{"model", model}}, core::LatencyBuckets())
      .Observe(took.count());
  response->model_name = model;
  response->model_version = pending->local->model_version;
  response->id = captured.id;
  Tag(response.get(), "cloud", nullptr);
  captured.reply(std::move(response));
}

void EscalatingService::OnTimeout(const std::shared_ptr<Pending>& pending) {
  if (pending->done.exchange(true)) return;  // the target answered
  pending->breaker->OnFailure();
  FallBack(*pending->captured, std::move(pending->local), "timeout");
}

void EscalatingService::FallBack(const Captured& captured, std::unique_ptr<core::InferResponse> local,
                                 const char* reason) {
  metrics_->GetCounter(kFallbacks, "Escalations answered by the local model instead.",
                       {{"model", captured.config->name}, {"reason", reason}})
      .Increment();
  Tag(local.get(), "edge", reason);
  captured.reply(std::move(local));
}

CircuitBreaker& EscalatingService::BreakerFor(const core::EscalationConfig& e) {
  std::lock_guard lock(mu_);
  auto& slot = breakers_[e.to];
  if (!slot) {
    auto open_for = std::chrono::duration_cast<core::Duration>(std::chrono::duration<double>(e.breaker_open_secs));
    slot = std::make_shared<CircuitBreaker>(e.breaker_failures, open_for, clock_);
    std::shared_ptr<const CircuitBreaker> breaker = slot;  // the gauge may outlive this
    metrics_->AddCallbackGauge("infergate_escalation_breaker_state",
                               "Escalation target circuit breaker: 0 closed, 1 open, 2 half-open.", {{"to", e.to}},
                               [breaker] { return static_cast<double>(breaker->state()); });
  }
  return *slot;
}

}  // namespace infergate::engine
