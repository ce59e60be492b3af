// The `uplink:` section of infergate.yaml: a second MQTT connection, to the
// IoT platform's (cloud) broker, that device results are copied to through
// a durable outbox (src/edge/uplink.h). Off while `broker` is empty.
// docs/configuration.md and examples/infergate.yaml list every key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/mqtt_config.h"
#include "core/status.h"

namespace YAML {
class Node;
}

namespace infergate::config {

class YamlReader;

// Which device results are copied to the uplink.
enum class UplinkForward {
  kAlerts,   // results whose `alert` is true (the contract's threshold)
  kResults,  // every result the contract's on: rule lets through
  kNone,     // none (the connection and its status topic only)
};
std::string_view UplinkForwardName(UplinkForward forward);

// `uplink.outbox:`: where forwarded results wait until the cloud broker has them.
struct UplinkOutboxConfig {
  std::string path;                 // empty: <state_dir>/uplink-outbox.db
  int64_t max_bytes = 256ll << 20;  // beyond: the oldest are dropped (counted)
  int64_t max_age_secs = 604800;    // older: dropped (counted); 0: no limit
  int64_t max_records = 1000000;

  bool operator==(const UplinkOutboxConfig&) const = default;
};

struct UplinkConfig {
  std::string broker;                  // mqtt://host:port or mqtts://host:port; empty: no uplink
  std::string client_id;               // empty: "<mqtt client id>-uplink"
  std::string protocol_version = "5";  // "5" or "3.1.1"
  std::string username;
  std::string password;
  MqttTlsConfig tls;  // as for mqtt:
  int keepalive_secs = 30;
  std::string topic_prefix;  // required: uplink topic = prefix + '/' + local result topic
  UplinkForward forward = UplinkForward::kAlerts;
  int qos = 1;               // 1 or 2: the outbox keeps what the broker has not acknowledged
  double max_rate = 1000;    // messages/s a backlog drains on top of live results; 0: unlimited
  std::string status_topic;  // empty: <topic_prefix>/status
  double reconnect_min_secs = 0.5;
  double reconnect_max_secs = 30.0;
  UplinkOutboxConfig outbox;

  bool enabled() const { return !broker.empty(); }
  // The retained status topic in force.
  std::string StatusTopic() const {
    return status_topic.empty() ? topic_prefix + "/status" : status_topic;
  }

  bool operator==(const UplinkConfig&) const = default;
};

// Reads the `uplink:` mapping into `out` (keys not given keep their defaults).
core::Status ParseUplinkConfig(const YamlReader& reader, const YAML::Node& node, UplinkConfig* out);

// Cross-field checks after flags were applied; `has_state_dir`: a state
// directory is configured (the outbox's default folder).
core::Status ValidateUplinkConfig(const UplinkConfig& config, bool has_state_dir);

}  // namespace infergate::config
