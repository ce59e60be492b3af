// What the service and the streams share: options, dependencies, metrics
// looked up once, the active-call count for the drain, and request deadlines.
//
// Thread-safety: immutable after construction except `draining` (atomic) and
// the metrics (atomics).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>

#include "core/status.h"
#include "frontends/grpc/codec.h"
#include "frontends/grpc/grpc_frontend.h"
#include "net/in_flight.h"

namespace infergate::grpc_frontend {

struct FrontendMetrics {
  explicit FrontendMetrics(core::MetricsRegistry& registry);
  core::Counter* unary_requests;
  core::Counter* stream_requests;
  core::Gauge* in_flight;
  core::Gauge* streams_open;
  core::Counter* protocol_errors;
  // Indexed by core::StatusCode.
  std::array<core::Counter*, core::kStatusCodeCount> rejected{};
  // Refused SystemSharedMemory* calls, whatever their code (reason="shared_memory").
  core::Counter* shared_memory_rejected;
  // Connections the server closed itself, by MethodTable::CloseReason.
  std::array<core::Counter*, 3> closed{};
  core::Gauge* buffered_bytes;  // request bytes held by all connections

  void CountRejected(core::StatusCode code) { rejected[static_cast<size_t>(code)]->Increment(); }
};

struct FrontendContext {
  FrontendContext(GrpcFrontendOptions o, GrpcFrontendDeps d)
      : options(std::move(o)),
        deps(d),
        own_policy(d.policy ? nullptr : std::move(*auth::Policy::Create({}, nullptr))),  // auth off cannot fail
        policy(d.policy ? d.policy : own_policy.get()),
        limits{options.max_tensor_elements},
        metrics(*d.metrics) {}
  GrpcFrontendOptions options;
  GrpcFrontendDeps deps;
  std::unique_ptr<auth::Policy> own_policy;  // auth off, when deps.policy is null
  const auth::Policy* policy;                // never null
  InputLimits limits;
  FrontendMetrics metrics;
  std::atomic<bool> draining{false};

  // Inference calls from their start until their reply is handed to the
  // connection, streams until they are closed with nothing in flight.
  // Drain waits for none to be left.
  void Enter() { active_.Enter(); }
  void Leave() { active_.Leave(); }
  // True when no call is active by `deadline`.
  bool WaitIdle(std::chrono::steady_clock::time_point deadline) { return active_.WaitIdle(deadline); }
  // Until no call is active.
  void WaitIdle() { active_.WaitIdle(); }

 private:
  net::InFlight active_;
};

// The deadline a call's grpc-timeout sets, on the core clock; nullopt when
// it has none.
std::optional<core::TimePoint> RequestDeadline(std::optional<std::chrono::nanoseconds> timeout,
                                               const core::Clock& clock);

}  // namespace infergate::grpc_frontend
