// MqttClient: the one adapter around libmosquitto. Nothing else includes
// mosquitto.h; libmosquitto's error codes become core::Status here.
//
// It owns one network thread that runs the connection: connect, read,
// write, keepalive, and reconnect with exponential back-off (through the
// injected Clock). The listener's callbacks run on that thread and must not
// block. A last will publishes `status_offline` retained on `status_topic`;
// each successful connect publishes `status_online` retained there.
//
// Acknowledgements: libmosquitto 2.0.11 sends the PUBACK (QoS 1) or PUBREC
// (QoS 2) of an incoming message itself, before the message reaches the
// listener; it has no manual acknowledgement. Requests are therefore owned by
// infergate once they arrive; Stop() drains them (see MqttFrontend) so an
// orderly shutdown loses none.
//
// Thread-safety: Publish, SetReadPaused and Wake may be called from any
// thread; Subscribe from the listener's callbacks (the network thread);
// Start and Stop from one controlling thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "frontends/mqtt/backoff.h"
#include "frontends/mqtt/broker_url.h"

struct mosquitto;
struct mqtt5__property;
struct mosquitto_message;

namespace infergate::mqtt {

struct ClientOptions {
  BrokerUrl broker;
  std::string client_id;
  bool mqtt5 = true;  // false: MQTT 3.1.1
  std::string username;
  std::string password;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  bool tls_insecure = false;
  int keepalive_secs = 30;
  bool clean_session = true;
  uint32_t session_expiry_secs = 0;  // MQTT 5 with clean_session false
  std::string status_topic;          // retained online/offline status and last will
  core::Duration reconnect_min = std::chrono::milliseconds(500);
  core::Duration reconnect_max = std::chrono::seconds(30);
  const core::Clock* clock = &core::SteadyClock::Instance();
};

// A received PUBLISH. The payload is shared so decoded tensors may borrow it.
struct IncomingMessage {
  std::string topic;
  std::shared_ptr<const std::string> payload;
  int qos = 0;
  bool retain = false;
  std::string response_topic;                   // MQTT 5 Response Topic, or ""
  std::optional<std::string> correlation_data;  // MQTT 5 Correlation Data
  std::optional<uint32_t> expiry_secs;          // MQTT 5 Message Expiry Interval
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

class MqttClientListener {
 public:
  virtual ~MqttClientListener() = default;
  // CONNACK accepted; subscribe here (the session may have been lost).
  virtual void OnConnected(bool session_present) = 0;
  virtual void OnDisconnected() = 0;
  virtual void OnMessage(IncomingMessage message) = 0;
  // After each turn of the network loop (also when woken by Wake()).
  virtual void OnIdle() = 0;
};

class MqttClient {
 public:
  // `listener` is not owned and outlives the client.
  static core::StatusOr<std::unique_ptr<MqttClient>> Create(ClientOptions options,
                                                          MqttClientListener* listener);
  ~MqttClient();
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // Starts the network thread; it connects (and keeps reconnecting).
  void Start();
  // Publishes `status_offline`, waits up to `flush` for queued publishes to be
  // written and QoS 1/2 ones acknowledged, disconnects and joins the thread.
  void Stop(core::Duration flush);

  // Hands a message to libmosquitto. QoS 1/2 messages published while the
  // connection is down are kept and sent after the reconnect.
  core::Status Publish(const OutgoingMessage& message);
  // Subscribes `filter` (network thread only); logs the SUBACK.
  core::Status Subscribe(const std::string& filter, int qos);
  // While paused the network thread does not read from the broker, so the
  // broker holds further messages (back-pressure). Keepalive continues.
  void SetReadPaused(bool paused);
  // Wakes the network thread (e.g. after a publish or an unpause).
  void Wake();
  // Publishes `payload` ("online", "offline") retained on the status topic,
  // if there is one. Thread-safe, like Publish.
  void PublishStatus(const std::string& payload);

  const ClientOptions& options() const { return options_; }
  bool connected() const { return connected_.load(); }
  // The broker's Maximum Packet Size from the last CONNACK (0 = none
  // announced; MQTT 3.1.1 brokers announce none). Any thread.
  uint32_t max_packet_size() const { return max_packet_size_.load(); }

 private:
  MqttClient(ClientOptions options, MqttClientListener* listener, struct mosquitto* mosq, int wake_fd);
  core::Status Configure();
  void Loop();
  bool ConnectOnce();
  void Service(int timeout_ms);
  void ConnectionLost(int rc);
  void Flush(core::Duration limit);

  // libmosquitto callbacks (network thread).
  static void OnConnect(struct mosquitto*, void* self, int rc, int flags, const mqtt5__property*);
  static void OnDisconnect(struct mosquitto*, void* self, int rc, const mqtt5__property*);
  static void OnMessage(struct mosquitto*, void* self, const struct mosquitto_message* msg,
                        const mqtt5__property* props);
  static void OnSubscribe(struct mosquitto*, void* self, int mid, int count, const int* granted,
                          const mqtt5__property*);
  static void OnPublish(struct mosquitto*, void* self, int mid, int rc, const mqtt5__property*);
  static void OnLog(struct mosquitto*, void* self, int level, const char* text);

  ClientOptions options_;
  MqttClientListener* listener_;
  struct mosquitto* mosq_;
  int wake_fd_;
  Backoff backoff_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
  std::atomic<bool> connected_{false};
  std::atomic<uint32_t> max_packet_size_{0};
  std::atomic<int64_t> flush_limit_ns_{0};      // set by Stop, read by the network thread
  std::mutex pub_mu_;
  std::set<int> unacked_;  // GUARDED_BY(pub_mu_): mids of QoS 1/2 publishes not yet acknowledged
  bool socket_open_ = false;      // network thread only
  bool ever_connected_ = false;   // network thread only
  std::mutex sub_mu_;
  std::map<int, std::string> pending_subscriptions_;  // GUARDED_BY(sub_mu_): mid -> filter
};

}  // namespace infergate::mqtt
