// MqttClient: infergate's MQTT 3.1.1 / 5 client on Boost.Asio (the packets
// are in packet.h, the session state in mqtt_session.h).
//
// It owns one network thread that runs an io_context: connect (TCP with
// TCP_NODELAY, or TLS for mqtts:// with the peer verified against the CA
// file or the system store, and the host name checked unless tls_insecure),
// read, write, keepalive, and reconnect with exponential back-off (through
// the injected Clock). The listener's callbacks and the PublishDone
// callbacks run on that thread and must not block. A last will publishes
// `status_offline` ("offline") retained on `status_topic`; each connect
// publishes `status_online` ("online") retained there.
//
// Acknowledgements are manual: a QoS 1/2 message is acknowledged (PUBACK,
// PUBREC) only when Acknowledge is called with its AckHandle. A handle from
// an earlier connection is ignored (the broker delivers that message again
// on the next connection). The broker sends at most
// `receive_maximum` unacknowledged messages (MQTT 5).
//
// Publishing: messages are encoded by the caller's thread and queued; the
// network thread writes everything queued in one write. QoS 1/2 publishes
// are held until acknowledged, at most the broker's Receive Maximum at
// once, and sent again after a reconnect (DUP set when the session was kept,
// as new publishes when not). The publishes held (queued or unacknowledged)
// are bounded by `max_queued_publish_bytes`.
//
// Stalls: when publishes (or a PINGREQ) stay unacknowledged for
// `stall_timeout` while the socket is up and being read, or a write does not
// complete in that time, the connection is counted as stalled, closed and
// established again.
//
// Metrics (registry from ClientOptions; a private one when null; each series
// also carries ClientOptions::metric_labels, so that two clients in one
// registry, the frontend's and the uplink's, keep separate series):
//   infergate_mqtt_publish_failures_total{reason}  counter; too_large,
//     queue_full, disconnected (QoS 0 while down), refused (broker reason
//     code >= 0x80), stopped
//   infergate_mqtt_publish_queue_messages / _bytes  gauges: waiting to be sent
//   infergate_mqtt_unacked_publishes               gauge
//   infergate_mqtt_oldest_unacked_publish_age_seconds  gauge
//   infergate_mqtt_stalls_total                    counter
//
// Thread-safety: Publish, Acknowledge, SetReadPaused, Wake and
// PublishStatus may be called from any thread; Subscribe and Unsubscribe
// from the listener's callbacks (the network thread); Start and Stop from
// one controlling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "core/status.h"
#include "frontends/mqtt/broker_url.h"

namespace infergate::mqtt {

struct ClientOptions {
  BrokerUrl broker;
  std::string client_id;
  bool mqtt5 = true;  // false: MQTT 3.1.1
  std::string username;
  std::string password;
  std::string tls_ca_file;  // empty with mqtts://: the system's CA store
  std::string tls_cert_file;
  std::string tls_key_file;
  bool tls_insecure = false;  // skip the host name check (the chain is still verified)
  int keepalive_secs = 30;
  bool clean_session = true;
  uint32_t session_expiry_secs = 0;  // MQTT 5 with clean_session false
  uint16_t receive_maximum = 65535;  // MQTT 5: unacknowledged messages the broker may send
  uint32_t max_incoming_packet_bytes = 64 * 1024 * 1024;  // announced as Maximum Packet Size (v5)
  int64_t max_queued_publish_bytes = 64 * 1024 * 1024;
  core::Duration stall_timeout = std::chrono::seconds(10);
  std::string log_name = "mqtt";  // starts the client's log lines ("uplink" for the uplink's)
  std::string status_topic;  // retained online/offline status and last will
  std::string status_online = "online";    // published at each connect; empty: not published
  std::string status_offline = "offline";  // the last will, and published at Stop
  core::Duration reconnect_min = std::chrono::milliseconds(500);
  core::Duration reconnect_max = std::chrono::seconds(30);
  const core::Clock* clock = &core::SteadyClock::Instance();
  core::MetricsRegistry* metrics = nullptr;
  core::Labels metric_labels;  // e.g. {{"client", "uplink"}}; empty: none
};

// What Acknowledge needs to acknowledge one received message.
struct AckHandle {
  uint64_t epoch = 0;  // the connection it arrived on
  uint16_t packet_id = 0;
  int qos = 0;  // 0 needs no acknowledgement
};

// A received PUBLISH. The payload is shared so decoded tensors may borrow it.
struct IncomingMessage {
  std::string topic;
  std::shared_ptr<const std::string> payload;
  int qos = 0;
  bool retain = false;
  bool duplicate = false;                       // DUP: the broker may have sent it before
  std::string response_topic;                   // MQTT 5 Response Topic, or ""
  std::optional<std::string> correlation_data;  // MQTT 5 Correlation Data
  std::optional<uint32_t> expiry_secs;          // MQTT 5 Message Expiry Interval
  std::string content_type;                     // MQTT 5 Content Type, or ""
  std::vector<std::pair<std::string, std::string>> user_properties;  // MQTT 5
  AckHandle ack;
};

struct OutgoingMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
  std::optional<std::string> correlation_data;                   // MQTT 5 only
  std::string content_type;                                      // MQTT 5 only
  std::vector<std::pair<std::string, std::string>> user_properties;  // MQTT 5 only
};

