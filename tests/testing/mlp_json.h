// A KServe v2 JSON inference request body for mlp16.onnx (input "input",
// FP32 [1,16]) with fixed values, as HTTP and MQTT tests send it.
#pragma once

#include <string>

namespace infergate::testing {

inline std::string MlpJsonBody(const std::string& id) {
  std::string data;
  for (int i = 0; i < 16; ++i) data += (i ? "," : "") + std::to_string(i * 0.125);
  return R"({"id":")" + id + R"(","inputs":[{"name":"input","shape":[1,16],"datatype":"FP32","data":[)" + data +
         "]}]}";
}

}  // namespace infergate::testing
