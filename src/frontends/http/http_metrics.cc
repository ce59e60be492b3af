#include "frontends/http/http_metrics.h"

#include <string>

namespace infergate::http {
namespace {

constexpr const char* kReasonNames[] = {
    "malformed_http", "header_too_large", "body_too_large", "timeout",         "truncated",
    "invalid_request", "tensor_too_large", "unknown_route", "method_not_allowed", "busy",
    "unknown_model", "no_device_contract", "invalid_telemetry", "device_limit", "overloaded",
    "shared_memory", "unsupported_transfer_coding", "unsupported_content_coding",
    "decode_queue_full"};
static_assert(std::size(kReasonNames) == static_cast<size_t>(RejectReason::kCount));

constexpr const char* kResponsesName = "infergate_http_responses_total";
constexpr const char* kResponsesHelp = "HTTP responses sent, by status code";

}  // namespace

HttpMetrics::HttpMetrics(core::MetricsRegistry* registry) : registry_(registry) {
  for (size_t i = 0; i < rejected_.size(); ++i) {
    rejected_[i] = &registry->GetCounter(
        "infergate_http_requests_rejected_total",
        "HTTP requests refused before reaching a model, by reason", {{"reason", kReasonNames[i]}});
  }
  for (int code : {200, 202, 400, 404, 405, 408, 413, 415, 431, 500, 501, 503, 504}) {
    responses_[code] = &registry->GetCounter(kResponsesName, kResponsesHelp,
                                             {{"code", std::to_string(code)}});
  }
}

void HttpMetrics::Respond(int status) {
  auto it = responses_.find(status);  // the map is never modified after construction
  if (it != responses_.end()) return it->second->Increment();
  registry_->GetCounter(kResponsesName, kResponsesHelp, {{"code", std::to_string(status)}})
      .Increment();
}

}  // namespace infergate::http
