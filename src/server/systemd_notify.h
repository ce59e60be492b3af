// SystemdNotifier: the service manager's notification protocol (sd_notify(3))
// without libsystemd: each state ("READY=1", "STOPPING=1", "WATCHDOG=1") is
// one datagram on the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or an
// abstract name written with a leading '@'). Outside systemd (no
// NOTIFY_SOCKET) every call does nothing.
//
// Thread-safety: Notify may be called from any thread (one sendto each).
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>

namespace infergate::server {

class SystemdNotifier {
 public:
  // `notify_socket` and `watchdog_usec` are the values of $NOTIFY_SOCKET and
  // $WATCHDOG_USEC (null or empty: not set).
  SystemdNotifier(const char* notify_socket, const char* watchdog_usec);
  ~SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  bool enabled() const { return fd_ >= 0; }
  // Sends `state` (newline-separated assignments). False when not enabled or
  // the send failed (the failure is logged once).
  bool Notify(std::string_view state);
  // How often to send WATCHDOG=1: half of WATCHDOG_USEC; zero when the
  // watchdog is off (or nothing listens).
  std::chrono::milliseconds watchdog_interval() const { return watchdog_interval_; }

 private:
  std::string address_;  // the socket's path; '\0' first for an abstract name
  int fd_ = -1;
  std::chrono::milliseconds watchdog_interval_{0};
  std::atomic<bool> warned_{false};
};

}  // namespace infergate::server
