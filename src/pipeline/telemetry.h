// Telemetry: one message from a device, as transport-neutral values. A
// frontend's codec (JSON over MQTT or HTTP, later CBOR) decodes into it;
// nested objects are flattened into dotted paths ({"sensors": {"vib": 1}}
// is the path "sensors.vib"), so the pipeline never sees a wire format.
//
// Thread-safety: a plain value.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace infergate::pipeline {

struct Telemetry {
  // A number (booleans arrive as 0 or 1), a flat array of numbers (nested
  // arrays are flattened in order), or a string.
  using Value = std::variant<double, std::vector<double>, std::string>;

  std::map<std::string, Value, std::less<>> fields;
  // The reading's time, Unix time in seconds, when the transport knows it
  // (else the contract's timestamp_field, else the arrival time by the
  // runner's wall clock is used).
  std::optional<double> timestamp_secs;

  const Value* Find(std::string_view path) const {
    auto it = fields.find(path);
    return it == fields.end() ? nullptr : &it->second;
  }
};

// "a number", "an array of 3 numbers", "a string".
std::string DescribeValue(const Telemetry::Value& value);

}  // namespace infergate::pipeline
