#include "server/systemd_notify.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace infergate::server {

SystemdNotifier::SystemdNotifier(const char* notify_socket, const char* watchdog_usec) {
  if (notify_socket == nullptr || notify_socket[0] == '\0') return;
  address_ = notify_socket;
  if (address_[0] == '@') address_[0] = '\0';
  if (address_[0] != '/' && address_[0] != '\0') {
    spdlog::warn("NOTIFY_SOCKET {} is neither a path nor an abstract name; not notifying systemd", notify_socket);
    return;
  }
  if (address_.size() >= sizeof(sockaddr_un::sun_path)) {
    spdlog::warn("NOTIFY_SOCKET {} is too long; not notifying systemd", notify_socket);
    return;
  }
  fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    spdlog::warn("systemd notification socket: {}", std::strerror(errno));
    return;
  }
  if (watchdog_usec != nullptr && watchdog_usec[0] != '\0') {
    char* end = nullptr;
    const unsigned long long usec = std::strtoull(watchdog_usec, &end, 10);
    if (*end == '\0' && usec > 0) watchdog_interval_ = std::chrono::milliseconds(std::max(1ULL, usec / 2000));
  }
}

SystemdNotifier::~SystemdNotifier() {
  if (fd_ >= 0) close(fd_);
}

bool SystemdNotifier::Notify(std::string_view state) {
  if (fd_ < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, address_.data(), address_.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size() +
                                          (address_[0] == '\0' ? 0 : 1));
  if (sendto(fd_, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), len) >= 0) {
    return true;
  }
  if (!warned_.exchange(true)) {
    spdlog::warn("systemd notification ({}) failed: {}", state, std::strerror(errno));
  }
  return false;
}

}  // namespace infergate::server
