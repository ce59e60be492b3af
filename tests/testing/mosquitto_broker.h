// The real mosquitto broker on a free loopback port, for end-to-end tests.
// Start() waits for its "running" log line; Restart() brings it back on the
// same port (to test reconnects); Kill() + Relaunch() crash it (SIGKILL) and
// start it again on the same port with the same config and, with
// Persistence::kOn, the same persistence file (to test broker crashes).
// Thread-safety: one thread (the test's).
#pragma once

#include <pwd.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "testing/network.h"
#include "testing/process.h"
#include "testing/temp_dir.h"

namespace infergate::testing {

class MosquittoBroker {
 public:
  // kOn: mosquitto.db in the broker's temp folder, saved as often as
  // mosquitto allows (PersistenceConfig says what that guarantees).
  enum class Persistence { kOff, kOn };

  // `extra_config` is appended to the generated mosquitto.conf.
  explicit MosquittoBroker(std::string extra_config = "", Persistence persistence = Persistence::kOff)
      : extra_(std::move(extra_config)), persistence_(persistence) {}

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
  // kill -9: no shutdown save; what is not in the last autosave is gone.
  void Kill() {
    if (process_) process_->Stop(SIGKILL);
    process_.reset();
  }
  // Starts it again on the same port after Stop() or Kill().
  bool Relaunch() { return !process_ && Launch(); }

  int port() const { return port_; }
  // The broker's process id (to stop it with SIGSTOP), or -1.
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  std::string url() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }
  // Its log so far (with persistence: the log file, across restarts).
  std::string Output() {
    if (persistence_ == Persistence::kOn) {
      std::ifstream in(dir_.path() / "mosquitto.log");
      std::stringstream ss;
      ss << in.rdbuf();
      return ss.str();
    }
    return process_ ? process_->Output() : "";
  }

  // mosquitto.conf(5) (2.0.11): persistence is a snapshot of the in-memory
  // database written when mosquitto exits, on SIGUSR1, or by autosave. With
  // `autosave_on_changes true` the snapshot is written once the number of
  // changes (subscription changes, retained and queued messages) reaches
  // `autosave_interval`. 10 here: every save rewrites the whole database,
  // and saving after every change (1) holds the broker to about 250 QoS 1
  // requests a second, so a backlog after an outage (and mosquitto's own
  // re-sends of restored in-flight messages) drains for minutes; after 10
  // changes it keeps up, and what a kill -9 can lose is still the last few
  // milliseconds. Nothing is saved per message before it is acknowledged,
  // so a kill -9 loses what changed since the last snapshot, whose PUBACKs
  // may already have gone out.
  // The log goes to a file: every save writes a line, more than a pipe
  // nobody reads can take. `user` keeps a broker started as root as that
  // user (it would switch to "mosquitto", which cannot write in our folder).
  static std::string PersistenceConfig(const std::string& location) {
    const passwd* me = getpwuid(getuid());
    return "persistence true\npersistence_location " + location +
           "/\npersistence_file mosquitto.db\nautosave_interval 10\nautosave_on_changes true\n"
           "log_dest file " + location + "/mosquitto.log\n" + (me ? "user " + std::string(me->pw_name) + "\n" : "");
  }

 private:
  bool Launch() {
    const std::string persistence = persistence_ == Persistence::kOn
                                        ? PersistenceConfig(dir_.path().string())
                                        : std::string("persistence false\n");
    auto conf = dir_.Write("mosquitto.conf", "listener " + std::to_string(port_) +
                                                 " 127.0.0.1\nallow_anonymous true\n" + persistence +
                                                 "max_queued_messages 100000\n" + extra_);
    process_ = std::make_unique<Process>(std::vector<std::string>{"/usr/sbin/mosquitto", "-c", conf.string()});
    if (!process_->started()) return false;
    if (persistence_ == Persistence::kOn) {
      if (WaitForPort(port_, Scaled(std::chrono::seconds(10)))) return true;
    } else if (process_->WaitForLine("mosquitto version .* running", std::chrono::seconds(10))) {
      return true;
    }
    process_->Stop(SIGKILL);
    process_.reset();
    return false;
  }

  std::string extra_;
  Persistence persistence_;
  TempDir dir_;
  int port_ = -1;
  std::unique_ptr<Process> process_;
};

}  // namespace infergate::testing
