// Element readers of the v2 JSON decoder: each parses one JSON scalar
// (simdjson On-Demand value) into a tensor element of type T, or returns the
// error code: NUMBER_OUT_OF_RANGE for a number T cannot hold. Internal to
// src/protocol; simdjson's error codes only, nothing throws.
#pragma once

#include <simdjson.h>

#include <cmath>
#include <cstdint>
#include <limits>

namespace infergate::protocol::json_scalars {

namespace od = simdjson::ondemand;

template <typename T>
simdjson::error_code ReadSigned(od::value& v, T* out) {
  int64_t i = 0;
  if (auto e = v.get_int64().get(i)) return e;
  if (i < std::numeric_limits<T>::min() || i > std::numeric_limits<T>::max()) {
    return simdjson::NUMBER_OUT_OF_RANGE;
  }
  *out = static_cast<T>(i);
  return simdjson::SUCCESS;
}

template <typename T>
simdjson::error_code ReadUnsigned(od::value& v, T* out) {
  uint64_t u = 0;
  if (auto e = v.get_uint64().get(u)) return e;
  if (u > std::numeric_limits<T>::max()) return simdjson::NUMBER_OUT_OF_RANGE;
  *out = static_cast<T>(u);
  return simdjson::SUCCESS;
}

inline simdjson::error_code ReadBool(od::value& v, uint8_t* out) {
  bool b = false;
  if (auto e = v.get_bool().get(b)) return e;
  *out = b ? 1 : 0;
  return simdjson::SUCCESS;
}

inline simdjson::error_code ReadFloat(od::value& v, float* out) {
  double d = 0;
  if (auto e = v.get_double().get(d)) return e;
  if (std::fabs(d) > std::numeric_limits<float>::max()) return simdjson::NUMBER_OUT_OF_RANGE;
  *out = static_cast<float>(d);
  return simdjson::SUCCESS;
}

inline simdjson::error_code ReadDouble(od::value& v, double* out) { return v.get_double().get(*out); }

template <uint16_t (*Convert)(float)>
simdjson::error_code ReadHalf(od::value& v, uint16_t* out) {
  float f = 0;
  if (auto e = ReadFloat(v, &f)) return e;
  *out = Convert(f);
  if ((*out & 0x7FFFu) == (Convert(std::numeric_limits<float>::infinity()) & 0x7FFFu)) {
    return simdjson::NUMBER_OUT_OF_RANGE;  // a finite number that does not fit
  }
  return simdjson::SUCCESS;
}

}  // namespace infergate::protocol::json_scalars
