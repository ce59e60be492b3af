// A ModelInferRequest for mlp16.onnx (input "input", FP32 [batch,16]) with
// fixed values, in raw or typed contents. Shared by the gRPC tests and the
// gRPC load-run helper in bench/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "grpc_service.pb.h"

namespace infergate::testing {

inline inference::ModelInferRequest MlpRequest(const std::string& model, const std::string& id, bool raw,
                                               int64_t batch = 1) {
  inference::ModelInferRequest r;
  r.set_model_name(model);
  r.set_id(id);
  auto* in = r.add_inputs();
  in->set_name("input");
  in->set_datatype("FP32");
  in->add_shape(batch);
  in->add_shape(16);
  std::vector<float> values(static_cast<size_t>(batch) * 16);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 7) * 0.25f - 0.5f;
  if (raw) {
    r.add_raw_input_contents(std::string(reinterpret_cast<const char*>(values.data()), values.size() * 4));
  } else {
    for (float v : values) in->mutable_contents()->add_fp32_contents(v);
  }
  return r;
}

}  // namespace infergate::testing
