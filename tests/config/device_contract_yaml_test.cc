#include <gtest/gtest.h>

#include "config/model_config_yaml.h"

namespace infergate::config {
namespace {

// A device section nested deeper than yaml-cpp's recursion limit is an error
// naming the file and line, never a crash (flow style and block style).
TEST(DeviceContractYamlTest, DeepNestingIsAnErrorNamingTheFile) {
  std::string flow = "device:\n  inputs: " + std::string(100000, '[') + std::string(100000, ']') + "\n";
  std::string block = "device:\n";
  for (int i = 0; i < 3000; ++i) block += std::string(2 * i + 2, ' ') + "k:\n";
  for (const std::string& yaml : {flow, block, "device: " + std::string(100000, '{')}) {
    auto c = ParseModelConfig(yaml, "models/m/config.yaml", "m");
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), core::StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find("models/m/config.yaml: line "), std::string::npos)
        << c.status().message();
    EXPECT_NE(c.status().message().find("nested deeper than the YAML parser allows"),
              std::string::npos)
        << c.status().message();
  }
}

TEST(DeviceContractYamlTest, ParsesEveryKey) {
  auto c = ParseModelConfig(R"(
device:
  id_field: meta.device
  timestamp_field: time
  reset_field: restart
  max_devices: 500
  idle_ttl_secs: 120
  inputs:
    - name: features
      fields:
        - temp
        - {name: rpm, path: motor.rpm, type: int, unit: 1/min, normalize: {min: 0, max: 3000}, missing: last, example: 1500}
        - {name: vib, length: 3, unit: g, normalize: {mean: 0, std: 0.7}, missing: {default: 0}}
  window: {length_secs: 0.128, hop_secs: 0.064, period_secs: 0.001, fill: zero, max_gap_secs: 2}
  state:
    - {input: h_in, output: h_out, initial: 0.5}
  result:
    output: probs
    kind: classes
    labels: [ok, worn]
    top_k: 2
    threshold: 0.6
    direction: above
    alert_label: worn
    normal_label: fine
    alert_labels: [worn]
    on: change
    fields: {device: id, label: state, score: p, alert: alarm, top_k: best, model: ~}
)",
                            "config.yaml", "m");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->device.has_value());
  const auto& d = *c->device;
  EXPECT_EQ(d.id_field, "meta.device");
  EXPECT_EQ(d.timestamp_field, "time");
  EXPECT_EQ(d.reset_field, "restart");
  EXPECT_EQ(d.max_devices, 500);
  EXPECT_EQ(d.idle_ttl_secs, 120);
  ASSERT_EQ(d.inputs.size(), 1u);
  const auto& f = d.inputs[0].fields;
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].name, "temp");
  EXPECT_EQ(f[0].path, "temp");
  EXPECT_EQ(f[0].missing, core::MissingPolicy::kReject);
  EXPECT_EQ(f[1].path, "motor.rpm");
  EXPECT_TRUE(f[1].integer);
  EXPECT_EQ(f[1].normalize.kind, core::FieldNormalization::Kind::kMinMax);
  EXPECT_EQ(f[1].missing, core::MissingPolicy::kLast);
  EXPECT_EQ(f[1].example, 1500);
  EXPECT_EQ(f[2].width(), 3);
  EXPECT_EQ(f[2].normalize.std, 0.7);
  EXPECT_EQ(f[2].missing, core::MissingPolicy::kDefault);
  EXPECT_EQ(d.window.kind, core::DeviceWindow::Kind::kTime);
  EXPECT_EQ(d.window.rows(), 128);
  EXPECT_EQ(d.window.fill, core::DeviceWindow::Fill::kZero);
  EXPECT_EQ(d.window.max_gap_secs, 2);
  ASSERT_EQ(d.state.size(), 1u);
  EXPECT_EQ(d.state[0].initial, 0.5);
  EXPECT_EQ(d.result.kind, core::DeviceResult::Kind::kClasses);
  EXPECT_EQ(d.result.top_k, 2);
  EXPECT_EQ(d.result.threshold, 0.6);
  EXPECT_EQ(d.result.on, core::DeviceResult::On::kChange);
  EXPECT_EQ(d.result.fields.label, "state");
  EXPECT_EQ(d.result.fields.model, "");
}

