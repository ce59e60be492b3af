#include "frontends/mqtt/reply_sink.h"

#include <spdlog/spdlog.h>

#include <cctype>

#include "core/status_map.h"
#include "frontends/mqtt/codec.h"

namespace infergate::mqtt {

std::string ReasonOf(const core::Status& status) {
  std::string out(core::StatusCodeName(status.code()));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
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
    st = client ? client->Publish(std::move(message), done) : core::Unavailable("mqtt: stopped");
  }
  if (!st.ok()) {
    reply_failures->Increment();
    if (!stopped) spdlog::warn("{}", st.message());
    if (done) done(st);  // outside the lock: it may acknowledge
    return;
  }
  replies->Increment();
}

void ReplySink::Ack(const AckHandle& ack) {
  if (ack.qos == 0) return;
  std::lock_guard lock(mu);
  if (client) client->Acknowledge(ack);
}

PublishDone ReplySink::AckWhenDone(const AckHandle& ack) {
  if (ack.qos == 0) return nullptr;
  return [this, ack](const core::Status& st) {
    // Not sent because the connection went or the client stopped: the
    // broker delivers the request again, so it stays unacknowledged.
    if (st.code() == core::StatusCode::kUnavailable || st.code() == core::StatusCode::kCancelled) return;
    Ack(ack);
  };
}

void ReplySink::SendJson(const ReplyTarget& target, std::string body, PublishDone done) {
  if (!done) done = AckWhenDone(target.ack);
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
  Send(std::move(m), std::move(done));
}

void ReplySink::SendError(const ReplyTarget& target, const core::Status& status,
                          std::string_view reason, std::string_view id, PublishDone done) {
  CountRejected(reason);
  if (!done) done = AckWhenDone(target.ack);
  if (target.topic.empty()) {
    spdlog::debug("mqtt: {} (no reply topic)", status.message());
    if (done) done(core::Status::Ok());
    return;
  }
  OutgoingMessage m;
  m.topic = target.topic;
  m.payload = EncodeError(status, id);
  m.qos = target.qos;
  m.correlation_data = target.correlation_data;
  m.content_type = "application/json";
  m.user_properties = {{"reason_code", std::to_string(core::MqttReasonCodeFor(status.code()))},
                       {"status", std::string(core::StatusCodeName(status.code()))}};
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
