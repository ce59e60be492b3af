// A device with a persistent MQTT 5 session, for fault tests (libmosquitto):
// a fixed client id, clean start off and a session expiry (the broker keeps
// its subscription and queued replies while it is away), QoS 1 requests with
// a Response Topic and unique Correlation Data, and libmosquitto's own
// reconnects (its loop thread; unacknowledged QoS 1 publishes are resent
// after a reconnect). It counts replies per correlation data, so a test can
// tell lost requests from duplicated answers, and records when the broker
// acknowledged each request (PUBACK).
// Thread-safety: every method from any thread; callbacks run on
// libmosquitto's thread.
#pragma once

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "testing/time_scale.h"

namespace infergate::testing {

class MqttDeviceSession {
 public:
  using Clock = std::chrono::steady_clock;

  MqttDeviceSession(int port, const std::string& id, std::string reply_topic)
      : port_(port), reply_topic_(std::move(reply_topic)) {
    mosquitto_lib_init();
    mosq_ = mosquitto_new(id.c_str(), false, this);
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_reconnect_delay_set(mosq_, 1, 1, false);
    mosquitto_connect_v5_callback_set(mosq_, [](mosquitto*, void* self, int rc, int, const mosquitto_property*) {
      auto* s = static_cast<MqttDeviceSession*>(self);
      std::lock_guard lock(s->mu_);
      if (rc == 0) ++s->connects_;
      s->cv_.notify_all();
    });
    mosquitto_subscribe_v5_callback_set(mosq_, [](mosquitto*, void* self, int, int, const int*, const mosquitto_property*) {
      auto* s = static_cast<MqttDeviceSession*>(self);
      std::lock_guard lock(s->mu_);
      s->subscribed_ = true;
      s->cv_.notify_all();
    });
    mosquitto_publish_v5_callback_set(mosq_, [](mosquitto*, void* self, int mid, int, const mosquitto_property*) {
      static_cast<MqttDeviceSession*>(self)->OnPuback(mid);
    });
    mosquitto_message_v5_callback_set(mosq_, &MqttDeviceSession::OnMessage);
  }
  ~MqttDeviceSession() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, true);
    mosquitto_destroy(mosq_);
  }
  MqttDeviceSession(const MqttDeviceSession&) = delete;
  MqttDeviceSession& operator=(const MqttDeviceSession&) = delete;

  // Connects (session expiry one hour) and subscribes to the reply topic at QoS 1.
  bool Connect() {
    mosquitto_property* props = nullptr;
    mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 3600);
    const int rc = mosquitto_connect_bind_v5(mosq_, "127.0.0.1", port_, 60, nullptr, props);
    mosquitto_property_free_all(&props);
    if (rc != MOSQ_ERR_SUCCESS || mosquitto_loop_start(mosq_) != MOSQ_ERR_SUCCESS) return false;
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, Scaled(std::chrono::seconds(10)), [&] { return connects_ > 0; })) return false;
    lock.unlock();
    if (mosquitto_subscribe_v5(mosq_, nullptr, reply_topic_.c_str(), 1, 0, nullptr) != MOSQ_ERR_SUCCESS) return false;
    lock.lock();
    return cv_.wait_for(lock, Scaled(std::chrono::seconds(10)), [&] { return subscribed_; });
  }

  // Publishes `payload` at QoS 1 with Correlation Data `key`; false when
  // libmosquitto did not take it (e.g. not connected): not sent, try again.
  bool Request(const std::string& topic, const std::string& key, const std::string& payload) {
    mosquitto_property* props = nullptr;
    mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, reply_topic_.c_str());
    mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, key.data(), static_cast<uint16_t>(key.size()));
    int mid = 0;
    const int rc = mosquitto_publish_v5(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()), payload.data(),
                                        1, false, props);
    mosquitto_property_free_all(&props);
    if (rc != MOSQ_ERR_SUCCESS) return false;
    std::lock_guard lock(mu_);
    if (auto early = early_acks_.find(mid); early != early_acks_.end()) {
      acked_at_[key] = early->second;
      early_acks_.erase(early);
    } else {
      key_of_mid_[mid] = key;
    }
    return true;
  }

  // Waits until `n` distinct requests have a reply, or none came for `quiet`,
  // or `deadline` passed; returns the number answered.
  size_t WaitAnswered(size_t n, std::chrono::milliseconds quiet, std::chrono::milliseconds deadline) {
    const auto end = Clock::now() + Scaled(deadline);
    std::unique_lock lock(mu_);
    while (replies_.size() < n) {
      const size_t before = total_replies_;
      const auto until = std::min(end, Clock::now() + Scaled(quiet));
      if (!cv_.wait_until(lock, until, [&] { return replies_.size() >= n || total_replies_ != before; })) break;
    }
    return replies_.size();
  }

  // Replies per correlation data (error replies included).
  std::map<std::string, int> Replies() {
    std::lock_guard lock(mu_);
    return replies_;
  }
  size_t ErrorReplies() {
    std::lock_guard lock(mu_);
    return error_replies_;
  }
  // Successful (re)connections so far.
  int Connects() {
    std::lock_guard lock(mu_);
    return connects_;
  }
  // When the broker acknowledged the request `key`, if it did.
  std::optional<Clock::time_point> AckedAt(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = acked_at_.find(key);
    if (it == acked_at_.end()) return std::nullopt;
    return it->second;
  }

 private:
  void OnPuback(int mid) {
    std::lock_guard lock(mu_);
    auto it = key_of_mid_.find(mid);
    if (it == key_of_mid_.end()) {
      early_acks_[mid] = Clock::now();  // PUBACK before Request() recorded the mid
      return;
    }
    acked_at_[it->second] = Clock::now();
    key_of_mid_.erase(it);
  }
  static void OnMessage(mosquitto*, void* self, const mosquitto_message* msg, const mosquitto_property* props) {
    auto* s = static_cast<MqttDeviceSession*>(self);
    void* value = nullptr;
    uint16_t len = 0;
    std::string key;
    if (mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &value, &len, false)) {
      key.assign(static_cast<const char*>(value), len);
      free(value);
    }
    const std::string payload(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
    std::lock_guard lock(s->mu_);
    ++s->replies_[key];
    ++s->total_replies_;
    if (payload.find("\"error\"") != std::string::npos) ++s->error_replies_;
    s->cv_.notify_all();
  }

  int port_;
  std::string reply_topic_;
  mosquitto* mosq_;
  std::mutex mu_;
  std::condition_variable cv_;
  int connects_ = 0;
  bool subscribed_ = false;
  std::map<int, std::string> key_of_mid_;
  std::map<int, Clock::time_point> early_acks_;
  std::map<std::string, Clock::time_point> acked_at_;
  std::map<std::string, int> replies_;
  size_t total_replies_ = 0;
  size_t error_replies_ = 0;
};

}  // namespace infergate::testing
