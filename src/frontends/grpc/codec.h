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
// System shared memory (Triton's extension): an input or requested output
// whose parameters name a registered region ("shared_memory_region",
// "shared_memory_byte_size", optional "shared_memory_offset") is read from
// (borrowing the mapping) or written to that window. An input in shared
// memory has no contents: raw_input_contents then holds one entry per input
// NOT in shared memory, in the order of inputs, as Triton's server reads them
// and its clients send them. An output in shared memory is answered with
// parameters "shared_memory_region" and "shared_memory_byte_size" (bytes
// written) and no contents; in the raw form it still gets an (empty)
// raw_output_contents entry, so entry i stays output i, as in Triton's server
// (its clients index raw_output_contents by output position).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/infer.h"
#include "core/shared_memory.h"
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

// How a response is written: the contents form, and the outputs the request
// put in shared memory (by output name), which are written there instead.
struct ResponseEncoding {
  ContentsForm form = ContentsForm::kRaw;
  core::OutputDestinations destinations;
};

// Fills `out` (model, version, id, parameters, inputs, requested outputs) from
// `in`; shared memory regions are looked up in `shared_memory` (not owned;
// null: the extension is off and requests naming a region are refused).
// INVALID_ARGUMENT names the input and what was wrong (including a region
// that is unknown, too small, read-only or not enabled); RESOURCE_EXHAUSTED
// when a tensor has more elements than the limit; FAILED_PRECONDITION when a
// region's object was truncated. Does not set deadline or on_complete.
core::Status DecodeInferRequest(const inference::ModelInferRequest& in, const InputLimits& limits,
                                const core::SharedMemoryRegistry* shared_memory, core::InferRequest* out);
// The same, but raw_input_contents are borrowed, not copied: the tensors
// keep `in` alive for as long as the scheduler holds them.
core::Status DecodeInferRequest(std::shared_ptr<const inference::ModelInferRequest> in,
                                const InputLimits& limits, const core::SharedMemoryRegistry* shared_memory,
                                core::InferRequest* out);

// The form a response to `in` is written in: typed when the request sent
// typed contents (no raw_input_contents, and an input not in shared memory),
// raw otherwise.
ContentsForm ResponseFormFor(const inference::ModelInferRequest& in);
// The form, and the shared memory destinations `decoded` (the request decoded
// from `in`) gives its outputs.
ResponseEncoding ResponseEncodingFor(const inference::ModelInferRequest& in, const core::InferRequest& decoded);

// Writes a successful `response` into `out` as `encoding` says; falls back to
// raw for every output when one of them (not in shared memory) is FP16 or
// BF16 (no typed field exists), as the protocol forbids mixing. Outputs with
// a destination are copied there. INVALID_ARGUMENT naming both sizes when
// one does not fit its window (then no output was written anywhere).
// Precondition: response.status is OK.
core::Status EncodeInferResponse(const core::InferResponse& response, const ResponseEncoding& encoding,
                                 inference::ModelInferResponse* out);

// Parameter maps in both directions. uint64 values above INT64_MAX are refused.
core::Status DecodeParameters(
    const google::protobuf::Map<std::string, inference::InferParameter>& in, core::Parameters* out);
void EncodeParameters(const core::Parameters& in,
                      google::protobuf::Map<std::string, inference::InferParameter>* out);

}  // namespace infergate::grpc_frontend
