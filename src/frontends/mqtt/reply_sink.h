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
#include "frontends/mqtt/receipt.h"

namespace infergate::edge {
class Outbox;
}

namespace infergate::mqtt {

// Where a message's replies (results and errors) go.
struct ReplyTarget {
  std::string topic;  // empty: nowhere (errors are only counted)
  std::optional<std::string> correlation_data;
  int qos = 0;
  bool retain = false;
  std::string correlation_id;  // the "correlation_id" request parameter, echoed in the body
  std::shared_ptr<Receipt> receipt;  // QoS 1/2 requests: acknowledged (and unjournaled) once answered
};

struct ReplySink {
  std::mutex mu;
  MqttClient* client = nullptr;  // GUARDED_BY(mu); null once stopped
  // mqtt.outbox: QoS 1/2 replies are written to it, which sends them through
  // the client. GUARDED_BY(mu); null without an outbox and once stopped.
  edge::Outbox* outbox = nullptr;
  std::condition_variable drained;
  std::atomic<int> inflight{0};
  std::atomic<int> waiting{0};
  core::MetricsRegistry* metrics = nullptr;
  core::Counter* requests = nullptr;
  core::Counter* replies = nullptr;
  core::Counter* reply_failures = nullptr;
  core::Gauge* inflight_gauge = nullptr;
  core::Counter* acks_after_journal = nullptr;  // infergate_mqtt_acknowledgements_total{after="journal"}
  core::Counter* acks_after_answer = nullptr;   // {after="answer"}
  core::Counter* acks_after_outbox = nullptr;   // {after="outbox"}
  // The mean time an answered request spent in the scheduler (queue and
  // run), an exponentially weighted average in microseconds (0 until the
  // first answer). Updated without a lock: a sample lost to a race is harmless.
  std::atomic<int64_t> mean_service_us{0};
  bool mqtt5 = true;             // replies carry MQTT 5 properties
  uint32_t max_reply_bytes = 0;  // mqtt.max_reply_bytes; 0: the broker's limit only

  void CountRejected(std::string_view reason);
  // Hands `message` to the client unless the frontend has stopped; a QoS 1/2
  // message goes to the outbox when there is one, and is done once safe
  // there (committed or acknowledged by the broker). `done` runs once the reply is done (also when it was refused,
  // then at once).
  void Send(OutgoingMessage message, PublishDone done);
  // A JSON body (a result of `model` for request `id`) to `target`. A reply
  // whose packet would exceed the broker's Maximum Packet Size or
  // max_reply_bytes is replaced by a RESOURCE_EXHAUSTED error that names
  // both sizes and the model. `done` null: target.ack is acknowledged once
  // the reply is done (at once without a reply topic).
  void SendJson(const ReplyTarget& target, std::string body, std::string_view model = "",
                std::string_view id = "", PublishDone done = nullptr);
  // {"error": ...} to `target` with the reason code user properties; counted
  // by `reason`. retry_after_ms > 0 adds the retry hint (body and user
  // property). `done` as for SendJson.
  void SendError(const ReplyTarget& target, const core::Status& status, std::string_view reason,
                 std::string_view id, int64_t retry_after_ms = 0, PublishDone done = nullptr);
  // Adds one answered request's service time to mean_service_us.
  void RecordService(core::Duration service);
  // The largest PUBLISH packet a reply may be, bytes (0 = no limit).
  uint32_t PacketLimit();
  // Acknowledges a request to the broker (QoS 1/2) unless stopped; counted
  // by what it came after ("journal": its inbox record is durable, "answer",
  // "outbox": its reply is safe in the outbox).
  void Ack(const AckHandle& ack, std::string_view after);
  // A PublishDone that tells `receipt` its request is answered (null without
  // a receipt), unless the reply was dropped for a lost connection or a stop
  // (UNAVAILABLE, CANCELLED): then the broker sends the request again.
  // `after` labels the acknowledgement the answer may give ("answer", "outbox").
  static PublishDone AnsweredWhenDone(std::shared_ptr<Receipt> receipt,
                                      std::string_view after = "answer");
  // Whether a reply's PublishDone status says it was dropped for a lost
  // connection or a stop (UNAVAILABLE, CANCELLED): its request is not answered.
  static bool ReplyLost(const core::Status& done);
  // What answers a reply to `target`: "outbox" when it goes through the outbox, else "answer".
  std::string_view AnswerLabel(const ReplyTarget& target);
  // Counts an inbox outcome ("journaled", "full", "recovered", "damaged").
  void CountInbox(std::string_view outcome);
  // A request was submitted / answered: the in-flight count, its gauge, the
  // drain condition and the network thread (a waiting message may go now).
  void Begin();
  void Finish();
};

// The size of the PUBLISH packet that carries `message`, bytes (fixed
// header included; properties only with MQTT 5).
size_t PublishPacketSize(const OutgoingMessage& message, bool mqtt5);

// "not_found" for NOT_FOUND, ...: the reason label of an error status.
std::string ReasonOf(const core::Status& status);

}  // namespace infergate::mqtt
