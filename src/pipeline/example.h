// Example telemetry for a contract, so `infergate inspect` can show what a
// device sends, what the model then sees and what the device is told.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "core/device_contract.h"
#include "pipeline/telemetry.h"

namespace infergate::pipeline {

// One reading with every field at its example value (the field's `example`,
// else its normalisation mean or min, else 0; arrays repeat it), the device
// id under id_field when there is one, and `ts` under timestamp_field.
Telemetry ExampleReading(const core::DeviceContract& contract, std::string_view device_id,
                         double ts);

}  // namespace infergate::pipeline
