// POST /v2/models/{m}[/versions/{v}]/devices/{device}/telemetry: decode the
// device's message on the IO thread, hand it to the DeviceService, and encode
// its one outcome as the reply (on the thread that reports it: the IO thread
// when no window ran, else the scheduler thread completing the last window).
#include <memory>
#include <utility>

#include "frontends/http/routes.h"
#include "pipeline/device_service.h"
#include "protocol/json_writer.h"
#include "protocol/telemetry_json.h"

namespace infergate::http {
namespace {

using pipeline::MessageOutcome;
using pipeline::Refusal;
using protocol::JsonWriter;

RejectReason ReasonFor(Refusal refusal) {
  switch (refusal) {
    case Refusal::kUnknownModel: return RejectReason::kUnknownModel;
    case Refusal::kNoDeviceContract: return RejectReason::kNoDeviceContract;
    case Refusal::kDeviceLimit: return RejectReason::kDeviceLimit;
    case Refusal::kNone:
    case Refusal::kInvalidTelemetry: break;
  }
  return RejectReason::kInvalidTelemetry;
}

// 202: the message was taken, no window completed. (A window that waits for
// a stateful device's window in flight is answered once it has run.)
HttpResponse Pending(const MessageOutcome& outcome) {
  const auto& progress = outcome.progress;
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Member("status", "window filling");
  w.Member("device", std::string_view(outcome.device));
  w.Member("readings", progress.readings);
  if (progress.needed >= 0) w.Member("needed", progress.needed);
  if (progress.queued) w.Member("queued", static_cast<int64_t>(progress.queued));
  w.EndObject();
  return JsonResponse(std::move(body), 202);
}

// 200: windows ran and the on: rule kept quiet.
HttpResponse Quiet(const MessageOutcome& outcome) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Member("status", outcome.on == core::DeviceResult::On::kChange ? "no change" : "no alert");
  w.Member("device", std::string_view(outcome.device));
  w.Member("windows", static_cast<int64_t>(outcome.windows));
  w.EndObject();
  return JsonResponse(std::move(body));
}

// 200: the result, or the results in window order.
HttpResponse Results(const MessageOutcome& outcome) {
  if (outcome.results.size() == 1) return JsonResponse(protocol::EncodeResult(outcome.results[0]));
  std::string body = "[";
  for (size_t i = 0; i < outcome.results.size(); ++i) {
    if (i) body += ',';
    body += protocol::EncodeResult(outcome.results[i]);
  }
  body += ']';
  return JsonResponse(std::move(body));
}

// One reply per message, from the service's OnDone.
class TelemetryReply final : public pipeline::DeviceReplies {
 public:
  TelemetryReply(HttpMetrics* metrics, Reply reply)
      : metrics_(metrics), reply_(std::move(reply)) {}

  void OnDone(MessageOutcome outcome) override {
    if (outcome.refusal != Refusal::kNone) {
      metrics_->Reject(ReasonFor(outcome.refusal));
      return reply_(ErrorResponse(outcome.status));
    }
    if (!outcome.status.ok()) {
      if (outcome.status.code() == core::StatusCode::kUnavailable) {
        metrics_->Reject(RejectReason::kOverloaded);
      }
      return reply_(ErrorResponse(outcome.status));
    }
    if (outcome.windows == 0) return reply_(Pending(outcome));
    reply_(outcome.results.empty() ? Quiet(outcome) : Results(outcome));
  }

 private:
  HttpMetrics* const metrics_;
  Reply reply_;
};

}  // namespace

void DeviceTelemetry(const RouteContext& ctx, const HttpRequest& request, const ModelPath& path,
                     const std::string& device, Reply reply) {
  pipeline::Telemetry telemetry;
  core::Status st;
  if (request.telemetry_decoder) {
    st = request.telemetry_decoder->Decode(request.body, &telemetry);
  } else {
    auto decoded = protocol::DecodeTelemetry(request.body);
    st = decoded.status();
    if (decoded.ok()) telemetry = std::move(*decoded);
  }
  if (!st.ok()) {
    ctx.http_metrics->Reject(RejectReason::kInvalidTelemetry);
    return reply(ErrorResponse(st));
  }
  ctx.devices->Submit(path.name, path.version, device, telemetry, {},
                      std::make_shared<TelemetryReply>(ctx.http_metrics, std::move(reply)));
}

}  // namespace infergate::http
