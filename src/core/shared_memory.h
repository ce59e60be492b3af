// System shared memory regions registered by clients (Triton's
// system_shared_memory extension): a client on the same host puts a tensor in
// a POSIX shared memory object, registers a window of it under a name, and
// then sends requests that name the region instead of carrying the bytes.
// Inputs are read where they lie (a tensor borrows the mapping) and outputs
// are written there, so a 600 KB image costs no socket copy at all.
//
// A region is [offset, offset + byte_size) of the object `key` (shm_open's
// name, "/something"), mapped read-write (read-only when the object only
// allows reading; such a region cannot receive outputs). Every view handed
// out keeps its mapping alive, so unregistering a region while requests use it
// is safe: the memory goes when the last of them is done.
//
// Trust: the server opens whatever object a client names, as the server's
// user. That is why the extension is off unless the server config turns it on
// (`shared_memory.enabled`), for deployments whose HTTP and gRPC ports only
// trusted local processes reach (docs/configuration.md).
//
// A client that shrinks the object below a registered region makes reads of
// it fault. Each view re-checks the object's size first and refuses the
// request instead; shrinking it during a request is not caught.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"
#include "core/status.h"

namespace infergate::core {

// A window of a registered region; `owner` keeps the mapping alive.
struct SharedMemoryView {
  std::shared_ptr<void> owner;
  uint8_t* data = nullptr;
  size_t size = 0;
  bool writable = false;
};

class SharedMemoryRegistry {
 public:
  struct RegionStatus {
    std::string name;
    std::string key;
    uint64_t offset = 0;
    uint64_t byte_size = 0;
  };

  // `metrics` (may be null) gets infergate_shared_memory_regions and
  // infergate_shared_memory_bytes (gauges of what is registered).
  explicit SharedMemoryRegistry(size_t max_regions = 64, MetricsRegistry* metrics = nullptr);
  ~SharedMemoryRegistry();
  SharedMemoryRegistry(const SharedMemoryRegistry&) = delete;
  SharedMemoryRegistry& operator=(const SharedMemoryRegistry&) = delete;

  // Opens and maps `key` and registers [offset, offset + byte_size) of it as
  // `name`. INVALID_ARGUMENT for an empty name, a key that is not "/name", a
  // zero size or a window past the object's end; NOT_FOUND when no such
  // object exists; ALREADY_EXISTS for a name in use; RESOURCE_EXHAUSTED past
  // max_regions; FAILED_PRECONDITION when the object cannot be opened or mapped.
  Status Register(const std::string& name, const std::string& key, uint64_t offset,
                  uint64_t byte_size);
  // NOT_FOUND for an unknown name.
  Status Unregister(std::string_view name);
  void UnregisterAll();

  // Every region by name, or the one named (NOT_FOUND when unknown).
  StatusOr<std::vector<RegionStatus>> List(std::string_view name = {}) const;

  // [offset, offset + byte_size) of region `name`. `what` names the tensor in
  // errors ("input 'x'"). NOT_FOUND for an unknown region, INVALID_ARGUMENT
  // for a window outside it, FAILED_PRECONDITION when its object shrank.
  StatusOr<SharedMemoryView> View(std::string_view name, uint64_t offset, uint64_t byte_size,
                                  std::string_view what) const;

  size_t size() const;

 private:
  struct Mapping;
  struct Region {
    RegionStatus status;
    std::shared_ptr<Mapping> mapping;
  };
  void UpdateGaugesLocked();

  const size_t max_regions_;
  Gauge* regions_gauge_ = nullptr;
  Gauge* bytes_gauge_ = nullptr;
  mutable std::mutex mu_;
  std::map<std::string, Region, std::less<>> regions_;
};

}  // namespace infergate::core
