// MqttFrontend: devices publish requests to a broker; infergate answers
// through it.
//
// A message arrives on the client's network thread, is matched to a route,
// checked (size, in-flight bound), decoded and submitted to the
// InferenceService; the reply is encoded and published from the completion
// callback (a scheduler thread; MqttClient::Publish is thread-safe and the
// network thread writes it). The reply goes to the MQTT 5 Response Topic with
// the Correlation Data when the request has one, else to the route's reply
// topic. Errors are replied the same way as {"error": "..."} with user
// properties `reason_code` (MQTT 5 reason code from core/status_map.h) and
// `status`.
//
// Telemetry routes (format telemetry) go through pipeline::DeviceService: the
// message is decoded with the telemetry codec and submitted; each window it
// leads to holds an in-flight slot until its outcome, whose result (when the
// contract's on: rule says send) or error is published like any reply. A
// message that only fills a window is done at once and holds no in-flight
// slot. The network thread also evicts idle devices about once a second
// (OnIdle), so devices that stop sending are forgotten without traffic.
//
// Back-pressure: at most max_inflight requests are submitted at once. At the
// bound the network thread stops reading (the broker holds further messages);
// messages that were already read wait in a queue of the same size; a message
// beyond both is answered at once with an "overloaded" error.
//
// Acknowledgement: a QoS 1/2 request is acknowledged to the broker once it
// is answered (its reply acknowledged by the broker, or written for a QoS 0
// reply; an error reply counts), or at once after processing when it has
// no reply topic; a telemetry message once its last reply is done.
//
// Shutdown (engine::Frontend): Drain stops reading (the broker keeps what
// devices send next for a persistent session) and waits until every message
// already read is answered; Stop publishes the offline status and
// disconnects, flushing replies for at most half a second.
//
// Thread-safety: Create, Start, Drain and Stop from the controlling thread;
// the listener methods run on the client's network thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/mqtt_config.h"
#include "core/clock.h"
#include "core/dispatcher.h"
#include "core/metrics.h"
#include "core/status.h"
#include "engine/frontend.h"
#include "frontends/mqtt/codec.h"
#include "frontends/mqtt/mqtt_client.h"
#include "frontends/mqtt/reply_sink.h"
#include "frontends/mqtt/route.h"
#include "pipeline/telemetry.h"
#include "protocol/telemetry_json.h"

namespace infergate::pipeline {
class DeviceService;
}

namespace infergate::mqtt {

class MqttFrontend final : public MqttClientListener, public engine::Frontend {
 public:
  // The pointers are not owned and outlive the frontend; `devices` may be
  // null when no route carries telemetry. Errors name the key.
  static core::StatusOr<std::unique_ptr<MqttFrontend>> Create(const config::MqttConfig& config,
                                                             core::InferenceService* inference,
                                                             pipeline::DeviceService* devices,
                                                             core::MetricsRegistry* metrics,
                                                             const core::Clock* clock);
  ~MqttFrontend() override;

  std::string_view name() const override { return "mqtt"; }
  // Starts connecting (in the background; the broker may come later).
  core::Status Start() override;
  // Stops reading; true once every message read so far is answered, false
  // when `deadline` came first. Idempotent.
  bool Drain(core::TimePoint deadline) override;
  // Publishes the offline status and disconnects. Idempotent.
  void Stop() override;

  void OnConnected(bool session_present) override;
  void OnDisconnected() override;
  void OnMessage(IncomingMessage message) override;
  void OnIdle() override;

 private:
  MqttFrontend(config::MqttConfig config, std::vector<Route> routes, core::InferenceService* inference,
               pipeline::DeviceService* devices, core::MetricsRegistry* metrics,
               const core::Clock* clock);
  // Response Topic when the request has one, else the route's reply topic.
  static ReplyTarget TargetFor(const IncomingMessage& message, const std::optional<RouteMatch>& match);
  void Process(IncomingMessage message);
  // A message on a telemetry route (mqtt_telemetry.cc).
  void ProcessTelemetry(const IncomingMessage& message, const RouteMatch& match, ReplyTarget target);
  void Refuse(const ReplyTarget& target, const core::Status& status, std::string_view reason,
              std::string_view id);
  void UpdatePause();

  config::MqttConfig config_;
  std::vector<Route> routes_;
  core::InferenceService* inference_;
  pipeline::DeviceService* devices_;  // null: no telemetry routes
  core::MetricsRegistry* metrics_;
  const core::Clock* clock_;
  std::shared_ptr<ReplySink> shared_;
  std::unique_ptr<MqttClient> client_;
  std::deque<IncomingMessage> waiting_;              // network thread only
  RequestDecoder decoder_;                           // network thread only
  protocol::TelemetryDecoder telemetry_decoder_;     // network thread only
  pipeline::Telemetry telemetry_;                    // network thread only (reused)
  core::TimePoint next_eviction_;                    // network thread only
  std::atomic<bool> draining_{false};
  std::atomic<bool> stopped_{false};
};

// "infergate-<hostname>-<pid>": the client id used when none is configured.
std::string DefaultClientId();

}  // namespace infergate::mqtt
