// System shared memory regions registered by clients (Triton's
// system_shared_memory extension): a client on the same host puts a tensor in
// a POSIX shared memory object, registers a window of it under a name, and
// then sends requests that name the region instead of carrying the bytes.
// Inputs are copied out of the mapping once when the request is decoded and
// outputs are written into it, so a 600 KB image costs one memory copy and no
// socket copy.
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
// A client that shrinks the object below a registered region makes plain
// reads and writes of the lost pages raise SIGBUS. So nothing outside this
// module touches a mapping directly: inputs are copied out of it and outputs
// into it with CopyFromMapping / CopyToMapping, which turn such a fault into
// an error of that request (the object may shrink at any moment, so a size
// check alone cannot do it; each view still re-checks the size first for the
// clearer message). Borrowing the mapping zero-copy would hand ONNX Runtime
// memory that can vanish under it, where no fault can be caught.
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

#include "core/infer.h"
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
  // infergate_shared_memory_bytes (gauges of what is registered). Keys must
  // start with `key_prefix` (empty: any key).
  explicit SharedMemoryRegistry(size_t max_regions = 64, MetricsRegistry* metrics = nullptr,
                                std::string key_prefix = {});
  ~SharedMemoryRegistry();
  SharedMemoryRegistry(const SharedMemoryRegistry&) = delete;
  SharedMemoryRegistry& operator=(const SharedMemoryRegistry&) = delete;

  // Opens and maps `key` and registers [offset, offset + byte_size) of it as
  // `name`. INVALID_ARGUMENT for an empty name, a key that is not "/name", a
  // zero size or a window past the object's end; PERMISSION_DENIED for a key
  // without the key prefix or an object another user owns (st_uid is not
  // the server's effective uid); NOT_FOUND when no such object exists;
  // ALREADY_EXISTS for a name in use; RESOURCE_EXHAUSTED past max_regions;
  // FAILED_PRECONDITION when the object cannot be opened or mapped.
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
  // ALREADY_EXISTS for a name in use, RESOURCE_EXHAUSTED at max_regions.
  Status CheckRoomLocked(const std::string& name, const std::string& what) const;
  void UpdateGaugesLocked();

  const size_t max_regions_;
  const std::string key_prefix_;
  Gauge* regions_gauge_ = nullptr;
  Gauge* bytes_gauge_ = nullptr;
  mutable std::mutex mu_;
  std::map<std::string, Region, std::less<>> regions_;
};

// Why a request naming shared memory is refused when the extension is off;
// every frontend says the same.
inline constexpr std::string_view kSharedMemoryDisabled =
    "system shared memory is disabled on this server (shared_memory.enabled in the server config)";

// The helpers below turn the shared memory parameters of a request into
// tensors and output destinations, the same for every protocol (HTTP's JSON,
// gRPC's InferParameter maps both decode into core::Parameters first).

// A tensor's place in a registered region as a request names it (Triton's
// parameters "shared_memory_region" and "shared_memory_byte_size", both
// required, and "shared_memory_offset", 0 when absent).
struct SharedMemoryRef {
  std::string region;  // empty: the tensor is not in shared memory
  uint64_t offset = 0;
  uint64_t byte_size = 0;
};

// Reads those parameters of an input or output into *out, which stays empty
// when none is there. INVALID_ARGUMENT, naming `where`, when only some are
// there or one has the wrong type or a negative value.
Status ReadSharedMemoryRef(const Parameters& p, const std::string& where, SharedMemoryRef* out);

// The window `ref` names; `what` names the tensor in errors. INVALID_ARGUMENT
// when `registry` is null (the extension is off: kSharedMemoryDisabled) or
// the region is unknown (the request's fault, not an unknown model);
// otherwise as SharedMemoryRegistry::View.
StatusOr<SharedMemoryView> ResolveSharedMemory(const SharedMemoryRegistry* registry,
                                               const SharedMemoryRef& ref, const std::string& what);

// An input tensor in the window `ref` names: it borrows the mapping (no copy)
// when the window is aligned to the element size, else holds a copy.
// INVALID_ARGUMENT as above, or when the window's size disagrees with `shape`.
StatusOr<Tensor> SharedMemoryInput(const SharedMemoryRegistry* registry, const SharedMemoryRef& ref,
                                   DataType dtype, const Shape& shape, const std::string& what);

// Where an output goes when the request put it in the window `ref` names.
// INVALID_ARGUMENT as above, or when the region is read-only to the server.
StatusOr<OutputDestination> SharedMemoryOutput(const SharedMemoryRegistry* registry,
                                               const SharedMemoryRef& ref, const std::string& what);

// INVALID_ARGUMENT naming both sizes when `byte_size` bytes of output
// `output` do not fit in `destination`.
Status CheckOutputFits(const OutputDestination& destination, const std::string& output, size_t byte_size);

// Copies `size` bytes between our memory and a mapping another process may
// shrink at any moment, without faulting: they go through process_vm_readv /
// process_vm_writev on our own pid, which report a page past the object's end
// as EFAULT where a plain access raises SIGBUS. FAILED_PRECONDITION naming
// `what` when the mapping no longer covers the range. Where those calls are
// not allowed (a seccomp filter), a plain copy is made, unguarded.
// Cost for 600 KB (a MobileNet input) on the 2-core test box: 21 us read,
// 18 us write, against 12 us for memcpy; small next to the inference.
Status CopyFromMapping(const void* mapping, size_t size, void* out, std::string_view what);
Status CopyToMapping(void* mapping, const void* data, size_t size, std::string_view what);

// Writes the `size` bytes of output `output` into `destination`, guarded as
// CopyToMapping; INVALID_ARGUMENT as CheckOutputFits.
Status WriteOutput(const OutputDestination& destination, const std::string& output, const void* data,
                   size_t size);

}  // namespace infergate::core
