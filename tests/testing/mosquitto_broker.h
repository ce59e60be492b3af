// The real mosquitto broker on a free loopback port, for end-to-end tests.
// Start() waits for its "running" log line; Restart() brings it back on the
// same port (to test reconnects).
#pragma once

#include <memory>
#include <string>

#include "testing/network.h"
#include "testing/process.h"
#include "testing/temp_dir.h"

namespace infergate::testing {

class MosquittoBroker {
 public:
  // `extra_config` is appended to the generated mosquitto.conf.
  explicit MosquittoBroker(std::string extra_config = "") : extra_(std::move(extra_config)) {}

  // Starts on a free port (a few tries, in case another test took it).
  bool Start() {
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = FreePort();
      if (port_ > 0 && Launch()) return true;
    }
    return false;
  }
  // Stops it (SIGTERM) and starts it again on the same port.
  bool Restart() {
    Stop();
    return Launch();
  }
  void Stop() {
    if (process_) process_->Stop(SIGTERM);
    process_.reset();
  }

  int port() const { return port_; }
  // The broker's process id (to stop it with SIGSTOP), or -1.
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  std::string url() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }
  std::string Output() { return process_ ? process_->Output() : ""; }

 private:
  bool Launch() {
    auto conf = dir_.Write("mosquitto.conf", "listener " + std::to_string(port_) +
                                                 " 127.0.0.1\nallow_anonymous true\npersistence false\n"
                                                 "max_queued_messages 100000\n" + extra_);
    process_ = std::make_unique<Process>(std::vector<std::string>{"/usr/sbin/mosquitto", "-c", conf.string()});
    if (!process_->started()) return false;
    if (process_->WaitForLine("mosquitto version .* running", std::chrono::seconds(10))) return true;
    process_->Stop(SIGKILL);
    process_.reset();
    return false;
  }

  std::string extra_;
  TempDir dir_;
  int port_ = -1;
  std::unique_ptr<Process> process_;
};

}  // namespace infergate::testing