// Runs once per accepted publish (network thread, must not block): OK once
// the broker acknowledged it (QoS 1: PUBACK, QoS 2: PUBCOMP) or it was
// written to the socket (QoS 0); an error when it was dropped.
using PublishDone = std::function<void(const core::Status&)>;
// Runs once per accepted Unsubscribe (network thread, must not block).
using UnsubscribeDone = std::function<void(const core::Status&)>;

class MqttClientListener {
 public:
  virtual ~MqttClientListener() = default;
  // CONNACK accepted; subscribe here (the session may have been lost).
  virtual void OnConnected(bool session_present) = 0;
  virtual void OnDisconnected() = 0;
  virtual void OnMessage(IncomingMessage message) = 0;
  // After each batch of packets read, after Wake(), and at least once a second.
  virtual void OnIdle() = 0;
};

class MqttClient {
 public:
  // `listener` is not owned and outlives the client. Errors: an empty
  // client id, unreadable TLS files.
  static core::StatusOr<std::unique_ptr<MqttClient>> Create(ClientOptions options,
                                                          MqttClientListener* listener);
  ~MqttClient();
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // Starts the network thread; it connects (and keeps reconnecting).
  void Start();
  // Publishes `status_offline`, waits up to `flush` for queued publishes to be
  // written and QoS 1/2 ones acknowledged, sends DISCONNECT and joins the
  // thread. Publishes still held then get a CANCELLED PublishDone.
  void Stop(core::Duration flush);

  // Queues `message`. Returns an error at once, without calling `on_done`:
  // RESOURCE_EXHAUSTED when the message exceeds the broker's Maximum Packet
  // Size or the held publishes would exceed max_queued_publish_bytes;
  // UNAVAILABLE for QoS 0 while disconnected (dropped) or after Stop.
  // QoS 1/2 messages published while the connection is down are kept and
  // sent after the reconnect.
  core::Status Publish(OutgoingMessage message, PublishDone on_done = nullptr);
  // Acknowledges a received QoS 1/2 message (PUBACK / PUBREC).
  void Acknowledge(const AckHandle& ack);
  // Subscribes `filter` (network thread only); logs the SUBACK.
  core::Status Subscribe(const std::string& filter, int qos);
  // Unsubscribes `filter` (network thread only); logs the UNSUBACK. `on_done`
  // (may be null) runs on the network thread with its outcome: OK when the
  // subscription is gone (MQTT 5 reason code 0x00, or 0x11: there was none;
  // every MQTT 3.1.1 UNSUBACK), an error naming the reason code when the
  // broker refused, UNAVAILABLE when the connection was lost first. Returns
  // UNAVAILABLE when not connected, without calling `on_done`.
  core::Status Unsubscribe(const std::string& filter, UnsubscribeDone on_done = nullptr);
  // While paused, received messages are not delivered; after a bounded
  // amount is held the network thread stops reading, so the broker holds
  // further messages (back-pressure). Acknowledgements and keepalive go on
  // meanwhile as far as they can; a connection not read is never judged stalled.
  void SetReadPaused(bool paused);
  // Runs the listener's OnIdle on the network thread soon.
  void Wake();
  // Publishes `payload` ("online", "offline") retained on the status topic,
  // if there is one. Thread-safe, like Publish.
  void PublishStatus(const std::string& payload);

  const ClientOptions& options() const;
  bool connected() const;
  // The broker's Maximum Packet Size from CONNACK (0: none announced; MQTT 3.1.1: 0).
  uint32_t max_packet_size() const;

  class Impl;

 private:
  explicit MqttClient(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace infergate::mqtt
