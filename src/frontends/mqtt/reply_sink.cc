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

void ReplySink::Send(const OutgoingMessage& message) {
  std::lock_guard lock(mu);
  if (!client) {
    reply_failures->Increment();
    return;
  }
  if (auto st = client->Publish(message); !st.ok()) {
    reply_failures->Increment();
    spdlog::warn("{}", st.message());
    return;
  }
  replies->Increment();
}

void ReplySink::SendJson(const ReplyTarget& target, std::string body) {
  if (target.topic.empty()) return;
  OutgoingMessage m;
  m.topic = target.topic;
  m.payload = std::move(body);
  m.qos = target.qos;
  m.retain = target.retain;
  m.correlation_data = target.correlation_data;
  m.content_type = "application/json";
  Send(m);
}

void ReplySink::SendError(const ReplyTarget& target, const core::Status& status,
                          std::string_view reason, std::string_view id) {
  CountRejected(reason);
  if (target.topic.empty()) {
    spdlog::debug("mqtt: {} (no reply topic)", status.message());
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
  Send(m);
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
