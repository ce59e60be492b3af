#include "pipeline/readings.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "pipeline/contract_fixture.h"

namespace infergate::pipeline {
namespace {

ContractPlan ClassifierPlan() {
  auto plan = PlanContract(testing::ConfigFromYaml(testing::kClassifierYaml), 1);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return *plan;
}

Telemetry Reading(double temp, double rpm, double load) {
  Telemetry t;
  t.fields["sensors.temp"] = temp;
  t.fields["rpm"] = rpm;
  t.fields["load"] = load;
  return t;
}

TEST(ReadingsTest, NormalisesEachFieldInOrder) {
  Reject reason{};
  auto r = ExtractReadings(ClassifierPlan(), Reading(30, 1500, 0.25), nullptr, &reason);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->count, 1);
  EXPECT_EQ(r->values, (std::vector<double>{2.0, 0.5, 0.25}));  // (30-20)/5, 1500/3000, raw
  EXPECT_FALSE(r->timestamp.has_value());
}

TEST(ReadingsTest, MissingFieldPolicies) {
  auto plan = ClassifierPlan();
  Reject reason{};
  Telemetry t = Reading(20, 3000, 0);
  t.fields.erase("load");  // missing: {default: 0.5}
  auto r = ExtractReadings(plan, t, nullptr, &reason);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->values[2], 0.5);

  t.fields.erase("rpm");  // missing: last
  auto no_last = ExtractReadings(plan, t, nullptr, &reason);
  EXPECT_NE(no_last.status().message().find(
                "field 'rpm' is missing and the device sent no earlier value"),
            std::string::npos);
  EXPECT_EQ(reason, Reject::kMissingField);
  const std::vector<double> last = {9, 0.75, 9};
  auto with_last = ExtractReadings(plan, t, &last, &reason);
  ASSERT_TRUE(with_last.ok());
  EXPECT_EQ(with_last->values[1], 0.75);
}

struct BadTelemetry {
  const char* what;
  Telemetry telemetry;
  Reject reason;
  const char* expect;
};

TEST(ReadingsTest, EveryBadTelemetryCaseNamesTheField) {
  auto with = [](const char* path, Telemetry::Value v) {
    Telemetry t = Reading(20, 1000, 0);
    t.fields[path] = std::move(v);
    return t;
  };
  Telemetry missing = Reading(20, 1000, 0);
  missing.fields.erase("sensors.temp");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Telemetry burst_with_nan;  // two readings in one message, the second load NaN
  burst_with_nan.fields["sensors.temp"] = std::vector<double>{20, 21};
  burst_with_nan.fields["rpm"] = std::vector<double>{1000, 1000};
  burst_with_nan.fields["load"] = std::vector<double>{1, nan};
  const BadTelemetry cases[] = {
      {"missing", missing, Reject::kMissingField, "field 'sensors.temp' is missing"},
      {"string", with("sensors.temp", std::string("hot")), Reject::kWrongType,
       "field 'sensors.temp': expected a number, got a string"},
      {"not an integer", with("rpm", 1500.5), Reject::kWrongType,
       "field 'rpm': expected an integer, got 1500.5"},
      {"NaN", with("sensors.temp", nan), Reject::kNotFinite,
       "field 'sensors.temp': NaN is not a valid reading"},
      {"infinity", with("load", std::numeric_limits<double>::infinity()), Reject::kNotFinite,
       "field 'load': infinity"},
      {"NaN inside a burst", burst_with_nan, Reject::kNotFinite, "field 'load': NaN"},
      {"empty array", with("load", std::vector<double>{}), Reject::kWrongLength,
       "field 'load': expected a number per reading, got an array of 0"},
      {"burst lengths disagree", with("load", std::vector<double>{1, 2}), Reject::kWrongLength,
       "field 'load': holds 2 reading(s), but field 'rpm' holds 1"},
      {"timestamp not a number", with("ts", std::string("noon")), Reject::kWrongType,
       "field 'ts': expected a number, got a string"},
  };
  for (const auto& c : cases) {
    Reject reason{};
    auto r = ExtractReadings(ClassifierPlan(), c.telemetry, nullptr, &reason);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().code(), core::StatusCode::kInvalidArgument) << c.what;
    EXPECT_EQ(reason, c.reason) << c.what;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos)
        << c.what << ": " << r.status().message();
  }
}

TEST(ReadingsTest, ArrayFieldsAndBursts) {
  auto plan = PlanContract(testing::ConfigFromYaml(R"(
input: [{name: accel, data_type: FP32, dims: [4, 3]}]
output: [{name: s, data_type: FP32, dims: [1]}]
device:
  inputs: [{name: accel, fields: [{name: xyz, length: 3}]}]
  window: {count: 4}
)"),
                           1);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  Reject reason{};
  Telemetry t;
  t.fields["xyz"] = std::vector<double>{1, 2, 3, 4, 5, 6};  // two readings
  auto r = ExtractReadings(*plan, t, nullptr, &reason);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->count, 2);
  t.fields["xyz"] = std::vector<double>{1, 2, 3, 4};
  auto bad = ExtractReadings(*plan, t, nullptr, &reason);
  EXPECT_NE(
      bad.status().message().find("field 'xyz': expected 3 numbers per reading, got an array of 4"),
      std::string::npos)
      << bad.status().message();
  EXPECT_EQ(reason, Reject::kWrongLength);
  t.fields["xyz"] = 1.0;
  bad = ExtractReadings(*plan, t, nullptr, &reason);
  EXPECT_NE(
      bad.status().message().find("field 'xyz': expected an array of 3 numbers, got a number"),
      std::string::npos);
}

TEST(ReadingsTest, DeviceIdFromFieldOrRoute) {
  core::DeviceContract c;
  Telemetry t;
  EXPECT_EQ(*DeviceIdOf(c, "pump-7", t), "pump-7");
  EXPECT_FALSE(DeviceIdOf(c, "", t).ok());
  c.id_field = "meta.id";
  t.fields["meta.id"] = 42.0;
  EXPECT_EQ(*DeviceIdOf(c, "", t), "42");
  t.fields["meta.id"] = std::vector<double>{1};
  auto bad = DeviceIdOf(c, "", t);
  EXPECT_NE(bad.status().message().find("field 'meta.id': expected a string or a whole number"),
            std::string::npos);
}

}  // namespace
}  // namespace infergate::pipeline
