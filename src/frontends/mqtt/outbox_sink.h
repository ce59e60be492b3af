// MqttOutboxSink: an edge::Outbox sends through an MqttClient (the MQTT
// frontend's replies, the uplink's forwarded results).
//
// Send maps the client's answers to what the outbox expects:
//   - not connected, or the client's queue full (max_queued_publish_bytes):
//     UNAVAILABLE, not taken; call Outbox::Wake from the listener's
//     OnConnected (and after publishes completed, if the queue was full);
//   - a packet larger than the broker's Maximum Packet Size or than the
//     client's whole queue: RESOURCE_EXHAUSTED (dropped as too large);
//   - taken: `done` is the client's PublishDone (OK on PUBACK/PUBCOMP,
//     CANCELLED for what the client still held at Stop).
// Not taking a message while disconnected keeps the order the outbox's: the
// client resends only what it already held, and the outbox the rest.
//
// Thread-safety: Send from any thread (the outbox's sender); the client is
// not owned and outlives the outbox's Close.
#pragma once

#include "edge/outbox.h"
#include "frontends/mqtt/mqtt_client.h"

namespace infergate::mqtt {

class MqttOutboxSink final : public edge::OutboxSink {
 public:
  explicit MqttOutboxSink(MqttClient* client) : client_(client) {}

  core::Status Send(const edge::OutboxMessage& message,
                    std::function<void(const core::Status&)> done) override;

 private:
  MqttClient* const client_;
};

// The same message in the outbox's terms and back.
edge::OutboxMessage ToOutboxMessage(OutgoingMessage message);
OutgoingMessage ToOutgoingMessage(const edge::OutboxMessage& message);

}  // namespace infergate::mqtt
