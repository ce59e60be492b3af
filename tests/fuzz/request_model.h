// The model the request fuzzers check decoded requests against, and the
// response that echoes a request's inputs as outputs (so the encoders run
// over whatever the decoders produced).
#pragma once

#include "core/infer.h"
#include "core/model_config.h"

namespace infergate::fuzz {

// A batching model with inputs of several datatypes and shapes.
inline core::ModelConfig RequestModel() {
  using core::DataType;
  core::ModelConfig c;
  c.name = "m";
  c.max_batch_size = 4;
  c.inputs = {{"x", DataType::kFp32, {3}},    {"ids", DataType::kInt64, {-1}},
              {"s", DataType::kBytes, {1}},   {"h", DataType::kFp16, {2, 2}},
              {"flag", DataType::kBool, {1}}, {"u8", DataType::kUint8, {-1, 2}},
              {"u16", DataType::kUint16, {-1, 2}}};
  c.outputs = {{"y", DataType::kFp32, {3}}, {"label", DataType::kBytes, {1}}};
  return c;
}

inline core::InferResponse EchoResponse(const core::InferRequest& request) {
  core::InferResponse response;
  response.model_name = request.model_name;
  response.model_version = request.model_version;
  response.id = request.id;
  response.parameters = request.parameters;
  for (const auto& input : request.inputs) response.outputs.push_back({input.name, input.tensor, {}});
  return response;
}

}  // namespace infergate::fuzz
