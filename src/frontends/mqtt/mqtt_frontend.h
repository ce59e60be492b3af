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
// Admission: at most max_inflight requests are submitted at once; messages
// read beyond that wait, first in first out, in a queue of the same size (a
// message whose MQTT 5 Message Expiry passes while it waits is answered with
// DEADLINE_EXCEEDED instead of run). A message beyond both is answered at once
// with an `overloaded` error (UNAVAILABLE, retry_after_ms) and reading goes
// on, so a flood far above capacity keeps the models busy with fresh requests
// and answers the excess fast; their retry_after_ms is the configured hint
// or, when longer, the time the requests already here take to be answered.
// Those answers are bounded to max_overload_replies_per_sec (a token
// bucket); beyond that rate a QoS 0 request is shed (counted in
// infergate_mqtt_requests_shed_total: reading on keeps what is read fresh);
// after a QoS 1/2 request the network thread stops reading while the
// bucket is empty (back-pressure: the broker keeps further messages).
//
// A v2 request's "reply_topic" parameter names its reply topic when the
// message has no Response Topic (MQTT 3.1.1 has none), checked by
// CheckReplyTopic against mqtt.reply_topic_prefix; a "correlation_id"
// parameter is echoed in the reply's "parameters" (and sent as Correlation
// Data to MQTT 5 requesters that gave none). Error replies carry the
// request's "id" whenever it can be read (ScanTopLevelId when parsing failed).
//
// Acknowledgement: a QoS 1/2 request is acknowledged to the broker once it
// is answered (its reply acknowledged by the broker, or written for a QoS 0
// reply; an error reply counts), or at once after processing when it has
// no reply topic; a telemetry message once its last reply is done.
//
// Reload (UpdateRoutes, on SIGHUP): new routes are built and checked on the
// caller's thread, then handed to the network thread, which subscribes the
// filters that are new (or changed QoS), unsubscribes those no route uses
// any more and serves the new routes from then on. A message read before the
// swap is routed by the routes in force when it was read (also while it
// waits for a slot), so its reply goes where those said. After a reconnect
// the routes in force are subscribed (and, when the broker kept the
// session, the filters they no longer use unsubscribed).
//
// Outbox (mqtt.outbox with a path): QoS 1/2 replies are written to a durable
// edge::Outbox and published from it through the client (MqttOutboxSink) once
// connected, in order, without waiting for their write; a request counts as
// answered once its reply is safe there (committed or acknowledged by the
// broker, whichever is first), so a broker outage or a crash after that loses
// no reply (replies of the previous run go after the first connect).
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
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/mqtt_config.h"
#include "core/clock.h"
#include "core/dispatcher.h"
#include "core/metrics.h"
#include "core/status.h"
#include "engine/frontend.h"
#include "frontends/mqtt/codec.h"
#include "edge/outbox.h"
#include "frontends/mqtt/mqtt_client.h"
#include "frontends/mqtt/outbox_sink.h"
#include "frontends/mqtt/reply_sink.h"
#include "frontends/mqtt/route.h"
#include "frontends/mqtt/token_bucket.h"
#include "pipeline/telemetry.h"
#include "protocol/telemetry_json.h"

namespace infergate::pipeline {
class DeviceService;
}
namespace infergate::state {
class Journal;
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
  // Serves the routes of `config` (its route keys: routes, default_route,
  // default_telemetry_route, default_qos; every other key keeps its value
  // from Create, see config::WithRoutesOf). Errors (they name the key):
  // nothing changes. Otherwise the network thread applies them soon (see
  // Reload above). Controlling thread.
  core::Status UpdateRoutes(const config::MqttConfig& config);

  void OnConnected(bool session_present) override;
  void OnDisconnected() override;
  void OnMessage(IncomingMessage message) override;
  void OnIdle() override;

 private:
  // The routes in force: replaced whole by a reload, so a message holds the
  // ones it was read under.
  using Routes = std::shared_ptr<const std::vector<Route>>;

