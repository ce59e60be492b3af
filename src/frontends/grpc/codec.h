// The ModelInfer wire format <-> core::InferRequest / core::InferResponse.
// Plain functions: a unit test calls them without a socket or a server.
//
// Decoding copies the input bytes out of the protobuf message once, unless
// the message is handed over as a shared_ptr: then raw contents are borrowed
// and the tensors keep the message alive (the scheduler decides when it lets
// go of a request's tensors).
// Typed `contents` and `raw_input_contents` are both accepted, never mixed in
// one request. FP16 and BF16 travel only as raw contents (the protocol has no
// typed field for them).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <memory>

#include "core/infer.h"
#include "core/status.h"
#include "grpc_service.pb.h"

namespace infergate::grpc_frontend {

// Limits on what one request may carry (beyond gRPC's max message size).
struct InputLimits {
  int64_t max_tensor_elements = 16 * 1024 * 1024;
};

// How an InferResponse is written.
enum class ContentsForm {
  kRaw,    // raw_output_contents, one entry per output (what Triton's clients use)
  kTyped,  // outputs[i].contents in the field matching the datatype
};

// "" -> core::kLatestVersion; otherwise a positive integer.
core::StatusOr<int64_t> ParseVersion(const std::string& version);

// Fills `out` (model, version, id, parameters, inputs, requested outputs) from
// `in`. INVALID_ARGUMENT names the input and what was wrong; RESOURCE_EXHAUSTED
// when a tensor has more elements than the limit. Does not set deadline or
// on_complete.
core::Status DecodeInferRequest(const inference::ModelInferRequest& in, const InputLimits& limits,
                                core::InferRequest* out);
// The same, but raw_input_contents are borrowed, not copied: the tensors
// keep `in` alive for as long as the scheduler holds them.
core::Status DecodeInferRequest(std::shared_ptr<const inference::ModelInferRequest> in,
                                const InputLimits& limits, core::InferRequest* out);

// The form a response to `in` is written in: typed when the request sent
// typed contents, raw otherwise.
ContentsForm ResponseFormFor(const inference::ModelInferRequest& in);

// Writes a successful `response` into `out` in `form`; falls back to raw for
// every output when one of them is FP16 or BF16 (no typed field exists), as
// the protocol forbids mixing. Precondition: response.status is OK.
core::Status EncodeInferResponse(const core::InferResponse& response, ContentsForm form,
                                 inference::ModelInferResponse* out);

// Parameter maps in both directions. uint64 values above INT64_MAX are refused.
core::Status DecodeParameters(
    const google::protobuf::Map<std::string, inference::InferParameter>& in, core::Parameters* out);
void EncodeParameters(const core::Parameters& in,
                      google::protobuf::Map<std::string, inference::InferParameter>* out);

}  // namespace infergate::grpc_frontend
