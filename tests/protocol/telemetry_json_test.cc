#include "protocol/telemetry_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace infergate::protocol {
namespace {

using pipeline::Telemetry;

TEST(TelemetryJsonTest, FlattensObjectsAndKeepsTypes) {
  auto t = DecodeTelemetry(
      R"({"ts": 12.5, "id": "pump-7", "sensors": {"vib": [0.1, [0.2, 0.3]], "ok": true,
                               "deep": {"x": -4}}, "gone": null})");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(std::get<double>(t->fields.at("ts")), 12.5);
  EXPECT_EQ(std::get<std::string>(t->fields.at("id")), "pump-7");
  EXPECT_EQ(std::get<std::vector<double>>(t->fields.at("sensors.vib")),
            (std::vector<double>{0.1, 0.2, 0.3}));
  EXPECT_EQ(std::get<double>(t->fields.at("sensors.ok")), 1.0);
  EXPECT_EQ(std::get<double>(t->fields.at("sensors.deep.x")), -4.0);
  EXPECT_EQ(t->fields.count("gone"), 0u) << "null is absent";
}

TEST(TelemetryJsonTest, BadBodiesAreErrors) {
  struct Case {
    const char* body;
    core::StatusCode code;
    const char* expect;
  };
  const Case cases[] = {
      {R"({"a": 1,)", core::StatusCode::kInvalidArgument, "not valid JSON"},
      {"[1, 2]", core::StatusCode::kInvalidArgument, "must be a JSON object"},
      {"", core::StatusCode::kInvalidArgument, "not valid JSON"},
      {R"({"a": 1} {"b": 2})", core::StatusCode::kInvalidArgument, "trailing content"},
      {R"({"vib": [1, "x"]})", core::StatusCode::kInvalidArgument,
       "field 'vib': an array may hold only numbers; element 1"},
      {R"({"vib": [1, {"a": 2}]})", core::StatusCode::kInvalidArgument, "field 'vib'"},
      {R"({"a": tru})", core::StatusCode::kInvalidArgument, "not valid JSON"},
  };
  for (const auto& c : cases) {
    auto t = DecodeTelemetry(c.body);
    ASSERT_FALSE(t.ok()) << c.body;
    EXPECT_EQ(t.status().code(), c.code) << c.body;
    EXPECT_NE(t.status().message().find(c.expect), std::string::npos)
        << c.body << ": " << t.status().message();
  }
}

TEST(TelemetryJsonTest, EveryTruncationIsAnError) {
  const std::string body = R"({"ts": 1.5, "s": {"v": [1, [2, 3]], "ok": false}, "id": "x\"y"})";
  ASSERT_TRUE(DecodeTelemetry(body).ok());
  TelemetryDecoder decoder;
  Telemetry t;
  for (size_t n = 0; n < body.size(); ++n) {
    EXPECT_EQ(decoder.Decode(body.substr(0, n), &t).code(), core::StatusCode::kInvalidArgument)
        << body.substr(0, n);
  }
}

TEST(TelemetryJsonTest, Limits) {
  TelemetryLimits limits;
  limits.max_fields = 2;
  limits.max_array_elements = 3;
  limits.max_depth = 2;
  EXPECT_EQ(DecodeTelemetry(R"({"a": 1, "b": 2, "c": 3})", limits).status().code(),
            core::StatusCode::kResourceExhausted);
  EXPECT_EQ(DecodeTelemetry(R"({"a": [1, 2, 3, 4]})", limits).status().code(),
            core::StatusCode::kResourceExhausted);
  EXPECT_EQ(DecodeTelemetry(R"({"a": {"b": {"c": {"d": 1}}}})", limits).status().code(),
            core::StatusCode::kResourceExhausted);
  EXPECT_TRUE(DecodeTelemetry(R"({"a": [1, 2, 3], "b": {"c": 1}})", limits).ok());
}