  MqttFrontend(config::MqttConfig config, Routes routes, core::InferenceService* inference,
               pipeline::DeviceService* devices, core::MetricsRegistry* metrics,
               const core::Clock* clock);
  // Response Topic when the request has one, else the route's reply topic.
  // `receipt` (null for QoS 0) is told when the reply is done.
  static ReplyTarget TargetFor(const IncomingMessage& message, const std::optional<RouteMatch>& match,
                               std::shared_ptr<Receipt> receipt);
  // Submits (or answers) a message; `deadline` from its Message Expiry on arrival.
  void Process(IncomingMessage message, std::optional<core::TimePoint> deadline,
               std::shared_ptr<Receipt> receipt, const std::vector<Route>& routes);
  // Answers a message that found no slot and no room to wait.
  void RefuseOverloaded(const IncomingMessage& message, std::shared_ptr<Receipt> receipt);
  // Opens mqtt.inbox.path and queues the requests the previous run left.
  core::Status OpenInbox();
  // Opens mqtt.outbox.path; its replies of the previous run go after the first connect.
  core::Status OpenOutbox();
  // The retry hint of an `overloaded` reply now (network thread).
  int64_t RetryAfterMs() const;
  // Moves waiting messages into free slots.
  void StartWaiting();
  // Points `target` at the request's "reply_topic" (unless the message has a
  // Response Topic) and "correlation_id". Errors: a reply topic CheckReplyTopic refuses.
  core::Status ApplyReplyParameters(ReplyParameters reply, const IncomingMessage& message,
                                    ReplyTarget* target) const;
  // For a message answered before (or without) parsing it: the request id a
  // scan finds, and its reply parameters applied when they pass (v2 routes).
  std::string ScanForError(const IncomingMessage& message, const std::optional<RouteMatch>& match,
                           ReplyTarget* target) const;
  // A message on a telemetry route (mqtt_telemetry.cc).
  void ProcessTelemetry(const IncomingMessage& message, const RouteMatch& match, ReplyTarget target);
  void Refuse(const ReplyTarget& target, const core::Status& status, std::string_view reason,
              std::string_view id);
  void UpdatePause();
  // route_update.cc: building and applying routes.
  // The routes of `config`; errors: none at all, a bad route, telemetry without `devices`.
  static core::StatusOr<Routes> MakeRoutes(const config::MqttConfig& config, bool have_devices);
  // Network thread: subscribes the routes in force after a connect.
  void SubscribeRoutes(bool session_present);
  // Network thread (OnIdle): swaps in the routes UpdateRoutes handed over.
  void ApplyPendingRoutes();
  // The subscriptions `routes` need: filter (with the share group) -> QoS.
  std::map<std::string, int> Subscriptions(const std::vector<Route>& routes) const;

  const config::MqttConfig config_;  // as created; the routes in force are routes_
  Routes routes_;                      // network thread only after Start
  std::mutex routes_mu_;
  Routes pending_routes_;              // GUARDED_BY(routes_mu_): from UpdateRoutes, for the network thread
  std::map<std::string, int> broker_filters_;  // network thread only: subscribed at the broker, as far as known
  core::InferenceService* inference_;
  pipeline::DeviceService* devices_;  // null: no telemetry routes
  core::MetricsRegistry* metrics_;
  const core::Clock* clock_;
  std::shared_ptr<ReplySink> shared_;
  std::unique_ptr<MqttClient> client_;
  struct Waiting {
    IncomingMessage message;
    std::optional<core::TimePoint> deadline;
    std::shared_ptr<Receipt> receipt;  // null: QoS 0
    Routes routes;                     // in force when it was read; null: routes_ (the previous run's requests)
  };
  std::deque<Waiting> waiting_;                      // network thread only
  std::shared_ptr<state::Journal> inbox_;            // null: no inbox journal
  std::unique_ptr<MqttOutboxSink> outbox_sink_;      // with outbox_
  std::unique_ptr<edge::Outbox> outbox_;             // null: no outbox
  std::deque<Waiting> recovered_;                    // the previous run's requests; network thread after Start
  bool connected_once_ = false;                      // network thread only
  TokenBucket overload_replies_;                     // network thread only
  bool pause_for_acknowledged_ = false;              // network thread only: the last overloaded request was QoS 1/2
  core::Counter* shed_ = nullptr;
  bool overload_paused_ = false;                     // network thread only
  core::Counter* overload_pauses_;
  core::Gauge* retry_after_gauge_;
  const std::string reply_topic_prefix_;             // mqtt.reply_topic_prefix in force
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
