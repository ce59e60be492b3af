// Routes: which topics feed which model, how their payload is read and where
// the reply goes. Built from the `mqtt:` config; immutable once built (a
// reload builds a new set, MqttFrontend::UpdateRoutes).
//
//   default route  <prefix>/models/+model/infer  -> model from the topic,
//                  v2 JSON in, reply to <prefix>/models/{model}/result
//   default telemetry route  <prefix>/devices/+device/+model -> telemetry
//                  through the model's device contract, results to
//                  <prefix>/devices/{device}/{model}/result
//   configured     e.g. plant/+device/vibration   -> vibration_anomaly,
//                  reply to plant/{device}/anomaly
//
// Thread-safety: immutable after BuildRoutes; used from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/mqtt_config.h"
#include "core/datatype.h"
#include "core/shape.h"
#include "core/status.h"
#include "frontends/mqtt/topic_pattern.h"

namespace infergate::mqtt {

struct Route {
  TopicPattern pattern;
  TopicTemplate reply_topic;  // names: the captures and {model}
  std::string model;          // empty: the `model` capture names it (default route)
  int64_t version = 0;
  config::PayloadFormat format = config::PayloadFormat::kV2Json;
  // format raw: the one input the payload bytes fill
  std::string raw_input;
  core::DataType raw_dtype = core::DataType::kInvalid;
  core::Shape raw_shape;
  int qos = 1;
  bool retain = false;
  std::string name;  // "route 0 (plant/+device/vibration)" or "default route", for logs

  // The model a message on a topic with `captures` asks for.
  std::string ModelFor(const Captures& captures) const;
};

// Configured routes first (in file order), then the default route and the
// default telemetry route when enabled. Errors name the route and the key.
core::StatusOr<std::vector<Route>> BuildRoutes(const config::MqttConfig& config);

struct RouteMatch {
  const Route* route;
  Captures captures;
};
// The first route whose filter matches `topic`.
std::optional<RouteMatch> MatchRoute(const std::vector<Route>& routes, std::string_view topic);

// The longest reply topic a request may name, bytes (MQTT allows 65,535).
inline constexpr size_t kMaxReplyTopicBytes = 1024;

// Whether a request may name `topic` (the "reply_topic" parameter) as its
// reply topic: a topic name (not empty, no wildcards, no NUL, not a '$'
// system topic, at most kMaxReplyTopicBytes) starting with `prefix` ("" =
// any). Errors say why.
core::Status CheckReplyTopic(std::string_view topic, std::string_view prefix);

}  // namespace infergate::mqtt
