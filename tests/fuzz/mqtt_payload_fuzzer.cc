// MQTT messages as the MQTT frontend reads them: the topic matched against
// the routes (route.h: configured routes with captures, the default route
// and the default telemetry route), the reply topic expanded from the
// captures, and the payload decoded as the route says (codec.h: v2 JSON or
// raw tensor bytes; telemetry JSON through protocol::TelemetryDecoder, as
// mqtt_telemetry.cc does); the decoded inputs encoded back as the reply, and
// the error reply.
//
// Input: "<topic>\0<payload>" (a topic never holds NUL); no NUL: the whole
// input is the payload on the default route's topic.
#include <memory>
#include <string>

#include "config/mqtt_config.h"
#include "frontends/mqtt/codec.h"
#include "frontends/mqtt/route.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/request_model.h"
#include "protocol/telemetry_json.h"

namespace infergate::fuzz {
namespace {

std::vector<mqtt::Route> Routes() {
  config::MqttConfig c;
  c.broker = "mqtt://localhost:1883";
  c.topic_prefix = "ig";
  config::MqttRouteConfig raw;
  raw.topic = "plant/+device/+line/raw";
  raw.model = "vib";
  raw.version = 2;
  raw.format = config::PayloadFormat::kRaw;
  raw.input = {"accel", "FP32", {1, 4}};
  raw.reply_topic = "plant/{device}/{line}/{model}/out";
  config::MqttRouteConfig raw16 = raw;
  raw16.topic = "plant/+device/raw16";
  raw16.input = {"x", "INT16", {2, 3}};
  raw16.reply_topic = "plant/{device}/out16";
  config::MqttRouteConfig v2;
  v2.topic = "site/#rest";
  v2.model = "m";
  v2.reply_topic = "replies/{rest}";
  config::MqttRouteConfig telemetry;
  telemetry.topic = "tele/+device";
  telemetry.model = "pm";
  telemetry.format = config::PayloadFormat::kTelemetry;
  telemetry.reply_topic = "tele/{device}/result";
  c.routes = {raw, raw16, v2, telemetry};
  auto routes = mqtt::BuildRoutes(c);
  if (!routes.ok()) __builtin_trap();  // the fuzzer's own routes must build
  return std::move(*routes);
}

void Run(std::string_view in) {
  static const std::vector<mqtt::Route> routes = Routes();
  static mqtt::RequestDecoder decoder;
  static protocol::TelemetryDecoder telemetry_decoder;

  std::string_view topic = "ig/models/m/infer";
  if (const size_t nul = in.find('\0'); nul != std::string_view::npos) {
    topic = in.substr(0, nul);
    in.remove_prefix(nul + 1);
  }
  // The best-effort scan for the id and reply parameters of what does not parse.
  mqtt::ScannedFields scanned = mqtt::ScanReplyFields(in);
  if (!scanned.reply_topic.empty()) (void)mqtt::CheckReplyTopic(scanned.reply_topic, "");
  auto match = mqtt::MatchRoute(routes, topic);
  if (!match) return;
  mqtt::Captures values = match->captures;
  values.emplace_back("model", match->route->ModelFor(match->captures));
  (void)match->route->reply_topic.Expand(values);

  if (match->route->format == config::PayloadFormat::kTelemetry) {
    pipeline::Telemetry telemetry;
    (void)telemetry_decoder.Decode(in, &telemetry);
    return;
  }
  // As the MQTT client hands it over: a string of exactly the payload.
  auto payload = std::make_shared<const std::string>(in);
  auto request = decoder.Decode(*match->route, match->captures, payload);
  if (!request.ok()) {
    (void)mqtt::EncodeError(request.status(), {scanned.id, scanned.correlation_id, 1000});
    return;
  }
  if (auto reply = mqtt::TakeReplyParameters(&(*request)->parameters); reply.ok() && !reply->reply_topic.empty()) {
    (void)mqtt::CheckReplyTopic(reply->reply_topic, "");
  }
  (void)mqtt::EncodeError(core::Unavailable("busy"), (*request)->id);
  (void)mqtt::EncodeResponse(EchoResponse(**request));
}

}  // namespace
}  // namespace infergate::fuzz

INFERGATE_FUZZ_TARGET(infergate::fuzz::Run)
