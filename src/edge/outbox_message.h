// OutboxMessage: what a publisher needs to publish a message again after a
// restart (topic, payload, QoS, retain and the MQTT 5 properties a reply
// carries), and its record in the outbox's journal.
//
// Record layout (little-endian): "IGO1", u8 qos, u8 flags (1: correlation
// data, 2: retain), then the topic, correlation data and content type, each
// as u32 length + bytes, u32 user property count and each pair as two such
// strings, and the payload (the rest). Decoding checks every length: a
// damaged record is an error naming what is wrong, never a crash.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace infergate::edge {

struct OutboxMessage {
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retain = false;
  std::optional<std::string> correlation_data;                       // MQTT 5 only
  std::string content_type;                                          // MQTT 5 only
  std::vector<std::pair<std::string, std::string>> user_properties;  // MQTT 5 only

  bool operator==(const OutboxMessage&) const = default;
};

std::string EncodeOutboxMessage(const OutboxMessage& message);
core::StatusOr<OutboxMessage> DecodeOutboxMessage(std::string_view record);

}  // namespace infergate::edge
