// IEEE 754 half precision (FP16) and bfloat16 (BF16) conversions for the JSON
// codec, which reads and writes these types as ordinary JSON numbers.
// Conversions to 16 bits round to nearest, ties to even; NaN stays NaN.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

namespace infergate::protocol {

uint16_t FloatToHalf(float value);
float HalfToFloat(uint16_t half);
uint16_t FloatToBf16(float value);
float Bf16ToFloat(uint16_t bf16);

}  // namespace infergate::protocol
