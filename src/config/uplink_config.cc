#include "config/uplink_config.h"

#include <yaml-cpp/yaml.h>

#include <tuple>

#include "config/yaml_util.h"

namespace infergate::config {
namespace {

using core::Status;

Status ParseForward(const YamlReader& r, const YAML::Node& node, UplinkForward* out) {
  ASSIGN_OR_RETURN(std::string f, r.String(node, "forward"));
  if (f == "alerts") {
    *out = UplinkForward::kAlerts;
  } else if (f == "results") {
    *out = UplinkForward::kResults;
  } else if (f == "none") {
    *out = UplinkForward::kNone;
  } else {
    return r.Error(node, "forward", "expected alerts, results or none, got '" + f + "'");
  }
  return Status::Ok();
}

Status ParseOutbox(const YamlReader& r, const YAML::Node& node, UplinkOutboxConfig* out) {
  RETURN_IF_ERROR(
      r.CheckKeys(node, "uplink.outbox", {"path", "max_bytes", "max_age_secs", "max_records"}));
  if (node["path"]) {
    ASSIGN_OR_RETURN(out->path, r.String(node["path"], "path"));
  }
  for (auto [key, field, min] : {std::tuple{"max_bytes", &out->max_bytes, int64_t{1} << 16},
                                 std::tuple{"max_age_secs", &out->max_age_secs, int64_t{0}},
                                 std::tuple{"max_records", &out->max_records, int64_t{1}}}) {
    if (!node[key]) continue;
    ASSIGN_OR_RETURN(*field, r.Int(node[key], key, min, INT64_MAX));
  }
  return Status::Ok();
}

// The string and number keys.
Status ParseScalars(const YamlReader& r, const YAML::Node& node, UplinkConfig* out) {
  for (auto [key, field] :
       {std::pair{"broker", &out->broker}, std::pair{"client_id", &out->client_id},
        std::pair{"protocol_version", &out->protocol_version},
        std::pair{"username", &out->username}, std::pair{"password", &out->password},
        std::pair{"topic_prefix", &out->topic_prefix},
        std::pair{"status_topic", &out->status_topic}}) {
    if (!node[key]) continue;
    ASSIGN_OR_RETURN(*field, r.String(node[key], key));
  }
  for (auto [key, field, min, max] : {std::tuple{"keepalive_secs", &out->keepalive_secs, 5, 65535},
                                      std::tuple{"qos", &out->qos, 1, 2}}) {
    if (!node[key]) continue;
    ASSIGN_OR_RETURN(int64_t v, r.Int(node[key], key, min, max));
    *field = static_cast<int>(v);
  }
  for (auto [key, field] : {std::pair{"max_rate", &out->max_rate},
                            std::pair{"reconnect_min_secs", &out->reconnect_min_secs},
                            std::pair{"reconnect_max_secs", &out->reconnect_max_secs}}) {
    if (!node[key]) continue;
    ASSIGN_OR_RETURN(*field, r.Double(node[key], key));
    if (*field < 0) return r.Error(node[key], key, "must be >= 0");
  }
  return Status::Ok();
}

}  // namespace

std::string_view UplinkForwardName(UplinkForward forward) {
  switch (forward) {
    case UplinkForward::kAlerts:
      return "alerts";
    case UplinkForward::kResults:
      return "results";
    case UplinkForward::kNone:
      return "none";
  }
  return "alerts";
}

Status ParseUplinkConfig(const YamlReader& r, const YAML::Node& node, UplinkConfig* out) {
  RETURN_IF_ERROR(
      r.CheckKeys(node, "uplink",
                  {"broker", "client_id", "protocol_version", "username", "password", "tls",
                   "keepalive_secs", "topic_prefix", "forward", "qos", "max_rate", "status_topic",
                   "reconnect_min_secs", "reconnect_max_secs", "outbox"}));
  RETURN_IF_ERROR(ParseScalars(r, node, out));
  if (node["forward"]) RETURN_IF_ERROR(ParseForward(r, node["forward"], &out->forward));
  if (node["tls"]) RETURN_IF_ERROR(ParseMqttTlsConfig(r, node["tls"], "uplink.tls", &out->tls));
  if (node["outbox"]) RETURN_IF_ERROR(ParseOutbox(r, node["outbox"], &out->outbox));
  return Status::Ok();
}

Status ValidateUplinkConfig(const UplinkConfig& c, bool has_state_dir) {
  if (!c.enabled()) return Status::Ok();
  if (c.broker.rfind("mqtt://", 0) != 0 && c.broker.rfind("mqtts://", 0) != 0) {
    return core::InvalidArgument(
        "uplink.broker must be mqtt://host:port or mqtts://host:port, got '" + c.broker + "'");
  }
  if (c.protocol_version != "5" && c.protocol_version != "3.1.1") {
    return core::InvalidArgument("uplink.protocol_version must be 5 or 3.1.1, got '" +
                                 c.protocol_version + "'");
  }
  if (c.topic_prefix.empty() || c.topic_prefix.find_first_of("+#{}") != std::string::npos ||
      c.topic_prefix.back() == '/') {
    return core::InvalidArgument(
        "uplink.topic_prefix must be a non-empty topic without wildcards, braces or a trailing "
        "'/', got '" +
        c.topic_prefix + "'");
  }
  if (c.status_topic.find_first_of("+#") != std::string::npos) {
    return core::InvalidArgument("uplink.status_topic must not contain wildcards, got '" +
                                 c.status_topic + "'");
  }
  if (c.qos < 1 || c.qos > 2) {
    return core::InvalidArgument(
        "uplink.qos must be 1 or 2 (the outbox keeps messages until the broker has them)");
  }
  if (c.reconnect_min_secs <= 0 || c.reconnect_max_secs < c.reconnect_min_secs) {
    return core::InvalidArgument("uplink.reconnect_min_secs must be > 0 and <= reconnect_max_secs");
  }
  if (c.tls.cert_file.empty() != c.tls.key_file.empty()) {
    return core::InvalidArgument("uplink.tls.cert_file and uplink.tls.key_file go together");
  }
  if (c.outbox.path.empty() && !has_state_dir) {
    return core::InvalidArgument(
        "uplink needs its outbox: give state_dir (or --state-dir) or uplink.outbox.path");
  }
  return Status::Ok();
}

}  // namespace infergate::config
