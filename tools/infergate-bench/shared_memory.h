// --shared-memory system: the inputs of every request body live in one POSIX
// shared memory object the load generator creates and registers with the
// server (Triton's system shared memory extension, over HTTP or gRPC), and
// the bodies name windows of it instead of carrying the bytes. Outputs still
// come back in the reply (as binary data over HTTP, raw contents over gRPC).
// The region is unregistered and the object removed at the end of the run.
//
// nlohmann::json's exceptions stop in shared_memory.cc.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "payload.h"

namespace infergate::bench {

class SharedMemoryInputs {
 public:
  // Moves the binary-extension data of every body in *payloads (made with
  // binary = true) into a new shared memory object and rewrites each body to
  // name it as region `region`.
  static core::StatusOr<std::unique_ptr<SharedMemoryInputs>> Create(PayloadSet* payloads,
                                                                   const std::string& region);
  ~SharedMemoryInputs();
  SharedMemoryInputs(const SharedMemoryInputs&) = delete;
  SharedMemoryInputs& operator=(const SharedMemoryInputs&) = delete;

  // POST v2/systemsharedmemory/region/{region}/register (and .../unregister)
  // to the HTTP server at host:port.
  core::Status Register(const std::string& host, const std::string& port) const;
  core::Status Unregister(const std::string& host, const std::string& port) const;

  const std::string& region() const { return region_; }
  const std::string& key() const { return key_; }
  size_t size() const { return size_; }

 private:
  SharedMemoryInputs() = default;
  std::string region_;
  std::string key_;
  int fd_ = -1;
  void* data_ = nullptr;
  size_t size_ = 0;
};

// One synchronous HTTP/1.1 POST; OK for a 200 reply, else the status and body.
core::Status HttpPost(const std::string& host, const std::string& port, const std::string& path,
                      const std::string& body);

}  // namespace infergate::bench
