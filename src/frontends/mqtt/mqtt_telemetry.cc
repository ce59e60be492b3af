// The MQTT frontend's telemetry routes: device telemetry -> the model's
// device contract -> windows submitted for inference -> results published.
#include <memory>
#include <string>
#include <utility>

#include "frontends/mqtt/mqtt_frontend.h"
#include "pipeline/contracts.h"

namespace infergate::mqtt {
namespace {

// What the completion of one device's window needs; shared by the windows
// one message completes and the ones a stateful contract hands out later.
struct WindowCall {
  std::shared_ptr<ReplySink> sink;
  std::shared_ptr<pipeline::ContractRunner> runner;
  core::InferenceService* inference;
  std::string device;
  ReplyTarget target;
};

// "bad_telemetry" for a field's error, "device_limit" for a full device table.
std::string_view AcceptReason(const core::Status& status) {
  return status.code() == core::StatusCode::kResourceExhausted ? "device_limit" : "bad_telemetry";
}

// Submits one window; its completion publishes the result (or the error)
// and submits the window the contract hands out next (stateful contracts).
void SubmitWindow(const std::shared_ptr<const WindowCall>& call,
                  std::unique_ptr<core::InferRequest> request) {
  request->on_complete = [call](std::unique_ptr<core::InferResponse> response) {
    pipeline::ContractRunner::Outcome outcome = call->runner->Interpret(call->device, *response);
    if (!outcome.status.ok()) {
      call->sink->SendError(call->target, outcome.status, ReasonOf(outcome.status), "");
    } else if (outcome.result) {
      call->sink->SendJson(call->target, protocol::EncodeResult(*outcome.result));
    }
    for (auto& next : outcome.next) SubmitWindow(call, std::move(next));
    call->sink->Finish();
  };
  call->sink->Begin();
  call->inference->Submit(std::move(request));
}

}  // namespace

void MqttFrontend::ProcessTelemetry(const IncomingMessage& message, const RouteMatch& match,
                                    ReplyTarget target) {
  const Route& route = *match.route;
  const std::string model = route.ModelFor(match.captures);
  auto runner = contracts_->Get(model);
  if (!runner.ok()) return Refuse(target, runner.status(), ReasonOf(runner.status()), "");
  if (auto st = telemetry_decoder_.Decode(*message.payload, &telemetry_); !st.ok()) {
    return Refuse(target, st.WithPrefix("telemetry for model '" + model + "'"), "malformed", "");
  }
  const std::string* captured = FindCapture(match.captures, "device");
  auto device = (*runner)->DeviceId(captured ? *captured : "", telemetry_);
  if (!device.ok()) return Refuse(target, device.status(), "bad_telemetry", "");
  if (message.response_topic.empty()) {
    // The reply template may name the device the contract's id_field gave.
    Captures values = {{"device", *device}, {"model", model}};
    values.insert(values.end(), match.captures.begin(), match.captures.end());
    target.topic = route.reply_topic.Expand(values);
  }
  auto requests = (*runner)->Accept(*device, telemetry_);
  if (!requests.ok()) return Refuse(target, requests.status(), AcceptReason(requests.status()), "");
  if (requests->empty()) return;  // the window is filling: nothing in flight
  auto call = std::make_shared<const WindowCall>(
      WindowCall{shared_, std::move(*runner), inference_, std::move(*device), std::move(target)});
  for (auto& request : *requests) {
    if (message.expiry_secs) {
      request->deadline = clock_->Now() + std::chrono::seconds(*message.expiry_secs);
    }
    SubmitWindow(call, std::move(request));
  }
}

}  // namespace infergate::mqtt
