#include "frontends/mqtt/route.h"

namespace infergate::mqtt {
namespace {

core::StatusOr<Route> BuildOne(const config::MqttRouteConfig& c, size_t index) {
  Route r;
  r.name = "mqtt.routes[" + std::to_string(index) + "] (" + c.topic + ")";
  auto fail = [&](const core::Status& st) { return st.WithPrefix(r.name); };
  auto pattern = TopicPattern::Parse(c.topic);
  if (!pattern.ok()) return fail(pattern.status());
  r.pattern = std::move(*pattern);
  auto names = r.pattern.capture_names();
  names.push_back("model");
  // A telemetry reply may name the device even when the topic does not
  // capture it (the contract's id_field gives it).
  if (c.format == config::PayloadFormat::kTelemetry) names.push_back("device");
  auto reply = TopicTemplate::Parse(c.reply_topic, names);
  if (!reply.ok()) return fail(reply.status());
  r.reply_topic = std::move(*reply);
  r.model = c.model;
  r.version = c.version;
  r.format = c.format;
  r.qos = c.qos;
  r.retain = c.retain;
  if (c.format == config::PayloadFormat::kRaw) {
    r.raw_input = c.input.name;
    r.raw_dtype = core::DataTypeFromName(c.input.datatype);
    if (r.raw_dtype == core::DataType::kInvalid || r.raw_dtype == core::DataType::kBytes) {
      return fail(core::InvalidArgument("input.datatype '" + c.input.datatype +
                                        "' is not a fixed-size tensor type (FP32, INT64, ...)"));
    }
    r.raw_shape = core::Shape(c.input.shape.begin(), c.input.shape.end());
  }
  return r;
}

}  // namespace

std::string Route::ModelFor(const Captures& captures) const {
  if (!model.empty()) return model;
  const std::string* m = FindCapture(captures, "model");
  return m ? *m : "";
}

core::StatusOr<std::vector<Route>> BuildRoutes(const config::MqttConfig& config) {
  std::vector<Route> routes;
  for (size_t i = 0; i < config.routes.size(); ++i) {
    ASSIGN_OR_RETURN(Route r, BuildOne(config.routes[i], i));
    routes.push_back(std::move(r));
  }
  if (config.default_route) {
    config::MqttRouteConfig d;
    d.topic = config.topic_prefix + "/models/+model/infer";
    d.reply_topic = config.topic_prefix + "/models/{model}/result";
    d.qos = config.default_qos;
    ASSIGN_OR_RETURN(Route r, BuildOne(d, config.routes.size()));
    r.name = "default route (" + d.topic + ")";
    routes.push_back(std::move(r));
  }
  if (config.default_telemetry_route) {
    config::MqttRouteConfig d;
    d.topic = config.topic_prefix + "/devices/+device/+model";
    d.reply_topic = config.topic_prefix + "/devices/{device}/{model}/result";
    d.format = config::PayloadFormat::kTelemetry;
    d.qos = config.default_qos;
    ASSIGN_OR_RETURN(Route r, BuildOne(d, routes.size()));
    r.name = "default telemetry route (" + d.topic + ")";
    routes.push_back(std::move(r));
  }
  return routes;
}

std::optional<RouteMatch> MatchRoute(const std::vector<Route>& routes, std::string_view topic) {
  for (const auto& r : routes) {
    if (auto captures = r.pattern.Match(topic)) return RouteMatch{&r, std::move(*captures)};
  }
  return std::nullopt;
}

core::Status CheckReplyTopic(std::string_view topic, std::string_view prefix) {
  auto refuse = [&](std::string_view why) {
    return core::InvalidArgument("parameter 'reply_topic' " + std::string(why));
  };
  if (topic.empty()) return refuse("is empty");
  if (topic.size() > kMaxReplyTopicBytes) {
    return refuse("is longer than " + std::to_string(kMaxReplyTopicBytes) + " bytes");
  }
  if (topic.find_first_of("+#") != std::string_view::npos) return refuse("must not contain wildcards");
  for (char c : topic) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return refuse("must not contain control characters");
  }
  if (topic[0] == '$') return refuse("must not name a '$' system topic");
  if (!topic.starts_with(prefix)) {
    return refuse("must start with '" + std::string(prefix) + "' (mqtt.reply_topic_prefix)");
  }
  return core::Status::Ok();
}

}  // namespace infergate::mqtt
