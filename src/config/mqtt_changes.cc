#include "config/mqtt_changes.h"

#include <array>

namespace infergate::config {
namespace {

constexpr std::array<std::string_view, 4> kRouteKeys = {"mqtt.routes", "mqtt.default_route",
                                                        "mqtt.default_telemetry_route", "mqtt.default_qos"};

}  // namespace

std::vector<std::string> ChangedMqttKeys(const MqttConfig& a, const MqttConfig& b) {
  std::vector<std::string> out;
  auto check = [&out](bool same, const char* key) {
    if (!same) out.emplace_back(key);
  };
  check(a.broker == b.broker, "mqtt.broker");
  check(a.client_id == b.client_id, "mqtt.client_id");
  check(a.protocol_version == b.protocol_version, "mqtt.protocol_version");
  check(a.username == b.username, "mqtt.username");
  check(a.password == b.password, "mqtt.password");
  check(a.tls == b.tls, "mqtt.tls");
  check(a.keepalive_secs == b.keepalive_secs, "mqtt.keepalive_secs");
  check(a.clean_session == b.clean_session, "mqtt.clean_session");
  check(a.session_expiry_secs == b.session_expiry_secs, "mqtt.session_expiry_secs");
  check(a.topic_prefix == b.topic_prefix, "mqtt.topic_prefix");
  check(a.share_group == b.share_group, "mqtt.share_group");
  check(a.default_route == b.default_route, "mqtt.default_route");
  check(a.default_telemetry_route == b.default_telemetry_route, "mqtt.default_telemetry_route");
  check(a.default_qos == b.default_qos, "mqtt.default_qos");
  check(a.max_inflight == b.max_inflight, "mqtt.max_inflight");
  check(a.max_payload_bytes == b.max_payload_bytes, "mqtt.max_payload_bytes");
  check(a.reconnect_min_secs == b.reconnect_min_secs, "mqtt.reconnect_min_secs");
  check(a.reconnect_max_secs == b.reconnect_max_secs, "mqtt.reconnect_max_secs");
  check(a.stall_timeout_secs == b.stall_timeout_secs, "mqtt.stall_timeout_secs");
  check(a.max_queued_publish_bytes == b.max_queued_publish_bytes, "mqtt.max_queued_publish_bytes");
  check(a.routes == b.routes, "mqtt.routes");
  check(a.overload_retry_after_ms == b.overload_retry_after_ms, "mqtt.overload_retry_after_ms");
  check(a.max_overload_replies_per_sec == b.max_overload_replies_per_sec, "mqtt.max_overload_replies_per_sec");
  check(a.max_reply_bytes == b.max_reply_bytes, "mqtt.max_reply_bytes");
  check(a.reply_topic_prefix == b.reply_topic_prefix, "mqtt.reply_topic_prefix");
  check(a.inbox == b.inbox, "mqtt.inbox");
  check(a.outbox == b.outbox, "mqtt.outbox");
  if (out.empty() && !(a == b)) out.emplace_back("mqtt");  // a key not listed above
  return out;
}

bool IsMqttRouteKey(std::string_view key) {
  for (std::string_view k : kRouteKeys) {
    if (k == key) return true;
  }
  return false;
}

MqttConfig WithRoutesOf(const MqttConfig& running, const MqttConfig& fresh) {
  MqttConfig out = running;
  out.routes = fresh.routes;
  out.default_route = fresh.default_route;
  out.default_telemetry_route = fresh.default_telemetry_route;
  out.default_qos = fresh.default_qos;
  return out;
}

}  // namespace infergate::config
