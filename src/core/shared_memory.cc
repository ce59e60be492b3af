#include "core/shared_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace infergate::core {
namespace {

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string ErrnoText(int err) { return std::strerror(err); }

Status CheckKey(const std::string& key) {
  if (key.size() < 2 || key[0] != '/' || key.find('/', 1) != std::string::npos || key.size() > 255) {
    return InvalidArgument("shared memory key " + Quote(key) +
                           " must be a POSIX shared memory name: '/' then 1 to 254 characters "
                           "without another '/'");
  }
  if (key.find('\0') != std::string::npos) {
    return InvalidArgument("shared memory key must not contain a NUL byte");
  }
  return Status::Ok();
}

// Copies between our address space and itself through the kernel, which
// reports a fault instead of raising it. False on a fault; *unguarded set
// when the calls are refused (ENOSYS, EPERM) and nothing was copied.
bool KernelCopy(bool read, uint8_t* local, uint8_t* remote, size_t size, bool* unguarded) {
  const pid_t self = getpid();
  while (size > 0) {
    iovec l{local, size};
    iovec r{remote, size};
    const ssize_t n = read ? process_vm_readv(self, &l, 1, &r, 1, 0)
                           : process_vm_writev(self, &l, 1, &r, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
      *unguarded = true;
      return false;
    }
    if (n <= 0) return false;  // EFAULT, or no progress: a page is gone
    local += n;
    remote += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

Status MappingFault(std::string_view what) {
  return FailedPrecondition(std::string(what) +
                            ": the shared memory object was truncated while in use (the mapping "
                            "no longer covers the tensor)");
}

}  // namespace

Status CopyFromMapping(const void* mapping, size_t size, void* out, std::string_view what) {
  bool unguarded = false;
  if (KernelCopy(true, static_cast<uint8_t*>(out), static_cast<uint8_t*>(const_cast<void*>(mapping)),
                 size, &unguarded)) {
    return Status::Ok();
  }
  if (!unguarded) return MappingFault(what);
  std::memcpy(out, mapping, size);
  return Status::Ok();
}

Status CopyToMapping(void* mapping, const void* data, size_t size, std::string_view what) {
  bool unguarded = false;
  if (KernelCopy(false, static_cast<uint8_t*>(const_cast<void*>(data)), static_cast<uint8_t*>(mapping),
                 size, &unguarded)) {
    return Status::Ok();
  }
  if (!unguarded) return MappingFault(what);
  std::memcpy(mapping, data, size);
  return Status::Ok();
}

// One mmap of a window of a shared memory object, unmapped when the last view goes.
struct SharedMemoryRegistry::Mapping {
  int fd = -1;
  void* base = MAP_FAILED;
  size_t length = 0;
  uint8_t* data = nullptr;  // the region's first byte
  uint64_t object_offset = 0;
  bool writable = false;

  ~Mapping() {
    if (base != MAP_FAILED) munmap(base, length);
    if (fd >= 0) close(fd);
  }
};

SharedMemoryRegistry::SharedMemoryRegistry(size_t max_regions, MetricsRegistry* metrics, std::string key_prefix)
    : max_regions_(max_regions), key_prefix_(std::move(key_prefix)) {
  if (metrics) {
    regions_gauge_ = &metrics->GetGauge("infergate_shared_memory_regions",
                                        "System shared memory regions registered by clients");
    bytes_gauge_ = &metrics->GetGauge("infergate_shared_memory_bytes",
                                      "Bytes of the registered system shared memory regions");
  }
}

SharedMemoryRegistry::~SharedMemoryRegistry() = default;

Status SharedMemoryRegistry::Register(const std::string& name, const std::string& key,
                                      uint64_t offset, uint64_t byte_size) {
  if (name.empty()) return InvalidArgument("a shared memory region needs a name");
  RETURN_IF_ERROR(CheckKey(key));
  if (key.compare(0, key_prefix_.size(), key_prefix_) != 0) {
    return PermissionDenied("shared memory key " + Quote(key) + " does not start with " + Quote(key_prefix_) +
                            " (shared_memory.key_prefix)");
  }
  const std::string what = "shared memory region " + Quote(name);
  if (byte_size == 0) return InvalidArgument(what + ": byte_size must be positive");
  {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(CheckRoomLocked(name, what));
  }

  auto mapping = std::make_shared<Mapping>();
  mapping->writable = true;
  mapping->fd = shm_open(key.c_str(), O_RDWR, 0);
  if (mapping->fd < 0 && errno == EACCES) {
    mapping->writable = false;
    mapping->fd = shm_open(key.c_str(), O_RDONLY, 0);
  }
  if (mapping->fd < 0) {
    const int err = errno;
    if (err == ENOENT) return NotFound(what + ": no shared memory object " + Quote(key));
    return FailedPrecondition(what + ": cannot open shared memory object " + Quote(key) + ": " +
                              ErrnoText(err));
  }
  struct stat st {};
  if (fstat(mapping->fd, &st) != 0) {
    return FailedPrecondition(what + ": cannot stat " + Quote(key) + ": " + ErrnoText(errno));
  }
  if (st.st_uid != geteuid()) {
    return PermissionDenied(what + ": " + Quote(key) + " belongs to uid " + std::to_string(st.st_uid) +
                            ", not to the server's user (uid " + std::to_string(geteuid()) + ")");
  }
  const auto object_size = static_cast<uint64_t>(st.st_size);
  if (offset > object_size || byte_size > object_size - offset) {
    return InvalidArgument(what + ": offset " + std::to_string(offset) + " + byte_size " +
                           std::to_string(byte_size) + " is past the end of " + Quote(key) +
                           " (" + std::to_string(object_size) + " bytes)");
  }
  const auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t map_offset = offset / page * page;
  mapping->length = static_cast<size_t>(offset - map_offset + byte_size);
  mapping->base = mmap(nullptr, mapping->length,
                       PROT_READ | (mapping->writable ? PROT_WRITE : 0), MAP_SHARED, mapping->fd,
                       static_cast<off_t>(map_offset));
  if (mapping->base == MAP_FAILED) {
    return FailedPrecondition(what + ": cannot map " + Quote(key) + ": " + ErrnoText(errno));
  }
  mapping->data = static_cast<uint8_t*>(mapping->base) + (offset - map_offset);
  mapping->object_offset = offset;

  std::lock_guard lock(mu_);
  // Checked again: another registration may have taken the name or the last slot meanwhile.
  RETURN_IF_ERROR(CheckRoomLocked(name, what));
  regions_.emplace(name, Region{{name, key, offset, byte_size}, std::move(mapping)});
  UpdateGaugesLocked();
  return Status::Ok();
}

Status SharedMemoryRegistry::Unregister(std::string_view name) {
  std::shared_ptr<Mapping> released;  // unmapped outside the lock when no view holds it
  std::lock_guard lock(mu_);
  auto it = regions_.find(name);
  if (it == regions_.end()) return NotFound("no shared memory region " + Quote(name) + " is registered");
  released = std::move(it->second.mapping);
  regions_.erase(it);
  UpdateGaugesLocked();
  return Status::Ok();
}

void SharedMemoryRegistry::UnregisterAll() {
  std::map<std::string, Region, std::less<>> released;
  std::lock_guard lock(mu_);
  released.swap(regions_);
  UpdateGaugesLocked();
}

StatusOr<std::vector<SharedMemoryRegistry::RegionStatus>> SharedMemoryRegistry::List(
    std::string_view name) const {
  std::vector<RegionStatus> out;
  std::lock_guard lock(mu_);
  if (!name.empty()) {
    auto it = regions_.find(name);
    if (it == regions_.end()) return NotFound("no shared memory region " + Quote(name) + " is registered");
    out.push_back(it->second.status);
    return out;
  }
  for (const auto& [n, region] : regions_) out.push_back(region.status);
  return out;
}

StatusOr<SharedMemoryView> SharedMemoryRegistry::View(std::string_view name, uint64_t offset,
                                                      uint64_t byte_size,
                                                      std::string_view what) const {
  std::shared_ptr<Mapping> mapping;
  uint64_t region_size = 0;
  {
    std::lock_guard lock(mu_);
    auto it = regions_.find(name);
    if (it == regions_.end()) {
      return NotFound(std::string(what) + ": no shared memory region " + Quote(name) + " is registered");
    }
    mapping = it->second.mapping;
    region_size = it->second.status.byte_size;
  }
  if (offset > region_size || byte_size > region_size - offset) {
    return InvalidArgument(std::string(what) + ": shared_memory_offset " + std::to_string(offset) +
                           " + shared_memory_byte_size " + std::to_string(byte_size) +
                           " is past the end of region " + Quote(name) + " (" +
                           std::to_string(region_size) + " bytes)");
  }
  struct stat st {};
  if (fstat(mapping->fd, &st) != 0 ||
      static_cast<uint64_t>(st.st_size) < mapping->object_offset + offset + byte_size) {
    return FailedPrecondition(std::string(what) + ": the shared memory object behind region " +
                              Quote(name) + " no longer covers it (truncated after registration)");
  }
  SharedMemoryView view;
  view.data = mapping->data + offset;
  view.size = static_cast<size_t>(byte_size);
  view.writable = mapping->writable;
  view.owner = std::move(mapping);
  return view;
}

size_t SharedMemoryRegistry::size() const {
  std::lock_guard lock(mu_);
  return regions_.size();
}

Status SharedMemoryRegistry::CheckRoomLocked(const std::string& name, const std::string& what) const {
  if (regions_.count(name)) return AlreadyExists(what + " is already registered");
  if (regions_.size() >= max_regions_) {
    return ResourceExhausted(what + ": " + std::to_string(max_regions_) +
                             " regions are registered already, the most this server allows "
                             "(shared_memory.max_regions)");
  }
  return Status::Ok();
}

void SharedMemoryRegistry::UpdateGaugesLocked() {
  if (!regions_gauge_) return;
  uint64_t bytes = 0;
  for (const auto& [n, region] : regions_) bytes += region.status.byte_size;
  regions_gauge_->Set(static_cast<double>(regions_.size()));
  bytes_gauge_->Set(static_cast<double>(bytes));
}

Status ReadSharedMemoryRef(const Parameters& p, const std::string& where, SharedMemoryRef* out) {
  auto region = p.find("shared_memory_region");
  auto size = p.find("shared_memory_byte_size");
  auto offset = p.find("shared_memory_offset");
  if (region == p.end() && size == p.end() && offset == p.end()) return Status::Ok();
  if (region == p.end() || size == p.end()) {
    return InvalidArgument(where + ": shared memory needs both 'shared_memory_region' and "
                           "'shared_memory_byte_size'");
  }
  const auto* name = std::get_if<std::string>(&region->second);
  if (!name || name->empty()) {
    return InvalidArgument(where + " parameter 'shared_memory_region' must be a non-empty string");
  }
  const auto* bytes = std::get_if<int64_t>(&size->second);
  if (!bytes || *bytes < 0) {
    return InvalidArgument(where + " parameter 'shared_memory_byte_size' must be a non-negative integer");
  }
  const int64_t* at = nullptr;
  if (offset != p.end()) {
    at = std::get_if<int64_t>(&offset->second);
    if (!at || *at < 0) {
      return InvalidArgument(where + " parameter 'shared_memory_offset' must be a non-negative integer");
    }
  }
  out->region = *name;
  out->byte_size = static_cast<uint64_t>(*bytes);
  out->offset = at ? static_cast<uint64_t>(*at) : 0;
  return Status::Ok();
}

StatusOr<SharedMemoryView> ResolveSharedMemory(const SharedMemoryRegistry* registry,
                                               const SharedMemoryRef& ref, const std::string& what) {
  if (!registry) return InvalidArgument(what + ": " + std::string(kSharedMemoryDisabled));
  auto view = registry->View(ref.region, ref.offset, ref.byte_size, what);
  if (view.status().code() == StatusCode::kNotFound) {
    return InvalidArgument(view.status().message());  // a bad request, not an unknown model
  }
  return view;
}

StatusOr<Tensor> SharedMemoryInput(const SharedMemoryRegistry* registry, const SharedMemoryRef& ref,
                                   DataType dtype, const Shape& shape, const std::string& what) {
  ASSIGN_OR_RETURN(SharedMemoryView view, ResolveSharedMemory(registry, ref, what));
  std::vector<uint8_t> bytes(view.size);
  RETURN_IF_ERROR(CopyFromMapping(view.data, view.size, bytes.data(),
                                  what + " in shared memory region " + Quote(ref.region)));
  Tensor tensor = Tensor::FromBytes(dtype, shape, std::move(bytes));
  RETURN_IF_ERROR(tensor.Validate(what));
  return tensor;
}

StatusOr<OutputDestination> SharedMemoryOutput(const SharedMemoryRegistry* registry,
                                               const SharedMemoryRef& ref, const std::string& what) {
  ASSIGN_OR_RETURN(SharedMemoryView view, ResolveSharedMemory(registry, ref, what));
  if (!view.writable) {
    return InvalidArgument(what + ": shared memory region " + Quote(ref.region) + " is read-only to the server");
  }
  return OutputDestination{ref.region, std::move(view.owner), view.data, view.size};
}

Status CheckOutputFits(const OutputDestination& destination, const std::string& output, size_t byte_size) {
  if (byte_size <= destination.capacity) return Status::Ok();
  return InvalidArgument("output " + Quote(output) + " is " + std::to_string(byte_size) +
                         " bytes but its shared_memory_byte_size in region " + Quote(destination.region) +
                         " is " + std::to_string(destination.capacity));
}

Status WriteOutput(const OutputDestination& destination, const std::string& output, const void* data,
                   size_t size) {
  RETURN_IF_ERROR(CheckOutputFits(destination, output, size));
  return CopyToMapping(destination.data, data, size,
                       "output " + Quote(output) + " in shared memory region " + Quote(destination.region));
}

}  // namespace infergate::core
