// The model the request fuzzers check decoded requests against, the shared
// memory regions their requests may name, and the response that echoes a
// request's inputs as outputs (so the encoders run over whatever the
// decoders produced, writing outputs into shared memory too).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "core/infer.h"
#include "core/model_config.h"
#include "core/shared_memory.h"

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

// Regions "r" (4 KiB) and "r2" (bytes 1024-2047 of the same object) of a
// POSIX shared memory object made for the process (and unlinked at once:
// the mappings keep it).
inline const core::SharedMemoryRegistry* SharedMemory() {
  static const core::SharedMemoryRegistry* registry = [] {
    auto* r = new core::SharedMemoryRegistry(4);
    const std::string key = "/infergate-fuzz-" + std::to_string(getpid());
    const int fd = shm_open(key.c_str(), O_CREAT | O_RDWR, 0600);
    if (fd < 0 || ftruncate(fd, 4096) != 0) __builtin_trap();
    close(fd);
    if (!r->Register("r", key, 0, 4096).ok() || !r->Register("r2", key, 1024, 1024).ok()) __builtin_trap();
    shm_unlink(key.c_str());
    return r;
  }();
  return registry;
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
