#include "frontends/mqtt/reply_sink.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "core/status_map.h"
#include "edge/outbox.h"
#include "frontends/mqtt/codec.h"
#include "frontends/mqtt/outbox_sink.h"

namespace infergate::mqtt {

std::string ReasonOf(const core::Status& status) {
  std::string out(core::StatusCodeName(status.code()));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

namespace {

size_t VarIntSize(size_t v) {
  size_t n = 1;
  while (v >= 128) {
    v /= 128;
    ++n;
  }
  return n;
}

}  // namespace

size_t PublishPacketSize(const OutgoingMessage& m, bool mqtt5) {
  size_t rest = 2 + m.topic.size() + (m.qos > 0 ? 2 : 0) + m.payload.size();
  if (mqtt5) {
    size_t props = 0;
    if (m.correlation_data) props += 3 + m.correlation_data->size();
    if (!m.content_type.empty()) props += 3 + m.content_type.size();
    for (const auto& [k, v] : m.user_properties) props += 5 + k.size() + v.size();
    rest += VarIntSize(props) + props;
  }
  return 1 + VarIntSize(rest) + rest;
}

void ReplySink::RecordService(core::Duration service) {
  const int64_t sample = std::chrono::duration_cast<std::chrono::microseconds>(service).count();
  const int64_t mean = mean_service_us.load(std::memory_order_relaxed);
  mean_service_us.store(mean == 0 ? sample : mean + (sample - mean) / 8, std::memory_order_relaxed);
}

uint32_t ReplySink::PacketLimit() {
  uint32_t broker = 0;
  {
    std::lock_guard lock(mu);
    if (client) broker = client->max_packet_size();
  }
  if (broker == 0) return max_reply_bytes;
  if (max_reply_bytes == 0) return broker;
  return std::min(broker, max_reply_bytes);
}

void ReplySink::CountRejected(std::string_view reason) {
  metrics
      ->GetCounter("infergate_mqtt_requests_rejected_total",
                   "MQTT requests answered with an error, by reason",
                   {{"reason", std::string(reason)}})
      .Increment();
}

void ReplySink::Send(OutgoingMessage message, PublishDone done) {
  core::Status st;
  bool stopped = false;
  {
    std::lock_guard lock(mu);
    stopped = !client;
    if (!client) {
      st = core::Unavailable("mqtt: stopped");
    } else if (outbox && message.qos > 0) {
      st = outbox->Push(ToOutboxMessage(std::move(message)), [done](const core::Status& safe) {
        // Committed or acknowledged by the broker. Not written (and not acknowledged): the
        // request stays unanswered (sent again, or run again from the inbox).
        if (done) done(safe.ok() ? safe : core::Unavailable(safe.message()));
      });
      if (st.code() == core::StatusCode::kFailedPrecondition) st = core::Unavailable(st.message());
    } else {
      st = client->Publish(std::move(message), done);
    }
  }
  if (!st.ok()) {
    reply_failures->Increment();
    if (!stopped) spdlog::warn("{}", st.message());
    if (done) done(st);  // outside the lock: it may acknowledge
    return;
  }
  replies->Increment();
}

void ReplySink::Ack(const AckHandle& ack, std::string_view after) {
  if (ack.qos == 0) return;
  {
    std::lock_guard lock(mu);
    if (!client) return;
    client->Acknowledge(ack);
  }
  if (after == "journal") {
    acks_after_journal->Increment();
  } else {
    (after == "outbox" ? acks_after_outbox : acks_after_answer)->Increment();
  }
}

std::string_view ReplySink::AnswerLabel(const ReplyTarget& target) {
  std::lock_guard lock(mu);
  return outbox && target.qos > 0 && !target.topic.empty() ? "outbox" : "answer";
}

PublishDone ReplySink::AnsweredWhenDone(std::shared_ptr<Receipt> receipt, std::string_view after) {
  if (!receipt) return nullptr;
  return [receipt = std::move(receipt), after](const core::Status& st) {
    // Not sent because the connection went or the client stopped: the
    // broker delivers the request again (unless the inbox already owns it:
    // then it runs again at the next start), so it stays unanswered.
    if (ReplyLost(st)) return;
    receipt->Answered(after);
  };
}

bool ReplySink::ReplyLost(const core::Status& done) {
  return done.code() == core::StatusCode::kUnavailable || done.code() == core::StatusCode::kCancelled;
}

void ReplySink::CountInbox(std::string_view outcome) {
  metrics
      ->GetCounter("infergate_mqtt_inbox_requests_total",
                   "QoS 1/2 MQTT requests by inbox outcome: journaled (acknowledged once durable), full "
                   "(acknowledged once answered), recovered (run again after a restart), damaged (an "
                   "unreadable record, dropped)",
                   {{"outcome", std::string(outcome)}})
      .Increment();
}

void ReplySink::SendJson(const ReplyTarget& target, std::string body, std::string_view model,
                         std::string_view id, PublishDone done) {
  if (!done) done = AnsweredWhenDone(target.receipt, AnswerLabel(target));
  if (target.topic.empty()) {
    if (done) done(core::Status::Ok());
    return;
  }
  OutgoingMessage m;
  m.topic = target.topic;
  m.payload = std::move(body);
  m.qos = target.qos;
  m.retain = target.retain;
  m.correlation_data = target.correlation_data;
  m.content_type = "application/json";
  const uint32_t limit = PacketLimit();
  const size_t size = PublishPacketSize(m, mqtt5);
  if (limit > 0 && size > limit) {
    std::string of_model = model.empty() ? "" : " of model '" + std::string(model) + "'";
    return SendError(target,
                     core::ResourceExhausted("reply" + of_model + " is a " + std::to_string(size) +
                                             "-byte packet, larger than the " + std::to_string(limit) +
                                             "-byte limit (the broker's Maximum Packet Size or "
                                             "mqtt.max_reply_bytes)"),
                     "reply_too_large", id, 0, std::move(done));
  }
  Send(std::move(m), std::move(done));
}

void ReplySink::SendError(const ReplyTarget& target, const core::Status& status,
                          std::string_view reason, std::string_view id, int64_t retry_after_ms,
                          PublishDone done) {
  CountRejected(reason);
  if (!done) done = AnsweredWhenDone(target.receipt, AnswerLabel(target));
  if (target.topic.empty()) {
    spdlog::debug("mqtt: {} (no reply topic)", status.message());
    if (done) done(core::Status::Ok());
    return;
  }
  OutgoingMessage m;
  m.topic = target.topic;
  m.payload = EncodeError(status, {id, target.correlation_id, retry_after_ms});
  m.qos = target.qos;
  m.correlation_data = target.correlation_data;
  m.content_type = "application/json";
  m.user_properties = {{"reason_code", std::to_string(core::MqttReasonCodeFor(status.code()))},
                       {"status", std::string(core::StatusCodeName(status.code()))}};
  if (retry_after_ms > 0) m.user_properties.emplace_back("retry_after_ms", std::to_string(retry_after_ms));
  const uint32_t limit = PacketLimit();
  if (size_t size = PublishPacketSize(m, mqtt5); limit > 0 && size > limit) {
    // Shorter: the message clipped by what is over (an error names what the client sent).
    const std::string& message = status.message();
    size_t over = size - limit;
    if (message.size() > over + 16) {
      core::Status clipped(status.code(), core::ClipReplyMessage(message, message.size() - over));
      m.payload = EncodeError(clipped, {id, target.correlation_id, retry_after_ms});
    }
  }
  if (limit > 0 && PublishPacketSize(m, mqtt5) > limit) {
    // Even the error does not fit (a long topic or correlation data): nothing can reach the requester.
    reply_failures->Increment();
    spdlog::warn("mqtt: the error reply to '{}' exceeds the {}-byte packet limit; dropped: {}", target.topic,
                 limit, status.message());
    if (done) done(core::Status::Ok());  // answered as far as anyone can be
    return;
  }
  Send(std::move(m), std::move(done));
}

void ReplySink::Begin() {
  inflight_gauge->Set(++inflight);
  requests->Increment();
}

void ReplySink::Finish() {
  int left = --inflight;
  inflight_gauge->Set(left);
  std::lock_guard lock(mu);  // notify under the lock: Stop may be about to wait
  if (left == 0) drained.notify_all();
  if (client) client->Wake();  // a waiting message may go now
}

}  // namespace infergate::mqtt
