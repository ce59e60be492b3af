// DeviceContract: the `device:` section of a model's config.yaml, as typed
// data. It says how a device's telemetry becomes the model's input tensors
// (fields, units, normalisation, missing-field policy, a window of readings
// per device, state carried between inferences) and what the outputs mean
// (labels, top-k, a threshold, when to tell anyone).
//
// Only the data lives in core, beside the rest of ModelConfig, so a loaded
// model version carries its contract wherever the version goes. Everything
// that acts on it (checking it against the model, binding telemetry, windows,
// interpreting outputs) is in src/pipeline; the YAML parsing is in src/config.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace infergate::core {

// What happens when a reading lacks a field.
enum class MissingPolicy { kReject, kDefault, kLast };

struct FieldNormalization {
  enum class Kind { kNone, kMeanStd, kMinMax };
  Kind kind = Kind::kNone;
  double mean = 0, std = 1;  // kMeanStd: (x - mean) / std
  double min = 0, max = 1;   // kMinMax: (x - min) / (max - min)
  bool operator==(const FieldNormalization&) const = default;
};

// One named value of a reading.
struct DeviceField {
  std::string name;      // as the contract names it
  std::string path;      // where it is in the telemetry ("sensors.vib.x"); defaults to name
  bool integer = false;  // type: int (values must be whole numbers) or float (default)
  int64_t length = 0;    // 0: a scalar; L > 0: L values per reading
  std::string unit;      // documentation ("g", "degC"); shown by inspect
  FieldNormalization normalize;
  MissingPolicy missing = MissingPolicy::kReject;
  double default_value = 0;       // kDefault: the value used (every element of an array)
  std::optional<double> example;  // the value inspect's example message shows
  bool operator==(const DeviceField&) const = default;

  // Values this field adds to a reading: max(length, 1).
  int64_t width() const { return length > 0 ? length : 1; }
};

// One model input filled from telemetry: its fields, in order, make up each
// reading's row of that input.
struct DeviceInput {
  std::string name;  // the model input
  std::vector<DeviceField> fields;
  bool operator==(const DeviceInput&) const = default;
};

// How readings of one device are gathered into one inference.
struct DeviceWindow {
  enum class Kind { kNone, kCount, kTime };
  enum class Fill { kPrevious, kZero };
  Kind kind = Kind::kNone;  // kNone: every reading is one inference
  // kCount: the last `count` readings, one inference every `hop` readings.
  int64_t count = 1;
  int64_t hop = 1;
  // kTime: `length_secs` of readings resampled on a grid of `period_secs`
  // (the last reading in a slot wins; empty slots are filled by `fill`), one
  // inference every `hop_secs`.
  double length_secs = 0;
  double hop_secs = 0;
  double period_secs = 0;
  Fill fill = Fill::kPrevious;
  // A pause longer than this between a device's readings starts its window
  // afresh (readings from before the pause are not mixed with those after).
  // 0: no limit.
  double max_gap_secs = 0;
  bool operator==(const DeviceWindow&) const = default;

  // Readings (rows) one inference takes: 1, count, or length / period.
  int64_t rows() const;
};

// A state tensor carried per device: the model's output `output` after one
// inference is its input `input` at the next (an RNN's hidden state).
struct DeviceState {
  std::string input;
  std::string output;
  double initial = 0;  // every element of the state at the start and after a reset
  bool operator==(const DeviceState&) const = default;
};

// The names of a reply's fields; an empty name leaves that field out.
struct ReplyFieldNames {
  std::string device = "device";
  std::string label = "label";
  std::string score = "score";
  std::string alert = "alert";
  std::string top_k = "top_k";
  std::string model = "model";
  std::string seq = "seq";  // the sequence number of the reading that completed the window
  std::string ts = "ts";    // that reading's time in seconds (see DeviceContract::timestamp_field)
  bool operator==(const ReplyFieldNames&) const = default;
};

// What one model output means.
struct DeviceResult {
  enum class Kind { kScore, kClasses };
  enum class On { kAlways, kChange, kThreshold };
  std::string output;  // the model output interpreted
  // kScore: the output holds one number, compared with `threshold`.
  // kClasses: the output holds one score per class; argmax and top-k.
  Kind kind = Kind::kScore;
  // kClasses: a name per class index (default "0", "1", ...).
  std::vector<std::string> labels;
  int64_t top_k = 1;
  // kScore: alert when score > threshold (`below`: score < threshold), and
  // the label is alert_label, else normal_label. kClasses: alert when the
  // top label is one of alert_labels and its score >= threshold.
  std::optional<double> threshold;
  bool below = false;
  std::string alert_label = "anomaly";
  std::string normal_label = "normal";
  std::vector<std::string> alert_labels;
  // always: every result is sent; change: only when the label differs from
  // the device's previous one (the first result is always sent); threshold:
  // only results that are alerts.
  On on = On::kAlways;
  ReplyFieldNames fields;
  bool operator==(const DeviceResult&) const = default;
};

// A model input fed the same value with every window (Silero VAD's sample
// rate `sr`): `shape` is the input's dims without the batch dimension, and
// `values` holds its elements in row-major order.
struct DeviceConstant {
  std::string input;
  std::string datatype;  // a KServe v2 name ("INT64", "FP32", ...)
  std::vector<int64_t> shape;
  std::vector<double> values;
  bool operator==(const DeviceConstant&) const = default;
};

struct DeviceContract {
  // Telemetry path of the device id; empty: the route names the device (an
  // MQTT topic capture, the HTTP path).
  std::string id_field;
  // Telemetry path of the reading's time in seconds (a device clock or Unix
  // time); a reading without it is stamped with its arrival time.
  std::string timestamp_field = "ts";
  // Telemetry path of a flag that, when non-zero, resets the device's window
  // and state before the reading is used.
  std::string reset_field = "reset";
  // Telemetry path of the reading's sequence number (a whole number the
  // device counts); a message without it is numbered by the device's reading
  // counter (its readings accepted since it was first seen, from 0).
  std::string seq_field = "seq";
  int64_t max_devices = 10000;  // devices tracked at once; more are refused
  double idle_ttl_secs = 3600;  // a device idle this long is forgotten
  // Stateful contracts: complete windows that may wait per device while one
  // is in flight; a window beyond that is not run and its message gets an
  // UNAVAILABLE error naming device.max_backlog.
  int64_t max_backlog = 8;
  std::vector<DeviceInput> inputs;
  DeviceWindow window;
  std::vector<DeviceState> state;
  std::vector<DeviceConstant> constants;
  DeviceResult result;
  bool operator==(const DeviceContract&) const = default;
};

std::string_view MissingPolicyName(MissingPolicy policy);  // "reject", "default", "last"
std::string_view WindowKindName(DeviceWindow::Kind kind);  // "none", "count", "time"
std::string_view ResultOnName(DeviceResult::On on);        // "always", "change", "threshold"

}  // namespace infergate::core
