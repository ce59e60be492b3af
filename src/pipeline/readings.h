// One message's telemetry -> rows of numbers, one row per reading, in the
// order the contract lists its inputs and fields. Checks every value: a
// missing field (under missing: reject), a wrong type, NaN or infinity, an
// array of the wrong length; each error names the field's telemetry path.
//
// A message may carry several readings at once: a scalar field given as an
// array of k numbers, or a field of length L given k * L numbers, is k
// readings; every field of the message must agree on k.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "pipeline/plan.h"
#include "pipeline/telemetry.h"

namespace infergate::pipeline {

// Why telemetry was refused; the label of the rejected-telemetry counter.
enum class Reject {
  kMissingField,
  kWrongType,
  kNotFinite,
  kWrongLength,
  kLate,        // older than a window already sent
  kMaxDevices,  // the device table is full
  kNoDeviceId,
  kBacklog,  // a stateful device has too many windows waiting for its state
};
inline constexpr Reject kAllRejects[] = {
    Reject::kMissingField, Reject::kWrongType,  Reject::kNotFinite,  Reject::kWrongLength,
    Reject::kLate,         Reject::kMaxDevices, Reject::kNoDeviceId, Reject::kBacklog};
std::string_view RejectName(Reject reason);  // "missing_field", ...

// The largest reading time accepted, in seconds either side of zero (about
// the year 5100 as Unix time); later or non-finite times are refused.
inline constexpr double kMaxTimestampSecs = 1e11;

struct Readings {
  int64_t count = 0;                // readings (rows)
  std::vector<double> values;       // count * plan.row_width, normalised
  std::optional<double> timestamp;  // seconds, of the first reading
  std::optional<int64_t> seq;       // contract.seq_field: the first reading's sequence number
  bool reset = false;               // the reset field was set
};

// `last_row` is the device's previous reading (plan.row_width values) or
// null. On error `*reason` says why.
core::StatusOr<Readings> ExtractReadings(const ContractPlan& plan, const Telemetry& telemetry,
                                         const std::vector<double>* last_row, Reject* reason);

// The device id under contract.id_field (a string or a whole number), or
// `route_id` when the contract has no id_field. INVALID_ARGUMENT naming the
// field when neither gives one.
core::StatusOr<std::string> DeviceIdOf(const core::DeviceContract& contract,
                                       std::string_view route_id, const Telemetry& telemetry);

}  // namespace infergate::pipeline
