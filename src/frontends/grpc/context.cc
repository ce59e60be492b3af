#include "frontends/grpc/context.h"

#include <algorithm>
#include <cctype>
#include <string>


namespace infergate::grpc_frontend {

FrontendMetrics::FrontendMetrics(core::MetricsRegistry& registry) {
  const char* kRequests = "Inference requests received over gRPC, by method";
  unary_requests = &registry.GetCounter("infergate_grpc_infer_requests_total", kRequests,
                                        {{"method", "ModelInfer"}});
  stream_requests = &registry.GetCounter("infergate_grpc_infer_requests_total", kRequests,
                                         {{"method", "ModelStreamInfer"}});
  in_flight = &registry.GetGauge("infergate_grpc_inferences_in_flight",
                                 "gRPC inference requests admitted and not yet answered");
  streams_open = &registry.GetGauge("infergate_grpc_streams_open", "ModelStreamInfer calls open");
  protocol_errors = &registry.GetCounter("infergate_grpc_protocol_errors_total",
                                         "gRPC connections closed for breaking the HTTP/2 protocol");
  const char* kClosed = "gRPC connections the server closed itself, by reason";
  const char* reasons[] = {"idle", "write_timeout", "stalled"};  // MethodTable::CloseReason's order
  for (size_t i = 0; i < closed.size(); ++i) {
    closed[i] = &registry.GetCounter("infergate_grpc_connections_closed_total", kClosed, {{"reason", reasons[i]}});
  }
  buffered_bytes = &registry.GetGauge("infergate_grpc_buffered_bytes",
                                      "Request bytes held by all gRPC connections (partial and waiting messages)");
  const char* kRejected = "gRPC calls answered with an error, by reason";
  shared_memory_rejected = &registry.GetCounter("infergate_grpc_requests_rejected_total", kRejected,
                                                {{"reason", "shared_memory"}});
  for (size_t i = 0; i < rejected.size(); ++i) {
    std::string reason(core::StatusCodeName(static_cast<core::StatusCode>(i)));
    std::transform(reason.begin(), reason.end(), reason.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    rejected[i] = &registry.GetCounter("infergate_grpc_requests_rejected_total", kRejected, {{"reason", reason}});
  }
}

std::optional<core::TimePoint> RequestDeadline(std::optional<std::chrono::nanoseconds> timeout,
                                               const core::Clock& clock) {
  if (!timeout) return std::nullopt;
  return clock.Now() + std::chrono::duration_cast<core::Duration>(*timeout);
}

}  // namespace infergate::grpc_frontend
