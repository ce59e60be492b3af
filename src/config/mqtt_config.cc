#include "config/mqtt_config.h"

#include <yaml-cpp/yaml.h>

#include "config/yaml_util.h"

namespace infergate::config {
namespace {

using core::Status;

Status ReadInt(const YamlReader& r, const YAML::Node& node, std::string_view key, int64_t min,
               int64_t max, int* out) {
  if (!node[std::string(key)]) return Status::Ok();
  ASSIGN_OR_RETURN(int64_t v, r.Int(node[std::string(key)], key, min, max));
  *out = static_cast<int>(v);
  return Status::Ok();
}

Status ReadString(const YamlReader& r, const YAML::Node& node, std::string_view key,
                  std::string* out) {
  if (!node[std::string(key)]) return Status::Ok();
  ASSIGN_OR_RETURN(*out, r.String(node[std::string(key)], key));
  return Status::Ok();
}

Status ReadBool(const YamlReader& r, const YAML::Node& node, std::string_view key, bool* out) {
  if (!node[std::string(key)]) return Status::Ok();
  ASSIGN_OR_RETURN(*out, r.Bool(node[std::string(key)], key));
  return Status::Ok();
}

Status ParseTls(const YamlReader& r, const YAML::Node& node, std::string_view where, MqttTlsConfig* out) {
  RETURN_IF_ERROR(r.CheckKeys(node, where, {"ca_file", "cert_file", "key_file", "insecure"}));
  RETURN_IF_ERROR(ReadString(r, node, "ca_file", &out->ca_file));
  RETURN_IF_ERROR(ReadString(r, node, "cert_file", &out->cert_file));
  RETURN_IF_ERROR(ReadString(r, node, "key_file", &out->key_file));
  return ReadBool(r, node, "insecure", &out->insecure);
}

Status ParseRawInput(const YamlReader& r, const YAML::Node& node, RawInputConfig* out) {
  RETURN_IF_ERROR(r.CheckKeys(node, "a route's input", {"name", "datatype", "shape"}));
  RETURN_IF_ERROR(ReadString(r, node, "name", &out->name));
  RETURN_IF_ERROR(ReadString(r, node, "datatype", &out->datatype));
  if (node["shape"]) {
    ASSIGN_OR_RETURN(out->shape, r.IntList(node["shape"], "shape", 1, int64_t{1} << 32));
  }
  if (out->name.empty() || out->datatype.empty() || out->shape.empty()) {
    return r.Error(node, "input", "a raw input needs name, datatype and shape");
  }
  return Status::Ok();
}

Status ParseFormat(const YamlReader& r, const YAML::Node& node, PayloadFormat* out) {
  ASSIGN_OR_RETURN(std::string f, r.String(node, "format"));
  if (f == "v2-json") {
    *out = PayloadFormat::kV2Json;
  } else if (f == "raw") {
    *out = PayloadFormat::kRaw;
  } else if (f == "telemetry") {
    *out = PayloadFormat::kTelemetry;
  } else {
    return r.Error(node, "format", "expected v2-json, raw or telemetry, got '" + f + "'");
  }
  return Status::Ok();
}

Status ParseRoute(const YamlReader& r, const YAML::Node& node, MqttRouteConfig* out) {
  RETURN_IF_ERROR(r.CheckKeys(node, "an mqtt route", {"topic", "model", "version", "format", "input",
                                                      "reply_topic", "qos", "retain"}));
  RETURN_IF_ERROR(ReadString(r, node, "topic", &out->topic));
  RETURN_IF_ERROR(ReadString(r, node, "model", &out->model));
  if (node["version"]) {
    ASSIGN_OR_RETURN(out->version, r.Int(node["version"], "version", 0, INT64_MAX));
  }
  if (node["format"]) RETURN_IF_ERROR(ParseFormat(r, node["format"], &out->format));
  if (node["input"]) RETURN_IF_ERROR(ParseRawInput(r, node["input"], &out->input));
  RETURN_IF_ERROR(ReadString(r, node, "reply_topic", &out->reply_topic));
  RETURN_IF_ERROR(ReadInt(r, node, "qos", 0, 2, &out->qos));
  RETURN_IF_ERROR(ReadBool(r, node, "retain", &out->retain));
  if (out->topic.empty()) return r.Error(node, "topic", "a route needs a topic filter");
  if (out->model.empty()) return r.Error(node, "model", "a route needs a model");
  if (out->reply_topic.empty()) return r.Error(node, "reply_topic", "a route needs a reply_topic");
  if (out->format == PayloadFormat::kRaw && out->input.name.empty()) {
    return r.Error(node, "input", "format raw needs input: {name, datatype, shape}");
  }
  return Status::Ok();
}

Status ParseScalars(const YamlReader& r, const YAML::Node& node, MqttConfig* out) {
  RETURN_IF_ERROR(ReadString(r, node, "broker", &out->broker));
  RETURN_IF_ERROR(ReadString(r, node, "client_id", &out->client_id));
  RETURN_IF_ERROR(ReadString(r, node, "protocol_version", &out->protocol_version));
  RETURN_IF_ERROR(ReadString(r, node, "username", &out->username));
  RETURN_IF_ERROR(ReadString(r, node, "password", &out->password));
  RETURN_IF_ERROR(ReadInt(r, node, "keepalive_secs", 5, 65535, &out->keepalive_secs));
  RETURN_IF_ERROR(ReadBool(r, node, "clean_session", &out->clean_session));
  if (node["session_expiry_secs"]) {
    ASSIGN_OR_RETURN(out->session_expiry_secs,
                     r.Int(node["session_expiry_secs"], "session_expiry_secs", 0, UINT32_MAX));
  }
  RETURN_IF_ERROR(ReadString(r, node, "topic_prefix", &out->topic_prefix));
  RETURN_IF_ERROR(ReadString(r, node, "share_group", &out->share_group));
  RETURN_IF_ERROR(ReadBool(r, node, "default_route", &out->default_route));
  RETURN_IF_ERROR(ReadBool(r, node, "default_telemetry_route", &out->default_telemetry_route));
  RETURN_IF_ERROR(ReadInt(r, node, "default_qos", 0, 2, &out->default_qos));
  RETURN_IF_ERROR(ReadInt(r, node, "max_inflight", 1, 65535, &out->max_inflight));
  if (node["max_payload_bytes"]) {
    ASSIGN_OR_RETURN(out->max_payload_bytes,
                     r.Int(node["max_payload_bytes"], "max_payload_bytes", 1, 268435455));
  }
  if (node["reconnect_min_secs"]) {
    ASSIGN_OR_RETURN(out->reconnect_min_secs, r.Double(node["reconnect_min_secs"], "reconnect_min_secs"));
  }
  if (node["reconnect_max_secs"]) {
    ASSIGN_OR_RETURN(out->reconnect_max_secs, r.Double(node["reconnect_max_secs"], "reconnect_max_secs"));
  }
  return Status::Ok();
}

Status ParseReplyLimits(const YamlReader& r, const YAML::Node& node, MqttConfig* out) {
  if (node["overload_retry_after_ms"]) {
    ASSIGN_OR_RETURN(out->overload_retry_after_ms,
                     r.Int(node["overload_retry_after_ms"], "overload_retry_after_ms", 1, 3600000));
  }
  RETURN_IF_ERROR(
      ReadInt(r, node, "max_overload_replies_per_sec", 1, 1000000, &out->max_overload_replies_per_sec));
  if (node["max_reply_bytes"]) {
    ASSIGN_OR_RETURN(out->max_reply_bytes, r.Int(node["max_reply_bytes"], "max_reply_bytes", 0, 268435455));
  }
  if (node["reply_topic_prefix"]) {
    std::string prefix;
    RETURN_IF_ERROR(ReadString(r, node, "reply_topic_prefix", &prefix));
    out->reply_topic_prefix = std::move(prefix);
  }
  return Status::Ok();
}

// The client's stall bound and publish queue bound.
Status ParseClientLimits(const YamlReader& r, const YAML::Node& node, MqttConfig* out) {
  if (node["stall_timeout_secs"]) {
    ASSIGN_OR_RETURN(out->stall_timeout_secs, r.Double(node["stall_timeout_secs"], "stall_timeout_secs"));
    if (out->stall_timeout_secs < 0.1 || out->stall_timeout_secs > 3600) {
      return r.Error(node["stall_timeout_secs"], "stall_timeout_secs", "expected 0.1 to 3600 seconds");
    }
  }
  if (node["max_queued_publish_bytes"]) {
    ASSIGN_OR_RETURN(out->max_queued_publish_bytes,
                     r.Int(node["max_queued_publish_bytes"], "max_queued_publish_bytes", 65536, INT64_MAX));
  }
  return Status::Ok();
}

Status ParseInbox(const YamlReader& r, const YAML::Node& node, MqttInboxConfig* out) {
  RETURN_IF_ERROR(r.CheckKeys(node, "mqtt.inbox", {"enabled", "path", "max_bytes", "max_records"}));
  RETURN_IF_ERROR(ReadBool(r, node, "enabled", &out->enabled));
  RETURN_IF_ERROR(ReadString(r, node, "path", &out->path));
  if (node["max_bytes"]) {
    ASSIGN_OR_RETURN(out->max_bytes, r.Int(node["max_bytes"], "max_bytes", 1 << 16, INT64_MAX));
  }
  if (node["max_records"]) {
    ASSIGN_OR_RETURN(out->max_records, r.Int(node["max_records"], "max_records", 1, INT64_MAX));
  }
  return Status::Ok();
}

Status ParseOutbox(const YamlReader& r, const YAML::Node& node, MqttOutboxConfig* out) {
  RETURN_IF_ERROR(r.CheckKeys(node, "mqtt.outbox", {"enabled", "path", "max_bytes", "max_age_secs"}));
  RETURN_IF_ERROR(ReadBool(r, node, "enabled", &out->enabled));
  RETURN_IF_ERROR(ReadString(r, node, "path", &out->path));
  if (node["max_bytes"]) {
    ASSIGN_OR_RETURN(out->max_bytes, r.Int(node["max_bytes"], "max_bytes", 1 << 16, INT64_MAX));
  }
  if (node["max_age_secs"]) {
    ASSIGN_OR_RETURN(out->max_age_secs, r.Double(node["max_age_secs"], "max_age_secs"));
    if (out->max_age_secs < 0) {
      return r.Error(node["max_age_secs"], "max_age_secs", "expected 0 (no limit) or more seconds");
    }
  }
  return Status::Ok();
}

}  // namespace

std::string_view PayloadFormatName(PayloadFormat format) {
  switch (format) {
    case PayloadFormat::kV2Json: return "v2-json";
    case PayloadFormat::kRaw: return "raw";
    case PayloadFormat::kTelemetry: return "telemetry";
  }
  return "v2-json";
}

Status ParseMqttConfig(const YamlReader& r, const YAML::Node& node, MqttConfig* out) {
  RETURN_IF_ERROR(r.CheckKeys(
      node, "mqtt",
      {"broker", "client_id", "protocol_version", "username", "password", "tls", "keepalive_secs",
       "clean_session", "session_expiry_secs", "topic_prefix", "share_group", "default_route",
       "default_telemetry_route",
       "default_qos", "max_inflight", "max_payload_bytes", "reconnect_min_secs",
       "reconnect_max_secs", "routes", "overload_retry_after_ms", "max_overload_replies_per_sec",
       "max_reply_bytes", "reply_topic_prefix", "stall_timeout_secs", "max_queued_publish_bytes",
       "inbox", "outbox"}));
  RETURN_IF_ERROR(ParseScalars(r, node, out));
  RETURN_IF_ERROR(ParseReplyLimits(r, node, out));
  RETURN_IF_ERROR(ParseClientLimits(r, node, out));
  if (node["tls"]) RETURN_IF_ERROR(ParseTls(r, node["tls"], "mqtt.tls", &out->tls));
  if (node["inbox"]) RETURN_IF_ERROR(ParseInbox(r, node["inbox"], &out->inbox));
  if (node["outbox"]) RETURN_IF_ERROR(ParseOutbox(r, node["outbox"], &out->outbox));
  if (node["routes"]) {
    if (!node["routes"].IsSequence()) return r.Error(node["routes"], "routes", "expected a list of routes");
    for (const auto& item : node["routes"]) {
      MqttRouteConfig route;
      RETURN_IF_ERROR(ParseRoute(r, item, &route));
      out->routes.push_back(std::move(route));
    }
  }
  return Status::Ok();
}

Status ParseMqttTlsConfig(const YamlReader& r, const YAML::Node& node, std::string_view where,
                          MqttTlsConfig* out) {
  return ParseTls(r, node, where, out);
}

Status ValidateMqttConfig(const MqttConfig& c) {
  if (c.protocol_version != "5" && c.protocol_version != "3.1.1") {
    return core::InvalidArgument("mqtt.protocol_version must be 5 or 3.1.1, got '" + c.protocol_version + "'");
  }
  if (c.topic_prefix.empty() || c.topic_prefix.find_first_of("+#{}") != std::string::npos) {
    return core::InvalidArgument("mqtt.topic_prefix must be a non-empty topic without wildcards or braces, got '" +
                                 c.topic_prefix + "'");
  }
  if (c.share_group.find_first_of("/+#") != std::string::npos) {
    return core::InvalidArgument("mqtt.share_group must not contain '/', '+' or '#', got '" + c.share_group + "'");
  }
  if (c.reconnect_min_secs <= 0 || c.reconnect_max_secs < c.reconnect_min_secs) {
    return core::InvalidArgument("mqtt.reconnect_min_secs must be > 0 and <= reconnect_max_secs");
  }
  if (c.reply_topic_prefix && c.reply_topic_prefix->find_first_of("+#") != std::string::npos) {
    return core::InvalidArgument("mqtt.reply_topic_prefix must not contain wildcards, got '" +
                                 *c.reply_topic_prefix + "'");
  }
  if (c.tls.cert_file.empty() != c.tls.key_file.empty()) {
    return core::InvalidArgument("mqtt.tls.cert_file and mqtt.tls.key_file go together");
  }
  return core::Status::Ok();
}

}  // namespace infergate::config
