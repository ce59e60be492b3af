// A subscriber that records every message it receives, in arrival order and
// with its arrival time, for end-to-end tests that count what arrived (losses,
// duplicates, order). With `persistent`, its session outlives its broker's
// restart: a fixed client id, clean start off and a session expiry of one hour
// (MQTT 5), so a broker with persistence keeps its subscription and queues
// messages for it while either side is away. libmosquitto's loop thread
// reconnects it (every second) after its broker went away.
// Thread-safety: every method from any thread; callbacks run on libmosquitto's
// thread.
#pragma once

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "testing/time_scale.h"

namespace infergate::testing {

class MqttRecorder {
 public:
  using Clock = std::chrono::steady_clock;
  struct Message {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
    Clock::time_point at;
  };

  MqttRecorder(int port, const std::string& id, bool persistent)
      : port_(port), persistent_(persistent) {
    mosquitto_lib_init();
    mosq_ = mosquitto_new(id.c_str(), !persistent, this);
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_int_option(mosq_, MOSQ_OPT_RECEIVE_MAXIMUM, 1000);
    mosquitto_reconnect_delay_set(mosq_, 1, 1, false);
    mosquitto_connect_v5_callback_set(
        mosq_, [](mosquitto*, void* self, int rc, int, const mosquitto_property*) {
          auto* r = static_cast<MqttRecorder*>(self);
          std::lock_guard lock(r->mu_);
          if (rc == 0) ++r->connects_;
          r->cv_.notify_all();
        });
    mosquitto_subscribe_v5_callback_set(
        mosq_, [](mosquitto*, void* self, int mid, int, const int*, const mosquitto_property*) {
          auto* r = static_cast<MqttRecorder*>(self);
          std::lock_guard lock(r->mu_);
          r->subacks_.push_back(mid);
          r->cv_.notify_all();
        });
    mosquitto_message_v5_callback_set(mosq_, &MqttRecorder::OnMessage);
  }
  ~MqttRecorder() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, true);
    mosquitto_destroy(mosq_);
  }
  MqttRecorder(const MqttRecorder&) = delete;
  MqttRecorder& operator=(const MqttRecorder&) = delete;

  // Connects (and starts the loop thread); true once the broker accepted it.
  bool Connect() {
    mosquitto_property* props = nullptr;
    if (persistent_) mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 3600);
    const int rc = mosquitto_connect_bind_v5(mosq_, "127.0.0.1", port_, 30, nullptr, props);
    mosquitto_property_free_all(&props);
    if (rc != MOSQ_ERR_SUCCESS || mosquitto_loop_start(mosq_) != MOSQ_ERR_SUCCESS) return false;
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, Scaled(std::chrono::seconds(10)), [&] { return connects_ > 0; });
  }
  // Subscribes to `filter` at `qos`; true once the broker acknowledged it.
  bool Subscribe(const std::string& filter, int qos) {
    int mid = 0;
    if (mosquitto_subscribe_v5(mosq_, &mid, filter.c_str(), qos, 0, nullptr) != MOSQ_ERR_SUCCESS)
      return false;
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, Scaled(std::chrono::seconds(10)), [&] {
      for (int m : subacks_) {
        if (m == mid) return true;
      }
      return false;
    });
  }

  // Successful (re)connections so far.
  int Connects() {
    std::lock_guard lock(mu_);
    return connects_;
  }
  // Every message so far, in arrival order.
  std::vector<Message> Messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }
  // Waits until `done(messages so far)` holds or `timeout` (scaled) passes;
  // returns whether it held. `done` runs under the recorder's lock: keep it short.
  bool WaitUntil(const std::function<bool(const std::vector<Message>&)>& done,
                 std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, Scaled(timeout), [&] { return done(messages_); });
  }

 private:
  static void OnMessage(mosquitto*, void* self, const mosquitto_message* msg,
                        const mosquitto_property*) {
    auto* r = static_cast<MqttRecorder*>(self);
    Message m;
    m.topic = msg->topic;
    m.payload.assign(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
    m.qos = msg->qos;
    m.retain = msg->retain;
    m.at = Clock::now();
    std::lock_guard lock(r->mu_);
    r->messages_.push_back(std::move(m));
    r->cv_.notify_all();
  }

  int port_;
  bool persistent_;
  mosquitto* mosq_;
  std::mutex mu_;
  std::condition_variable cv_;
  int connects_ = 0;
  std::vector<int> subacks_;
  std::vector<Message> messages_;
};

}  // namespace infergate::testing
