// Device telemetry as JSON, and results back as JSON: the codec MQTT and
// HTTP frontends share for device contracts (see src/pipeline).
//
// A telemetry body is one JSON object. Nested objects become dotted paths,
// numbers stay numbers, true/false become 1/0, null means "absent", arrays of
// numbers (nested arrays flattened in order) become arrays, strings stay
// strings:
//   {"ts": 12.5, "sensors": {"vib": [0.1, 0.2], "ok": true}, "id": "pump-7"}
//   -> ts = 12.5, sensors.vib = [0.1, 0.2], sensors.ok = 1, id = "pump-7"
//
// A result is written as one object whose member names the contract's
// `result.fields` gives (members with an empty name are left out):
//   {"device": "pump-7", "label": "bearing_wear", "score": 0.93, "alert": true,
//    "top_k": [{"label": "bearing_wear", "score": 0.93}, ...], "model": "pm",
//    "seq": 17, "ts": 1796676063.12}
// `seq` and `ts` are the sequence number and time (seconds, as the device's
// timestamp field gave it, else the Unix time it arrived) of the
// reading that completed the window.
//
// Thread-safety: one TelemetryDecoder per thread; the functions are pure.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "pipeline/postprocess.h"
#include "pipeline/telemetry.h"

namespace infergate::protocol {

struct TelemetryLimits {
  size_t max_fields = 1024;             // paths in one message
  size_t max_array_elements = 1 << 20;  // numbers in one array
  size_t max_depth = 16;                // nesting of objects and arrays
};

class TelemetryDecoder {
 public:
  explicit TelemetryDecoder(TelemetryLimits limits = {});
  ~TelemetryDecoder();
  TelemetryDecoder(const TelemetryDecoder&) = delete;
  TelemetryDecoder& operator=(const TelemetryDecoder&) = delete;

  // Decodes `body` into *out (cleared first). INVALID_ARGUMENT for malformed
  // JSON, a body that is not an object, an array holding anything but
  // numbers (naming the field and index); RESOURCE_EXHAUSTED past a limit.
  core::Status Decode(std::string_view body, pipeline::Telemetry* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One-off decode with a temporary decoder (tests, tools).
core::StatusOr<pipeline::Telemetry> DecodeTelemetry(std::string_view body,
                                                    const TelemetryLimits& limits = {});

// The telemetry as a JSON object, dotted paths written as nested objects.
std::string EncodeTelemetry(const pipeline::Telemetry& telemetry);

// The result as a JSON object (see above).
std::string EncodeResult(const pipeline::Result& result);

}  // namespace infergate::protocol
