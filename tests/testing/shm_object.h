// A POSIX shared memory object made for one test, as a client of the system
// shared memory extension would make it; unlinked at the end of the test.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace infergate::testing {

class ShmObject {
 public:
  explicit ShmObject(size_t size) : size_(size) {
    static std::atomic<int> counter{0};
    key_ = "/infergate_test-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    fd_ = shm_open(key_.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd_ < 0 || ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      throw std::runtime_error("cannot create shared memory object " + key_);
    }
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) throw std::runtime_error("cannot map shared memory object " + key_);
    data_ = static_cast<uint8_t*>(p);
  }
  ~ShmObject() {
    munmap(data_, size_);
    close(fd_);
    shm_unlink(key_.c_str());
  }
  ShmObject(const ShmObject&) = delete;
  ShmObject& operator=(const ShmObject&) = delete;

  const std::string& key() const { return key_; }
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  template <typename T>
  void Write(size_t offset, const T* values, size_t count) {
    std::memcpy(data_ + offset, values, count * sizeof(T));
  }
  // Gives the object to another user (needs the privilege to; false without it).
  bool Chown(uid_t uid) { return fchown(fd_, uid, static_cast<gid_t>(-1)) == 0; }
  // Shrinks (or grows) the object after the fact, as a misbehaving client might.
  void Resize(size_t size) {
    if (ftruncate(fd_, static_cast<off_t>(size)) != 0) throw std::runtime_error("ftruncate failed");
  }

 private:
  std::string key_;
  int fd_ = -1;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace infergate::testing
