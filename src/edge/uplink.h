// Uplink: the edge gateway's connection to the IoT platform's (cloud) broker.
//
// Installed as the device pipeline's result observer (through the server's
// forwarder), it sees every result the contracts' on: rules send, whichever
// frontend took the message. Per `forward` (alerts: result.alert true;
// results: every one; none) it encodes the result as the local reply body
// (protocol::EncodeResult) and Pushes it to its Outbox ("uplink") under
//   <uplink.topic_prefix>/<local result topic>
// where the local result topic is the MQTT reply topic, or for results
// without one (HTTP, gRPC) <mqtt.topic_prefix>/devices/<device>/<model>/result.
// Push only queues (the journal commits in groups on its own thread), so a
// local answer never waits for the uplink; the Outbox's sender hands the
// durable messages, in order and at most max_rate a second while a backlog
// drains, to a second MqttClient, and deletes each once the cloud broker
// acknowledged it. The client reconnects with back-off; nothing is lost
// while the cloud is away or the process restarts (the outbox file stays).
//
// Status: `<status topic>` (default <topic_prefix>/status) holds a retained
// JSON status: {"state":"online","backlog":N,"backlog_bytes":B} at each
// connect and every status_interval while it changed; the last will (and a
// graceful stop) sets {"state":"offline"}.
//
// Metrics: infergate_uplink_connected (gauge), infergate_uplink_forwarded_total,
// infergate_uplink_skipped_total{reason="not_alert"|"forward_none"}, the
// outbox's series with outbox="uplink", and the client's MQTT series with
// client="uplink" (the frontend's keep no such label).
//
// Thread-safety: Create, Start and Stop from one controlling thread;
// OnResult from any thread, several at once (it never blocks on the network
// or the disk); the MqttClientListener methods run on the client's network thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/uplink_config.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "core/model_repository.h"
#include "core/status.h"
#include "edge/outbox.h"
#include "frontends/mqtt/mqtt_client.h"
#include "pipeline/device_service.h"

namespace infergate::edge {

struct UplinkOptions {
  config::UplinkConfig config;
  std::string outbox_path;         // resolved: uplink.outbox.path or <state_dir>/uplink-outbox.db
  std::string client_id;           // resolved: uplink.client_id or <mqtt client id>-uplink
  std::string local_topic_prefix;  // mqtt.topic_prefix: for results without a local topic
  core::Duration status_interval = std::chrono::seconds(10);
};

// Not owned; outlive the uplink.
struct UplinkDeps {
  core::MetricsRegistry* metrics = nullptr;
  const core::Clock* clock = &core::SteadyClock::Instance();
  const core::WallClock* wall_clock = &core::SystemWallClock::Instance();
  // The repository's models (ModelRepository::Index), for the status; null: none reported.
  std::function<std::vector<core::ModelStatus>()> models;
};

class Uplink final : public pipeline::ResultObserver, public mqtt::MqttClientListener {
 public:
  // Opens the outbox (recovering what the previous run left) and creates the
  // client. Errors name the key or the file.
  static core::StatusOr<std::unique_ptr<Uplink>> Create(UplinkOptions options, UplinkDeps deps);
  ~Uplink() override;  // Stop(zero)

  // Connects (in the background) and starts sending the outbox.
  void Start();
  // Stops sending, waits at most `flush` for messages handed to the client
  // to be acknowledged, publishes the offline status and disconnects. What
  // was not acknowledged stays in the outbox file. Idempotent.
  void Stop(core::Duration flush);

  // The result tap (any thread).
  void OnResult(const pipeline::ResultEvent& event) override;

  // MqttClientListener (network thread).
  void OnConnected(bool session_present) override;
  void OnDisconnected() override;
  void OnMessage(mqtt::IncomingMessage message) override;
  void OnIdle() override;

  // The uplink topic of a result whose local topic is `local_topic` (empty: the default one).
  std::string TopicFor(const pipeline::Result& result, std::string_view local_topic) const;
  const config::UplinkConfig& config() const { return options_.config; }

 private:
  Uplink(UplinkOptions options, UplinkDeps deps);
  std::string StatusJson() const;
  // Publishes the status when connected and it changed (or `force`).
  void PublishStatus(bool force);

  const UplinkOptions options_;
  const UplinkDeps deps_;
  core::Gauge* connected_;
  core::Counter* forwarded_;
  core::Counter* skipped_not_alert_;
  core::Counter* skipped_none_;
  std::unique_ptr<mqtt::MqttClient> client_;
  std::unique_ptr<OutboxSink> sink_;  // over client_; outlives the outbox's sending
  std::unique_ptr<Outbox> outbox_;
  std::string last_status_;        // network thread only
  core::TimePoint next_status_{};  // network thread only
  bool started_ = false;           // controlling thread
  bool stopped_ = false;           // controlling thread
};

}  // namespace infergate::edge
