// Request bodies for the KServe v2 infer endpoint, made once before a run:
// random tensors of given names, types and shapes, or the requests in a JSON
// file. Each body is JSON, or, with the binary tensor extension, a JSON
// header followed by the raw tensor bytes (the header's length goes in the
// Inference-Header-Content-Length HTTP header).
//
// nlohmann::json's exceptions stop in payload.cc.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace infergate::bench {

// One input of the random bodies: "NAME:DATATYPE:D0,D1,..." on the command line.
struct InputSpec {
  std::string name;
  std::string datatype;  // v2 name: FP32, INT64, BOOL, BYTES, ...
  std::vector<int64_t> shape;
};

core::StatusOr<InputSpec> ParseInputSpec(const std::string& text);

struct Payload {
  std::string body;
  size_t json_length = 0;  // binary extension: length of the JSON header; 0: all JSON
};

// The bodies a run cycles through (request i sends bodies[i % size]).
struct PayloadSet {
  std::vector<Payload> bodies;
  bool binary = false;
  const Payload& For(uint64_t seq) const { return bodies[seq % bodies.size()]; }
};

// `variants` bodies of random values (floats from N(0,1), integers in
// [0, 100), booleans, short strings), reproducible from `seed`.
core::StatusOr<PayloadSet> RandomPayloads(const std::vector<InputSpec>& inputs, int variants,
                                          bool binary, uint32_t seed);

// The v2 requests in a JSON file: one request object, or an array of them.
// With `binary`, each input's "data" is moved into the binary part.
core::StatusOr<PayloadSet> PayloadsFromFile(const std::string& path, bool binary);

// A request decoded into raw tensors (the binary layout of each datatype),
// for protocols that carry raw bytes (gRPC's raw_input_contents).
struct RawTensor {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;
  std::string bytes;
  // An input in system shared memory (--shared-memory system) has these
  // instead of bytes: its region, offset and byte size there.
  std::string shm_region;
  int64_t shm_offset = 0;
  int64_t shm_byte_size = 0;
};
struct RawRequest {
  std::vector<RawTensor> inputs;
};

// Decodes a JSON payload (not a binary one) into raw tensors; an input whose
// parameters name a shared memory region keeps that instead of data.
core::StatusOr<RawRequest> ToRawRequest(const Payload& payload);

}  // namespace infergate::bench
