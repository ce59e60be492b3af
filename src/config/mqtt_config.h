// The `mqtt:` section of infergate.yaml as typed structs. Parsed and checked
// for shape here; topic filters and reply templates are checked by the MQTT
// frontend when it is created (it owns their syntax).
// docs/configuration.md and examples/infergate.yaml list every key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace YAML {
class Node;
}

namespace infergate::config {

class YamlReader;

// How a route's payload is turned into a request.
enum class PayloadFormat {
  kV2Json,     // a KServe v2 JSON inference request body (as over HTTP)
  kRaw,        // little-endian tensor bytes; name, type and shape from `input`
  kTelemetry,  // device telemetry JSON, through the model's device contract (src/pipeline)
};
std::string_view PayloadFormatName(PayloadFormat format);

// The tensor a `raw` payload fills.
struct RawInputConfig {
  std::string name;
  std::string datatype;       // "FP32", ...
  std::vector<int64_t> shape; // the full shape, batch dimension included

  bool operator==(const RawInputConfig&) const = default;
};

struct MqttRouteConfig {
  std::string topic;          // filter with captures, e.g. "plant/+device/vibration"
  std::string model;
  int64_t version = 0;        // 0: the newest READY version
  PayloadFormat format = PayloadFormat::kV2Json;
  RawInputConfig input;       // format raw only
  std::string reply_topic;    // template, e.g. "plant/{device}/anomaly"
  int qos = 1;                // subscription QoS and reply QoS
  bool retain = false;        // retain replies

  bool operator==(const MqttRouteConfig&) const = default;
};

struct MqttTlsConfig {
  std::string ca_file;    // empty with mqtts://: the system's CA store
  std::string cert_file;  // client certificate (with key_file)
  std::string key_file;
  bool insecure = false;  // skip the server host name check (testing only)

  bool operator==(const MqttTlsConfig&) const = default;
};

// `mqtt.inbox:`: the journal of QoS 1/2 requests. A request is acknowledged
// to the broker once it is journaled (or answered); after a crash the
// journaled requests without a reply are run again at start-up.
struct MqttInboxConfig {
  bool enabled = true;            // with a path (below) or a state_dir
  std::string path;               // empty: <state_dir>/mqtt-inbox.db; no state_dir: no journal
  int64_t max_bytes = 256ll << 20;
  int64_t max_records = 100000;

  bool operator==(const MqttInboxConfig&) const = default;
};

// `mqtt.outbox:`: the durable outbox of QoS 1/2 replies. A reply is written
// to it before it is handed to the broker and deleted once the broker
// acknowledged it; what was not acknowledged is sent again after a restart.
struct MqttOutboxConfig {
  bool enabled = true;            // with a path (below) or a state_dir
  std::string path;               // empty: <state_dir>/mqtt-outbox.db; no state_dir: no outbox
  int64_t max_bytes = 256ll << 20;  // the oldest replies are dropped beyond (counted)
  double max_age_secs = 604800;     // older replies are dropped (counted); 0: no limit

  bool operator==(const MqttOutboxConfig&) const = default;
};

struct MqttConfig {
  std::string broker;            // mqtt://host:port or mqtts://host:port; empty: MQTT off
  std::string client_id;         // empty: "infergate-<hostname>-<pid>"
  std::string protocol_version = "5";  // "5" or "3.1.1"
  std::string username;
  std::string password;
  MqttTlsConfig tls;
  int keepalive_secs = 30;
  bool clean_session = true;
  int64_t session_expiry_secs = 3600;  // MQTT 5, persistent sessions only
  std::string topic_prefix = "infergate";
  std::string share_group;       // non-empty: subscribe as $share/<group>/<filter>
  bool default_route = true;     // <prefix>/models/+/infer
  bool default_telemetry_route = true;  // <prefix>/devices/+device/+model, format telemetry
  int default_qos = 1;           // the default route's subscription and reply QoS
  int max_inflight = 256;        // requests submitted and not yet answered
  int64_t max_payload_bytes = 4 * 1024 * 1024;
  double reconnect_min_secs = 0.5;
  double reconnect_max_secs = 30.0;
  double stall_timeout_secs = 10.0;  // publishes or a ping unacknowledged this long: reconnect
  int64_t max_queued_publish_bytes = 64 * 1024 * 1024;  // publishes held (queued or unacknowledged)
  std::vector<MqttRouteConfig> routes;

  // Overload answers and reply limits (see docs/configuration.md).
  int64_t overload_retry_after_ms = 1000;    // the retry hint of an `overloaded` reply
  int max_overload_replies_per_sec = 1000;   // beyond: reading pauses (back-pressure)
  int64_t max_reply_bytes = 0;               // 0: the broker's Maximum Packet Size only
  // A "reply_topic" request parameter must start with this; unset:
  // "<topic_prefix>/"; "": any topic the broker lets infergate publish to.
  std::optional<std::string> reply_topic_prefix;
  // The prefix in force: reply_topic_prefix or "<topic_prefix>/".
  std::string ReplyTopicPrefix() const {
    return reply_topic_prefix ? *reply_topic_prefix : topic_prefix + "/";
  }
  MqttInboxConfig inbox;
  MqttOutboxConfig outbox;

  bool operator==(const MqttConfig&) const = default;
};

// Reads the `mqtt:` mapping into `out` (keys not given keep their defaults).
core::Status ParseMqttConfig(const YamlReader& reader, const YAML::Node& node, MqttConfig* out);

// Reads a `tls:` mapping of an MQTT connection (mqtt.tls, uplink.tls);
// `where` names it in errors.
core::Status ParseMqttTlsConfig(const YamlReader& reader, const YAML::Node& node, std::string_view where,
                                MqttTlsConfig* out);

// Cross-field checks after flags were applied.
core::Status ValidateMqttConfig(const MqttConfig& config);

}  // namespace infergate::config
