// The client side of the KServe v2 JSON protocol, for the HTTP RemoteClient:
// request bodies from core inputs, core outputs from response bodies
// (JSON "data", or binary data after the JSON part), metadata and the
// model configuration's max_batch_size. nlohmann::json stays inside.
//
// Thread-safety: pure functions.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/infer.h"
#include "core/model.h"
#include "core/status.h"

namespace infergate::remote {

struct EncodedRequest {
  std::string body;        // JSON, then (binary) every input's bytes in input order
  size_t json_length = 0;  // the Inference-Header-Content-Length when binary
};

// {"inputs": [{"name", "datatype", "shape", "data": [...]}], "outputs": [...]}.
// With `binary` (Triton's binary tensor extension, for a remote that lists
// it), inputs carry "binary_data_size" and their bytes follow the JSON, and
// every output is asked for as binary data. INVALID_ARGUMENT for a BYTES
// element that is not UTF-8 in the JSON form (JSON cannot carry it).
core::StatusOr<EncodedRequest> EncodeInferRequest(const std::vector<core::InferInput>& inputs,
                                                  const std::vector<std::string>& output_names, bool binary);

// Whether a server metadata response (GET /v2) lists Triton's
// binary_tensor_data extension.
bool HasBinaryExtension(std::string_view body);

// `body`'s first `json_length` bytes are JSON, then the binary outputs;
// `owner` keeps `body` alive (binary outputs borrow it). INTERNAL names
// what the remote got wrong.
core::Status DecodeInferResponse(std::string_view body, size_t json_length, std::shared_ptr<const void> owner,
                                 std::vector<core::InferOutput>* outputs);

// The model metadata response's inputs and outputs.
core::StatusOr<core::ModelSignature> DecodeMetadata(std::string_view body);

// "max_batch_size" of a model configuration response (Triton's), or -1.
int64_t DecodeMaxBatchSize(std::string_view body);

// The "error" of an error body, else the body itself (shortened).
std::string ErrorMessage(std::string_view body);

}  // namespace infergate::remote
