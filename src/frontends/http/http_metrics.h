// The HTTP frontend's own metrics, looked up once:
//   infergate_http_requests_rejected_total{reason}  counter: requests refused
//     before reaching a model (malformed HTTP or JSON, limits, time-outs,
//     unknown routes, device telemetry refused); refusals of /infer by the
//     dispatcher are counted there.
//   infergate_http_responses_total{code}            counter: responses sent, by status
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <array>
#include <map>

#include "core/metrics.h"

namespace infergate::http {

enum class RejectReason {
  kMalformedHttp,     // not HTTP/1.x
  kHeaderTooLarge,    // above max_header_bytes
  kBodyTooLarge,      // above max_body_bytes
  kTimeout,           // the request did not arrive within request_timeout_secs
  kTruncated,         // the client closed before the body was complete
  kInvalidRequest,    // the v2 request body or a URL part is malformed
  kTensorTooLarge,    // a tensor above max_elements_per_tensor
  kUnknownRoute,      // no such endpoint
  kMethodNotAllowed,  // endpoint exists, other method
  kBusy,              // the repository worker's queue is full
  // Device telemetry (POST .../devices/{d}/telemetry):
  kUnknownModel,      // no loaded model (or version) of that name
  kNoDeviceContract,  // the model has no device: section
  kInvalidTelemetry,  // malformed JSON, a missing or mistyped field, a late reading
  kDeviceLimit,       // the model tracks device.max_devices devices already
  kOverloaded,        // the model's queue refused the window's inference
  kSharedMemory,      // a shared memory register/unregister/status request refused
  kTransferCoding,    // a Transfer-Encoding other than chunked (501)
  kContentCoding,     // a request Content-Encoding other than identity (415)
  kDecodeQueueFull,   // a large /infer body found the decode worker's queue full (503)
  kCount,
};

class HttpMetrics {
 public:
  // `registry` is not owned and outlives this.
  explicit HttpMetrics(core::MetricsRegistry* registry);

  void Reject(RejectReason reason) { rejected_[static_cast<size_t>(reason)]->Increment(); }
  void Respond(int status);
  uint64_t rejected(RejectReason reason) const { return rejected_[static_cast<size_t>(reason)]->value(); }

 private:
  core::MetricsRegistry* registry_;
  std::array<core::Counter*, static_cast<size_t>(RejectReason::kCount)> rejected_{};
  std::map<int, core::Counter*> responses_;  // the common codes, filled at construction
};

}  // namespace infergate::http
