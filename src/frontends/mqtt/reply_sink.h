// ReplySink: what the MQTT frontend's completion callbacks hold on to (they
// may outlive the frontend's Stop): the client to publish replies through,
// the in-flight count that back-pressure and draining read, and the
// frontend's counters. Internal to src/frontends/mqtt.
//
// Thread-safety: every method may be called from any thread (the network
// thread and scheduler threads).
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/metrics.h"
#include "core/status.h"
#include "frontends/mqtt/mqtt_client.h"

namespace infergate::mqtt {

// Where a message's replies (results and errors) go.
struct ReplyTarget {
  std::string topic;  // empty: nowhere (errors are only counted)
  std::optional<std::string> correlation_data;
  int qos = 0;
  bool retain = false;
  AckHandle ack;  // the request's: acknowledged once it is answered
};

struct ReplySink {
  std::mutex mu;
  MqttClient* client = nullptr;  // GUARDED_BY(mu); null once stopped
  std::condition_variable drained;
  std::atomic<int> inflight{0};
  std::atomic<int> waiting{0};
  core::MetricsRegistry* metrics = nullptr;
  core::Counter* requests = nullptr;
  core::Counter* replies = nullptr;
  core::Counter* reply_failures = nullptr;
  core::Gauge* inflight_gauge = nullptr;

  void CountRejected(std::string_view reason);
  // Hands `message` to the client unless the frontend has stopped. `done`
  // runs once the reply is done (also when it was refused, then at once).
  void Send(OutgoingMessage message, PublishDone done);
  // A JSON body (a result) to `target`. `done` null: target.ack is
  // acknowledged once the reply is done (at once without a reply topic).
  void SendJson(const ReplyTarget& target, std::string body, PublishDone done = nullptr);
  // {"error": ...} to `target` with the reason code user properties; counted
  // by `reason`. `done` as for SendJson.
  void SendError(const ReplyTarget& target, const core::Status& status, std::string_view reason,
                 std::string_view id, PublishDone done = nullptr);
  // Acknowledges a request to the broker (QoS 1/2) unless stopped.
  void Ack(const AckHandle& ack);
  // A PublishDone that acknowledges `ack` (null for QoS 0), unless the reply
  // was dropped for a lost connection or a stop (UNAVAILABLE, CANCELLED).
  PublishDone AckWhenDone(const AckHandle& ack);
  // A request was submitted / answered: the in-flight count, its gauge, the
  // drain condition and the network thread (a waiting message may go now).
  void Begin();
  void Finish();
};

// "not_found" for NOT_FOUND, ...: the reason label of an error status.
std::string ReasonOf(const core::Status& status);

}  // namespace infergate::mqtt
