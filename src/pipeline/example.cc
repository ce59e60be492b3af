#include "pipeline/example.h"

#include <string>
#include <vector>

namespace infergate::pipeline {

Telemetry ExampleReading(const core::DeviceContract& contract, std::string_view device_id,
                         double ts) {
  Telemetry t;
  if (!contract.id_field.empty()) t.fields[contract.id_field] = std::string(device_id);
  for (const auto& in : contract.inputs) {
    for (const auto& f : in.fields) {
      double v = 0;
      if (f.example) {
        v = *f.example;
      } else if (f.normalize.kind == core::FieldNormalization::Kind::kMeanStd) {
        v = f.normalize.mean;
      } else if (f.normalize.kind == core::FieldNormalization::Kind::kMinMax) {
        v = f.normalize.min;
      }
      if (f.length > 0) {
        t.fields[f.path] = std::vector<double>(static_cast<size_t>(f.length), v);
      } else {
        t.fields[f.path] = v;
      }
    }
  }
  if (!contract.timestamp_field.empty()) t.fields[contract.timestamp_field] = ts;
  return t;
}

}  // namespace infergate::pipeline
