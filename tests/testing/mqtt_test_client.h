// A real MQTT client for end-to-end tests (libmosquitto, MQTT 5 by default,
// its own network thread). Publishes with Response Topic, Correlation Data
// and Message Expiry, and collects what arrives so a test can wait for it.
#pragma once

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace infergate::testing {

struct MqttMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
  std::optional<std::string> correlation_data;
  std::map<std::string, std::string> user_properties;
};

struct PublishOptions {
  int qos = 0;
  bool retain = false;
  std::string response_topic;
  std::optional<std::string> correlation_data;
  std::optional<uint32_t> expiry_secs;
};

class MqttTestClient {
 public:
  // `clean_session` false (with MQTT 3.1.1): the broker keeps the session,
  // and queues QoS 1/2 messages for it, while the client is away.
  MqttTestClient(int port, const std::string& id, bool mqtt5 = true, bool clean_session = true)
      : port_(port), mqtt5_(mqtt5) {
    mosquitto_lib_init();
    mosq_ = mosquitto_new(id.c_str(), clean_session, this);
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, mqtt5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_v5_callback_set(mosq_, [](mosquitto*, void* self, int rc, int, const mosquitto_property*) {
      static_cast<MqttTestClient*>(self)->Signal([&](MqttTestClient* c) { c->connack_ = rc; });
    });
    mosquitto_subscribe_v5_callback_set(mosq_, [](mosquitto*, void* self, int mid, int, const int*, const mosquitto_property*) {
      static_cast<MqttTestClient*>(self)->Signal([&](MqttTestClient* c) { c->subacks_.push_back(mid); });
    });
    mosquitto_publish_v5_callback_set(mosq_, [](mosquitto*, void* self, int, int, const mosquitto_property*) {
      static_cast<MqttTestClient*>(self)->Signal([](MqttTestClient* c) { ++c->published_; });
    });
    mosquitto_message_v5_callback_set(mosq_, &MqttTestClient::OnMessage);
  }
  ~MqttTestClient() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, true);
    mosquitto_destroy(mosq_);
  }
  MqttTestClient(const MqttTestClient&) = delete;
  MqttTestClient& operator=(const MqttTestClient&) = delete;

  bool Connect(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (mosquitto_connect_bind_v5(mosq_, "127.0.0.1", port_, 30, nullptr, nullptr) != MOSQ_ERR_SUCCESS) return false;
    if (mosquitto_loop_start(mosq_) != MOSQ_ERR_SUCCESS) return false;
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return connack_ >= 0; }) && connack_ == 0;
  }

  bool Subscribe(const std::string& filter, int qos = 1) {
    int mid = 0;
    if (mosquitto_subscribe_v5(mosq_, &mid, filter.c_str(), qos, 0, nullptr) != MOSQ_ERR_SUCCESS) return false;
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] {
      for (int m : subacks_) {
        if (m == mid) return true;
      }
      return false;
    });
  }

  bool Publish(const std::string& topic, const std::string& payload, const PublishOptions& o = {}) {
    mosquitto_property* props = nullptr;
    if (mqtt5_) {
      if (!o.response_topic.empty()) {
        mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, o.response_topic.c_str());
      }
      if (o.correlation_data) {
        mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, o.correlation_data->data(),
                                      static_cast<uint16_t>(o.correlation_data->size()));
      }
      if (o.expiry_secs) mosquitto_property_add_int32(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, *o.expiry_secs);
    }
    int rc = mosquitto_publish_v5(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(),
                                  o.qos, o.retain, props);
    mosquitto_property_free_all(&props);
    return rc == MOSQ_ERR_SUCCESS;
  }

  // Waits for the next message that `match` accepts (all when null); others stay queued.
  std::optional<MqttMessage> WaitFor(std::function<bool(const MqttMessage&)> match = nullptr,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mu_);
    std::optional<MqttMessage> found;
    cv_.wait_for(lock, timeout, [&] {
      for (auto it = messages_.begin(); it != messages_.end(); ++it) {
        if (!match || match(*it)) {
          found = std::move(*it);
          messages_.erase(it);
          return true;
        }
      }
      return false;
    });
    return found;
  }
  std::optional<MqttMessage> WaitOn(const std::string& topic,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    return WaitFor([&](const MqttMessage& m) { return m.topic == topic; }, timeout);
  }
  // Waits until `n` messages arrived in total; returns and clears them.
  std::vector<MqttMessage> WaitForCount(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return messages_.size() >= n; });
    std::vector<MqttMessage> out(messages_.begin(), messages_.end());
    messages_.clear();
    return out;
  }
  // Waits until the broker acknowledged `n` QoS 1/2 publishes (or wrote n QoS 0).
  bool WaitPublished(int n, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return published_ >= n; });
  }

 private:
  template <typename F>
  void Signal(F f) {
    {
      std::lock_guard lock(mu_);
      f(this);
    }
    cv_.notify_all();
  }
  static void OnMessage(mosquitto*, void* self, const mosquitto_message* msg, const mosquitto_property* props) {
    MqttMessage m;
    m.topic = msg->topic;
    m.payload.assign(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
    m.qos = msg->qos;
    m.retain = msg->retain;
    void* value = nullptr;
    uint16_t len = 0;
    if (mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &value, &len, false)) {
      m.correlation_data = std::string(static_cast<const char*>(value), len);
      free(value);
    }
    const mosquitto_property* p = props;
    bool skip = false;
    char* name = nullptr;
    char* val = nullptr;
    while ((p = mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name, &val, skip))) {
      m.user_properties[name] = val;
      free(name);
      free(val);
      skip = true;
    }
    static_cast<MqttTestClient*>(self)->Signal([&](MqttTestClient* c) { c->messages_.push_back(std::move(m)); });
  }

  int port_;
  bool mqtt5_;
  mosquitto* mosq_;
  std::mutex mu_;
  std::condition_variable cv_;
  int connack_ = -1;
  std::vector<int> subacks_;
  int published_ = 0;
  std::deque<MqttMessage> messages_;
};

}  // namespace infergate::testing
