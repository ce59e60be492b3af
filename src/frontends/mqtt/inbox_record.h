// An MQTT request as the inbox journal keeps it: what is needed to run it
// again after a crash and to answer where the device expects the reply
// (topic, payload, QoS, MQTT 5 Response Topic, Correlation Data, expiry,
// content type, user properties). The journal keeps when it was appended.
//
// Layout (little-endian): "IGI1", u8 qos, u8 flags (1: correlation data,
// 2: expiry, 4: retain), u32 expiry secs, then the
// topic, response topic, correlation data and content type, each as
// u32 length + bytes, u32 user property count and each pair as two such
// strings, and the payload (the rest). Decoding checks every length: a
// damaged record is an error naming what is wrong, never a crash.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "frontends/mqtt/mqtt_client.h"

namespace infergate::mqtt {

std::string EncodeInboxRecord(const IncomingMessage& message);
// The message's AckHandle is empty: it was acknowledged before the crash.
core::StatusOr<IncomingMessage> DecodeInboxRecord(std::string_view bytes);

}  // namespace infergate::mqtt
