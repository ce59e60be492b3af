// The MQTT frontend's telemetry routes: a device's message is decoded and
// handed to the DeviceService; each window's result or error is published as
// it comes, and a refused message is answered with an error.
#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "frontends/mqtt/mqtt_frontend.h"
#include "pipeline/device_service.h"

namespace infergate::mqtt {
namespace {

// The reason label of a refusal: "bad_telemetry" for a field's error,
// "device_limit" for a full device table, the status's name otherwise.
std::string RefusalReason(const pipeline::MessageOutcome& outcome) {
  switch (outcome.refusal) {
    case pipeline::Refusal::kInvalidTelemetry: return "bad_telemetry";
    case pipeline::Refusal::kDeviceLimit: return "device_limit";
    default: return ReasonOf(outcome.status);
  }
}

// One telemetry message's replies. Each window holds an in-flight slot from
// its submission to its outcome; a message that only fills a window holds none.
// The message is acknowledged to the broker once its last reply is done (at
// once when it only fills a window).
class TelemetryReplies final : public pipeline::DeviceReplies,
                               public std::enable_shared_from_this<TelemetryReplies> {
 public:
  // `route` and `captures` are read by OnDevice only, which runs inside
  // DeviceService::Submit on the network thread, while both are alive.
  TelemetryReplies(std::shared_ptr<ReplySink> sink, ReplyTarget target, const Route* route,
                   const Captures* captures, std::string model)
      : sink_(std::move(sink)),
        target_(std::move(target)),
        route_(route),
        captures_(captures),
        model_(std::move(model)) {}

  void OnDevice(const std::string& device, std::string* result_topic) override {
    // Without a Response Topic the reply template may name the device the
    // contract's id_field gave. Written before any window is submitted.
    if (!route_) return;
    Captures values = {{"device", device}, {"model", model_}};
    values.insert(values.end(), captures_->begin(), captures_->end());
    target_.topic = route_->reply_topic.Expand(values);
    *result_topic = target_.topic;
  }
  void OnSubmit(size_t windows) override {
    unanswered_ += static_cast<int>(windows);
    for (size_t i = 0; i < windows; ++i) sink_->Begin();
  }
  void OnWindow(const std::string&, const pipeline::WindowOutcome& outcome) override {
    if (!outcome.status.ok()) {
      sink_->SendError(target_, outcome.status, ReasonOf(outcome.status), "", 0, Answered());
    } else if (outcome.result) {
      sink_->SendJson(target_, protocol::EncodeResult(*outcome.result), model_, "", Answered());
    } else {
      Answer();
    }
    sink_->Finish();
  }
  void OnDone(pipeline::MessageOutcome outcome) override {
    if (outcome.refusal == pipeline::Refusal::kNone) return Answer();
    sink_->SendError(target_, outcome.status, RefusalReason(outcome), "", 0, Answered());
  }

 private:
  // One reply (or the message itself) is done; the last acknowledges the message.
  void Answer() {
    if (--unanswered_ == 0 && target_.receipt) target_.receipt->Answered(sink_->AnswerLabel(target_));
  }
  PublishDone Answered() {
    return [self = shared_from_this()](const core::Status&) { self->Answer(); };
  }

  const std::shared_ptr<ReplySink> sink_;
  ReplyTarget target_;
  std::atomic<int> unanswered_{1};  // the windows' replies and the message's end
  const Route* route_;        // null: the target is the Response Topic
  const Captures* captures_;  // see the constructor
  const std::string model_;
};

}  // namespace

void MqttFrontend::ProcessTelemetry(const IncomingMessage& message, const RouteMatch& match,
                                    ReplyTarget target) {
  const Route& route = *match.route;
  const std::string model = route.ModelFor(match.captures);
  if (auto st = telemetry_decoder_.Decode(*message.payload, &telemetry_); !st.ok()) {
    return Refuse(target, st.WithPrefix("telemetry for model '" + model + "'"), "malformed",
                  ScanTopLevelId(*message.payload));
  }
  pipeline::DeviceService::SubmitOptions options;
  if (message.expiry_secs) {
    options.deadline = clock_->Now() + std::chrono::seconds(*message.expiry_secs);
  }
  options.result_topic = target.topic;  // for the result tap (the uplink)
  const std::string* captured = FindCapture(match.captures, "device");
  auto replies = std::make_shared<TelemetryReplies>(
      shared_, std::move(target), message.response_topic.empty() ? &route : nullptr,
      &match.captures, model);
  devices_->Submit(model, route.version, captured ? *captured : "", telemetry_, options, std::move(replies));
}

}  // namespace infergate::mqtt
