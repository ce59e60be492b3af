#include "frontends/mqtt/outbox_sink.h"

#include <utility>

#include "frontends/mqtt/reply_sink.h"

namespace infergate::mqtt {

core::Status MqttOutboxSink::Send(const edge::OutboxMessage& message,
                                  std::function<void(const core::Status&)> done) {
  OutgoingMessage m = ToOutgoingMessage(message);
  const ClientOptions& options = client_->options();
  const size_t size = PublishPacketSize(m, options.mqtt5);
  const uint32_t limit = client_->max_packet_size();
  if ((limit > 0 && size > limit) ||
      static_cast<int64_t>(size) > options.max_queued_publish_bytes) {
    return core::ResourceExhausted("a " + std::to_string(size) + "-byte message to '" + m.topic +
                                   "' is larger than the broker or the client's queue accept");
  }
  if (!client_->connected()) return core::Unavailable("mqtt: not connected");
  core::Status status = client_->Publish(std::move(m), std::move(done));
  // The size was checked: RESOURCE_EXHAUSTED is the queue, full for now.
  if (status.code() == core::StatusCode::kResourceExhausted) {
    return core::Unavailable(status.message());
  }
  return status;
}

edge::OutboxMessage ToOutboxMessage(OutgoingMessage message) {
  edge::OutboxMessage m;
  m.topic = std::move(message.topic);
  m.payload = std::move(message.payload);
  m.qos = message.qos;
  m.retain = message.retain;
  m.correlation_data = std::move(message.correlation_data);
  m.content_type = std::move(message.content_type);
  m.user_properties = std::move(message.user_properties);
  return m;
}

OutgoingMessage ToOutgoingMessage(const edge::OutboxMessage& message) {
  OutgoingMessage m;
  m.topic = message.topic;
  m.payload = message.payload;
  m.qos = message.qos;
  m.retain = message.retain;
  m.correlation_data = message.correlation_data;
  m.content_type = message.content_type;
  m.user_properties = message.user_properties;
  return m;
}

}  // namespace infergate::mqtt