TEST(DeviceContractYamlTest, Defaults) {
  auto c = ParseModelConfig("device: {inputs: [{name: x, fields: [a]}]}\n", "config.yaml", "m");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const auto& d = *c->device;
  EXPECT_EQ(d.timestamp_field, "ts");
  EXPECT_EQ(d.reset_field, "reset");
  EXPECT_EQ(d.max_devices, 10000);
  EXPECT_EQ(d.idle_ttl_secs, 3600);
  EXPECT_EQ(d.window.kind, core::DeviceWindow::Kind::kNone);
  EXPECT_EQ(d.result.kind, core::DeviceResult::Kind::kScore);
  EXPECT_EQ(d.result.on, core::DeviceResult::On::kAlways);
  EXPECT_EQ(d.result.fields.label, "label");
  auto count = ParseModelConfig("device: {inputs: [{name: x, fields: [a]}], window: {count: 8}}\n",
                                "c", "m");
  EXPECT_EQ(count->device->window.hop, 8) << "hop defaults to count";
}

TEST(DeviceContractYamlTest, ConstantsScalarsAndNestedLists) {
  auto c = ParseModelConfig(R"(
device:
  seq_field: n
  max_backlog: 3
  inputs: [{name: x, fields: [a]}]
  constants:
    sr: {datatype: INT64, shape: [], value: 16000}
    w: {datatype: FP32, shape: [2, 3], value: [[1, 2, 3], [4, 5, 6]]}
  result: {fields: {seq: number, ts: ~}}
)",
                            "models/vad/config.yaml", "vad");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const auto& d = *c->device;
  EXPECT_EQ(d.seq_field, "n");
  EXPECT_EQ(d.max_backlog, 3);
  ASSERT_EQ(d.constants.size(), 2u);
  EXPECT_EQ(d.constants[0].input, "sr");
  EXPECT_EQ(d.constants[0].datatype, "INT64");
  EXPECT_TRUE(d.constants[0].shape.empty());
  EXPECT_EQ(d.constants[0].values, std::vector<double>{16000});
  EXPECT_EQ(d.constants[1].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(d.constants[1].values, (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(d.result.fields.seq, "number");
  EXPECT_EQ(d.result.fields.ts, "") << "~ leaves the field out";

  auto defaults = ParseModelConfig("device: {inputs: [{name: x, fields: [a]}]}\n", "c", "m");
  EXPECT_EQ(defaults->device->seq_field, "seq");
  EXPECT_EQ(defaults->device->max_backlog, 8);
  EXPECT_EQ(defaults->device->result.fields.seq, "seq");
  EXPECT_EQ(defaults->device->result.fields.ts, "ts");

  const std::pair<const char*, const char*> bad[] = {
      {"{sr: {datatype: INT64, shape: [2], value: [1, 2, 3]}}",
       "key 'device.constants.sr.value': expected a list of 2 at depth 0"},
      {"{sr: {datatype: INT64, shape: [], value: [1]}}",
       "key 'device.constants.sr.value': expected a number"},
      {"{sr: {datatype: INT65, value: 1}}", "key 'device.constants.sr.datatype': unknown datatype"},
      {"{sr: {datatype: INT64}}", "key 'device.constants.sr': a constant needs a datatype and a value"},
      {"{sr: {datatype: INT64, value: 1, unit: Hz}}", "unknown key"},
      {"[sr]", "key 'device.constants': expected {INPUT: {datatype, shape, value}, ...}"},
  };
  for (const auto& [constants, expect] : bad) {
    auto e = ParseModelConfig(
        std::string("device: {inputs: [{name: x, fields: [a]}], constants: ") + constants + "}\n",
        "models/vad/config.yaml", "vad");
    ASSERT_FALSE(e.ok()) << constants;
    EXPECT_NE(e.status().message().find("models/vad/config.yaml"), std::string::npos)
        << e.status().message();
    EXPECT_NE(e.status().message().find(expect), std::string::npos) << e.status().message();
  }
}

TEST(DeviceContractYamlTest, ErrorsNameLineAndKey) {
  struct Case {
    const char* yaml;
    const char* expect;
  };
  const Case cases[] = {
      {"device: {inputs: [{name: x, fields: [a]}], windw: {}}\n",
       "key 'windw': unknown key in device"},
      {"device: {window: {count: 4}}\n", "key 'device.inputs': the device section needs inputs"},
      {"device:\n  inputs: [{name: x, fields: [{name: a, type: double}]}]\n",
       "line 2: key 'device.inputs.x.fields.a.type': expected float or int, got 'double'"},
      {"device: {inputs: [{name: x, fields: [{name: a, normalize: {mean: 0}}]}]}\n",
       "give both mean and std"},
      {"device: {inputs: [{name: x, fields: [{name: a, normalize: {mean: 0, std: 0}}]}]}\n",
       "a std > 0"},
      {"device: {inputs: [{name: x, fields: [{name: a, normalize: {min: 1, max: 1}}]}]}\n",
       "expected finite min < max"},
      {"device: {inputs: [{name: x, fields: [{name: a, normalize: {mean: 0, std: 1, min: 0, max: "
       "1}}]}]}\n",
       "give {mean, std} or {min, max}"},
      {"device: {inputs: [{name: x, fields: [{name: a, missing: sometimes}]}]}\n",
       "expected reject, last or {default: VALUE}, got 'sometimes'"},
      {"device: {inputs: [{name: x, fields: [{name: a, path: .b}]}]}\n", "expected a dotted path"},
      {"device: {inputs: [{name: x, fields: []}]}\n",
       "key 'device.inputs.x.fields': expected a list of fields"},
      {"device: {inputs: [{name: x, fields: [a]}], window: {count: 4, hop: 5}}\n",
       "key 'device.window.hop': expected an integer from 1 to 4, got 5"},
      {"device: {inputs: [{name: x, fields: [a]}], window: {count: 4, length_secs: 1}}\n",
       "give a count window"},
      {"device: {inputs: [{name: x, fields: [a]}], window: {length_secs: 1, period_secs: 0.3}}\n",
       "must be a whole multiple of period_secs"},
      // A reading's slot is its time in periods as an int64: times up to 1e11 s need periods >= 1 us.
      {"device: {inputs: [{name: x, fields: [a]}], window: {length_secs: 1e-7, period_secs: 1e-9}}\n",
       "key 'device.window.period_secs': expected at least 0.000001 s (a microsecond)"},
      {"device: {inputs: [{name: x, fields: [a]}], window: {length_secs: 1, period_secs: 0.1, "
       "hop_secs: 2}}\n",
       "key 'device.window.hop_secs'"},
      {"device: {inputs: [{name: x, fields: [a]}], window: {length_secs: 1, period_secs: 0.1, "
       "fill: linear}}\n",
       "expected previous or zero, got 'linear'"},
      {"device: {inputs: [{name: x, fields: [a]}], max_devices: 0}\n", "key 'device.max_devices'"},
      {"device: {inputs: [{name: x, fields: [a]}], idle_ttl_secs: 0}\n",
       "key 'device.idle_ttl_secs': expected seconds > 0"},
      {"device: {inputs: [{name: x, fields: [a]}], state: [{input: h}]}\n",
       "every state needs an input and an output"},
      {"device: {inputs: [{name: x, fields: [a]}], result: {on: sometimes}}\n",
       "expected always, change or threshold, got 'sometimes'"},
      {"device: {inputs: [{name: x, fields: [a]}], result: {on: threshold}}\n",
       "on: threshold needs a threshold"},
      {"device: {inputs: [{name: x, fields: [a]}], result: {labels: [a], on: threshold}}\n",
       "on: threshold with classes needs alert_labels"},
      {"device: {inputs: [{name: x, fields: [a]}], result: {labels: [a, b], alert_labels: [c]}}\n",
       "'c' is not one of labels"},
      {"device: {inputs: [{name: x, fields: [a]}], result: {kind: regression}}\n",
       "expected score or classes"},
      {"device: {inputs: [{name: x, fields: [a]}], result: {direction: up, threshold: 1}}\n",
       "expected above or below"},
      {"device: {inputs: [{name: x, fields: [a]}], result: {fields: {lable: l}}}\n",
       "key 'lable': unknown key in device.result.fields"},
  };
  for (const auto& c : cases) {
    auto r = ParseModelConfig(c.yaml, "config.yaml", "m");
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_EQ(r.status().code(), core::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos)
        << "yaml: " << c.yaml << "\nmessage: " << r.status().message();
  }
}

}  // namespace
}  // namespace infergate::config
