// What changed in the `mqtt:` section between two reads of the config file
// (SIGHUP), key by key, and which of those keys the running MQTT frontend
// applies without a restart (its routes: MqttFrontend::UpdateRoutes).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/mqtt_config.h"

namespace infergate::config {

// The `mqtt:` keys whose values differ between `a` and `b`, as "mqtt.<key>"
// in the order of the reference ("mqtt.broker", ..., "mqtt.routes",
// "mqtt.inbox"); a nested section is one key ("mqtt.tls", "mqtt.inbox").
// Sections that differ only in a key this function does not name yield
// "mqtt", so that no change goes unreported.
std::vector<std::string> ChangedMqttKeys(const MqttConfig& a, const MqttConfig& b);

// True for the keys that make up the routes ("mqtt.routes",
// "mqtt.default_route", "mqtt.default_telemetry_route", "mqtt.default_qos"):
// the ones a running frontend applies.
bool IsMqttRouteKey(std::string_view key);

// `running` with the route keys of `fresh`: the config the frontend serves
// after applying new routes while every other key keeps its running value
// (those apply only at a restart).
MqttConfig WithRoutesOf(const MqttConfig& running, const MqttConfig& fresh);

}  // namespace infergate::config
