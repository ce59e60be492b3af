#include "pipeline/readings.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace infergate::pipeline {
namespace {

using core::DeviceField;
using core::Status;
using core::StatusOr;

std::string FieldName(const DeviceField& f) { return "field '" + f.path + "'"; }

Status Fail(Reject* reason, Reject r, std::string message) {
  *reason = r;
  return core::InvalidArgument(std::move(message));
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

// The readings a present field's value stands for.
StatusOr<int64_t> ReadingsIn(const DeviceField& f, const Telemetry::Value& v, Reject* reason) {
  if (std::holds_alternative<std::string>(v)) {
    return Fail(reason, Reject::kWrongType,
                FieldName(f) + ": expected " +
                    (f.length > 0 ? "an array of " + std::to_string(f.length) + " numbers"
                                  : std::string("a number")) +
                    ", got a string");
  }
  if (std::holds_alternative<double>(v)) {
    if (f.width() == 1) return 1;
    return Fail(reason, Reject::kWrongLength,
                FieldName(f) + ": expected an array of " + std::to_string(f.length) +
                    " numbers, got a number");
  }
  const auto n = static_cast<int64_t>(std::get<std::vector<double>>(v).size());
  if (n == 0 || n % f.width() != 0) {
    return Fail(reason, Reject::kWrongLength,
                FieldName(f) + ": expected " +
                    (f.length > 0 ? std::to_string(f.length) + " numbers per reading"
                                  : std::string("a number per reading")) +
                    ", got an array of " + std::to_string(n));
  }
  return n / f.width();
}

double Normalize(const core::FieldNormalization& n, double x) {
  switch (n.kind) {
    case core::FieldNormalization::Kind::kNone:
      return x;
    case core::FieldNormalization::Kind::kMeanStd:
      return (x - n.mean) / n.std;
    case core::FieldNormalization::Kind::kMinMax:
      return (x - n.min) / (n.max - n.min);
  }
  return x;
}

Status CheckNumber(const DeviceField& f, double x, Reject* reason) {
  if (std::isnan(x))
    return Fail(reason, Reject::kNotFinite, FieldName(f) + ": NaN is not a valid reading");
  if (std::isinf(x))
    return Fail(reason, Reject::kNotFinite, FieldName(f) + ": infinity is not a valid reading");
  if (f.integer && x != std::floor(x)) {
    return Fail(reason, Reject::kWrongType,
                FieldName(f) + ": expected an integer, got " + Number(x));
  }
  return Status::Ok();
}

// Writes field `f` (at `offset` of each row) for `count` readings.
Status FillField(const ContractPlan& plan, const DeviceField& f, int64_t offset,
                 const Telemetry::Value* v, const std::vector<double>* last_row, Readings* out,
                 Reject* reason) {
  const int64_t w = f.width();
  const int64_t stride = plan.row_width;
  if (v == nullptr) {
    switch (f.missing) {
      case core::MissingPolicy::kReject:
        return Fail(reason, Reject::kMissingField, FieldName(f) + " is missing");
      case core::MissingPolicy::kDefault: {
        const double d = Normalize(f.normalize, f.default_value);
        for (int64_t r = 0; r < out->count; ++r)
          std::fill_n(&out->values[r * stride + offset], w, d);
        return Status::Ok();
      }
      case core::MissingPolicy::kLast:
        if (last_row == nullptr) {
          return Fail(reason, Reject::kMissingField,
                      FieldName(f) + " is missing and the device sent no earlier value");
        }
        for (int64_t r = 0; r < out->count; ++r) {
          std::copy_n(last_row->begin() + offset, w, &out->values[r * stride + offset]);
        }
        return Status::Ok();
    }
  }
  const double* src = nullptr;
  if (const auto* d = std::get_if<double>(v)) src = d;
  if (const auto* a = std::get_if<std::vector<double>>(v)) src = a->data();
  for (int64_t r = 0; r < out->count; ++r) {
    for (int64_t e = 0; e < w; ++e) {
      const double x = src[r * w + e];
      RETURN_IF_ERROR(CheckNumber(f, x, reason));
      out->values[r * stride + offset + e] = Normalize(f.normalize, x);
    }
  }
  return Status::Ok();
}

// Readings per message, agreed by every present field.
StatusOr<int64_t> CountReadings(const ContractPlan& plan, const Telemetry& t, Reject* reason) {
  int64_t count = 0;
  const DeviceField* first = nullptr;
  const int64_t limit = std::max<int64_t>(plan.rows * 4, 1024);
  for (const auto& in : plan.contract.inputs) {
    for (const auto& f : in.fields) {
      const Telemetry::Value* v = t.Find(f.path);
      if (!v) continue;
      ASSIGN_OR_RETURN(int64_t k, ReadingsIn(f, *v, reason));
      if (first && k != count) {
        return Fail(reason, Reject::kWrongLength,
                    FieldName(f) + ": holds " + std::to_string(k) + " reading(s), but " +
                        FieldName(*first) + " holds " + std::to_string(count));
      }
      if (k > limit) {
        return Fail(reason, Reject::kWrongLength,
                    FieldName(f) + ": " + std::to_string(k) + " readings in one message; at most " +
                        std::to_string(limit));
      }
      count = k;
      first = &f;
    }
  }
  return first ? count : 1;
}

StatusOr<std::optional<double>> NumberField(const Telemetry& t, const std::string& path,
                                            Reject* reason) {
  if (path.empty()) return std::optional<double>();
  const Telemetry::Value* v = t.Find(path);
  if (!v) return std::optional<double>();
  const auto* d = std::get_if<double>(v);
  if (!d)
    return Fail(reason, Reject::kWrongType,
                "field '" + path + "': expected a number, got " + DescribeValue(*v));
  if (!std::isfinite(*d))
    return Fail(reason, Reject::kNotFinite, "field '" + path + "': expected a finite number");
  return std::optional<double>(*d);
}

// A reading's time must be finite and within kMaxTimestampSecs of zero: the
// windows count in whole periods of it (int64), which a time like 1e100 s
// would overflow.
Status CheckTimestamp(const std::string& path, const std::optional<double>& t, Reject* reason) {
  if (!t || (std::isfinite(*t) && std::abs(*t) <= kMaxTimestampSecs)) return Status::Ok();
  return Fail(reason, Reject::kNotFinite,
              "field '" + path + "' (the reading's time): expected seconds within +-1e11, got " +
                  std::to_string(*t));
}

}  // namespace

std::string_view RejectName(Reject reason) {
  switch (reason) {
    case Reject::kMissingField:
      return "missing_field";
    case Reject::kWrongType:
      return "wrong_type";
    case Reject::kNotFinite:
      return "not_finite";
    case Reject::kWrongLength:
      return "wrong_length";
    case Reject::kLate:
      return "late";
    case Reject::kMaxDevices:
      return "max_devices";
    case Reject::kNoDeviceId:
      return "no_device_id";
    case Reject::kBacklog:
      return "backlog";
  }
  return "?";
}

StatusOr<Readings> ExtractReadings(const ContractPlan& plan, const Telemetry& t,
                                   const std::vector<double>* last_row, Reject* reason) {
  Readings out;
  ASSIGN_OR_RETURN(out.count, CountReadings(plan, t, reason));
  out.values.resize(static_cast<size_t>(out.count * plan.row_width));
  for (size_t i = 0; i < plan.contract.inputs.size(); ++i) {
    int64_t offset = plan.inputs[i].offset;
    for (const auto& f : plan.contract.inputs[i].fields) {
      RETURN_IF_ERROR(FillField(plan, f, offset, t.Find(f.path), last_row, &out, reason));
      offset += f.width();
    }
  }
  if (t.timestamp_secs) {
    out.timestamp = t.timestamp_secs;
  } else {
    ASSIGN_OR_RETURN(out.timestamp, NumberField(t, plan.contract.timestamp_field, reason));
  }
  RETURN_IF_ERROR(CheckTimestamp(plan.contract.timestamp_field, out.timestamp, reason));
  ASSIGN_OR_RETURN(auto reset, NumberField(t, plan.contract.reset_field, reason));
  out.reset = reset.has_value() && *reset != 0;
  ASSIGN_OR_RETURN(auto seq, NumberField(t, plan.contract.seq_field, reason));
  if (seq) {
    if (*seq != std::floor(*seq) || std::abs(*seq) > 9e15) {
      return Fail(reason, Reject::kWrongType,
                  "field '" + plan.contract.seq_field +
                      "' (the reading's sequence number): expected a whole number, got " +
                      std::to_string(*seq));
    }
    out.seq = static_cast<int64_t>(*seq);
  }
  return out;
}

StatusOr<std::string> DeviceIdOf(const core::DeviceContract& contract, std::string_view route_id,
                                 const Telemetry& t) {
  if (contract.id_field.empty()) {
    if (route_id.empty())
      return core::InvalidArgument(
          "no device id: the route names none and the contract has no id_field");
    return std::string(route_id);
  }
  const Telemetry::Value* v = t.Find(contract.id_field);
  if (!v) {
    if (!route_id.empty()) return std::string(route_id);
    return core::InvalidArgument("field '" + contract.id_field + "' (the device id) is missing");
  }
  if (const auto* s = std::get_if<std::string>(v)) {
    if (s->empty() || s->size() > 256) {
      return core::InvalidArgument("field '" + contract.id_field +
                                   "': a device id is 1 to 256 characters");
    }
    return *s;
  }
  if (const auto* d = std::get_if<double>(v);
      d && std::isfinite(*d) && *d == std::floor(*d) && std::abs(*d) < 9e15) {
    return std::to_string(static_cast<int64_t>(*d));
  }
  return core::InvalidArgument("field '" + contract.id_field +
                               "': expected a string or a whole number, got " + DescribeValue(*v));
}

}  // namespace infergate::pipeline
