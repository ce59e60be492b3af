// The real nginx serving a folder on a free loopback port, for end-to-end
// tests of fleet model sync against a static web server. nginx runs in the
// foreground (`daemon off`) as a child process with its own config, pid file,
// error log and temp folders in a temp dir, so nothing of the system's nginx
// is used or left behind; Stop (or the destructor) ends it. Start waits until
// the port accepts connections. A root run keeps its workers as root (they
// could not read the test's 0700 temp folders as nobody).
// Thread-safety: one thread (the test's).
#pragma once

#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "testing/network.h"
#include "testing/process.h"
#include "testing/temp_dir.h"

namespace infergate::testing {

class NginxServer {
 public:
  explicit NginxServer(std::filesystem::path root) : root_(std::move(root)) {}
  ~NginxServer() { Stop(); }

  static std::string Program() { return FindProgram("nginx"); }

  // Starts on a free port (a few tries, in case another test took it), or
  // on `port` when given (e.g. one a client already tries in vain).
  bool Start(int port = 0) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = port > 0 ? port : FreePort();
      if (port_ > 0 && Launch()) return true;
      if (port > 0) return false;
    }
    return false;
  }
  void Stop() {
    if (process_) process_->Stop(SIGTERM);
    process_.reset();
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }
  // nginx's error log so far (start-up problems, refused requests).
  std::string ErrorLog() const {
    std::ifstream in(dir_.path() / "error.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str() + (process_ ? process_->Output() : "");
  }

 private:
  // The temp path directives of the modules this nginx has (nginx-light
  // leaves some out, and an unknown directive stops nginx).
  std::string TempPaths() const {
    Process version({Program(), "-V"});
    version.Wait();
    const std::string built = version.Output();
    const std::string temp = (dir_.path() / "tmp").string();
    std::string out = "  client_body_temp_path " + temp + "/body;\n";
    for (const char* module : {"proxy", "fastcgi", "uwsgi", "scgi"}) {
      if (built.find(std::string("--without-http_") + module + "_module") != std::string::npos) continue;
      out += std::string("  ") + module + "_temp_path " + temp + "/" + module + ";\n";
    }
    return out;
  }

  bool Launch() {
    const std::string d = dir_.path().string();
    std::filesystem::create_directories(dir_.path() / "tmp");
    const passwd* me = getpwuid(getuid());
    const std::string user = getuid() == 0 && me ? "user " + std::string(me->pw_name) + ";\n" : "";
    auto conf = dir_.Write("nginx.conf", user + "worker_processes 1;\npid " + d + "/nginx.pid;\nerror_log " + d +
                                             "/error.log;\nevents { worker_connections 64; }\nhttp {\n"
                                             "  access_log off;\n" + TempPaths() +
                                             "  server {\n    listen 127.0.0.1:" + std::to_string(port_) +
                                             ";\n    root " + root_.string() + ";\n  }\n}\n");
    process_ = std::make_unique<Process>(std::vector<std::string>{
        Program(), "-p", d, "-e", d + "/error.log", "-c", conf.string(), "-g", "daemon off;"});
    if (process_->started() && WaitForPort(port_, std::chrono::seconds(10))) return true;
    process_->Stop(SIGTERM);  // not SIGKILL: the master takes its worker along
    process_.reset();
    return false;
  }

  std::filesystem::path root_;
  TempDir dir_;
  int port_ = -1;
  std::unique_ptr<Process> process_;
};

}  // namespace infergate::testing
