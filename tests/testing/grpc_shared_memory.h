// Puts a gRPC input or requested output in a registered system shared memory
// region, as Triton's clients do: parameters shared_memory_region,
// shared_memory_offset and shared_memory_byte_size.
#pragma once

#include <cstdint>
#include <string>

#include "grpc_service.pb.h"

namespace infergate::testing {

inline void InSharedMemory(
    google::protobuf::Map<std::string, inference::InferParameter>* parameters,
    const std::string& region, int64_t offset, int64_t byte_size) {
  (*parameters)["shared_memory_region"].set_string_param(region);
  (*parameters)["shared_memory_offset"].set_int64_param(offset);
  (*parameters)["shared_memory_byte_size"].set_int64_param(byte_size);
}

}  // namespace infergate::testing