// The flattening walk is recursive; its depth limit keeps the stack bounded
// whatever a device sends.
TEST(TelemetryJsonTest, DeepNestingIsRefusedNotACrash) {
  const size_t n = 200000;
  std::string objects;
  for (size_t i = 0; i < n; ++i) objects += R"({"k":)";
  objects += "1" + std::string(n, '}');
  for (const std::string& body :
       {R"({"a": )" + std::string(n, '[') + "1" + std::string(n, ']') + "}", objects}) {
    auto t = DecodeTelemetry(body);
    EXPECT_EQ(t.status().code(), core::StatusCode::kResourceExhausted);
    EXPECT_NE(t.status().message().find("nests deeper than 16"), std::string::npos) << t.status().message();
  }
  EXPECT_EQ(DecodeTelemetry(R"({"a": )" + std::string(n, '[')).status().code(),
            core::StatusCode::kInvalidArgument);  // unterminated: malformed
}

TEST(TelemetryJsonTest, DecoderIsReusedAcrossMessages) {
  TelemetryDecoder decoder;
  Telemetry t;
  ASSERT_TRUE(decoder.Decode(R"({"a": 1, "b": 2})", &t).ok());
  ASSERT_TRUE(decoder.Decode(R"({"c": 3})", &t).ok());
  EXPECT_EQ(t.fields.size(), 1u) << "each decode starts empty";
}

TEST(TelemetryJsonTest, EncodeTelemetryNestsPathsAndRoundTrips) {
  Telemetry t;
  t.fields["sensors.temp"] = 21.5;
  t.fields["sensors.vib"] = std::vector<double>{0.5, -1};
  t.fields["id"] = std::string("a\"b");
  const std::string json = EncodeTelemetry(t);
  EXPECT_EQ(
      nlohmann::json::parse(json),
      nlohmann::json::parse(R"({"id": "a\"b", "sensors": {"temp": 21.5, "vib": [0.5, -1]}})"));
  auto back = DecodeTelemetry(json);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->fields, t.fields);
}

TEST(TelemetryJsonTest, EncodeResultSaysTheTierWhenThereIsOne) {
  pipeline::Result r;
  r.device_id = "d";
  r.label = "normal";
  EXPECT_EQ(EncodeResult(r).find("tier"), std::string::npos);
  r.tier = "cloud";
  EXPECT_EQ(nlohmann::json::parse(EncodeResult(r))["tier"], "cloud");
  EXPECT_FALSE(nlohmann::json::parse(EncodeResult(r)).contains("escalation"));
  r.tier = "edge";
  r.escalation = "unavailable";
  auto json = nlohmann::json::parse(EncodeResult(r));
  EXPECT_EQ(json["tier"], "edge");
  EXPECT_EQ(json["escalation"], "unavailable");
}

TEST(TelemetryJsonTest, EncodeResultUsesTheContractsFieldNames) {
  pipeline::Result r;
  r.device_id = "pump-7";
  r.model_name = "predictive_maintenance";
  r.label = "bearing_wear";
  r.score = 0.75;
  r.alert = true;
  r.top_k = {{"bearing_wear", 0.75}, {"normal", 0.25}};
  r.seq = 17;
  r.ts = 1796676063.125;
  EXPECT_EQ(nlohmann::json::parse(EncodeResult(r)), nlohmann::json::parse(R"({
    "device": "pump-7", "label": "bearing_wear", "score": 0.75, "alert": true,
    "top_k": [{"label": "bearing_wear", "score": 0.75}, {"label": "normal", "score": 0.25}],
    "model": "predictive_maintenance", "seq": 17, "ts": 1796676063.125})"));
  EXPECT_NE(EncodeResult(r).find(R"("seq":17,"ts":1796676063.125)"), std::string::npos)
      << "the reading's time in seconds, every digit kept: " << EncodeResult(r);
  r.fields.score = "anomaly_score";
  r.fields.model = "";
  r.fields.top_k = "";
  r.fields.seq = "reading";
  r.fields.ts = "";
  EXPECT_EQ(nlohmann::json::parse(EncodeResult(r)),
            nlohmann::json::parse(R"({"device": "pump-7", "label": "bearing_wear",
                                      "anomaly_score": 0.75, "alert": true, "reading": 17})"));
}

}  // namespace
}  // namespace infergate::protocol
