// Runs a real program (the infergate binary, mosquitto) for end-to-end tests:
// starts it with arguments, collects its stdout+stderr, waits for a line that
// matches a pattern (never a sleep), and stops it on destruction.
// Deadlines are scaled by INFERGATE_TEST_TIME_SCALE (testing/time_scale.h).
// In sanitizer builds, a report (AddressSanitizer, LeakSanitizer,
// UndefinedBehaviorSanitizer) in the program's output fails the running test
// once the program has ended, whatever its exit code (in GoogleTest
// programs, see infergate_add_test; elsewhere, e.g. the benchmarks, the report
// is printed to stderr).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "testing/time_scale.h"

#ifdef INFERGATE_TESTING_GTEST
#include <gtest/gtest.h>
#else
#include <cstdio>
#endif

namespace infergate::testing {

// True if `output` holds a sanitizer report.
inline bool HasSanitizerReport(const std::string& output) {
  for (const char* marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", ": runtime error: ",
                             "SUMMARY: UndefinedBehaviorSanitizer"}) {
    if (output.find(marker) != std::string::npos) return true;
  }
  return false;
}

class Process {
 public:
  explicit Process(std::vector<std::string> argv) : argv_(std::move(argv)) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      dup2(fds[1], STDERR_FILENO);
      std::vector<char*> args;
      for (auto& a : argv_) args.push_back(a.data());
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(fds[1]);
    fd_ = fds[0];
  }
  ~Process() {
    Stop(SIGKILL);
    if (fd_ >= 0) close(fd_);
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // Reads output until a line matches `pattern` or `timeout` passes or the
  // process exits; returns the match groups of the first matching line after
  // the previous match ([0] is the whole match).
  std::optional<std::vector<std::string>> WaitForLine(const std::string& pattern,
                                         std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::regex re(pattern);
    auto end = std::chrono::steady_clock::now() + Scaled(timeout);
    size_t scanned = consumed_;
    while (true) {
      while (true) {
        size_t nl = output_.find('\n', scanned);
        if (nl == std::string::npos) break;
        const std::string line = output_.substr(scanned, nl - scanned);
        scanned = nl + 1;
        std::smatch m;
        if (std::regex_search(line, m, re)) {
          consumed_ = scanned;
          return std::vector<std::string>(m.begin(), m.end());
        }
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !ReadSome(static_cast<int>(left.count()))) return std::nullopt;
    }
  }

  // Everything the process printed so far (reads what is pending first).
  const std::string& Output() {
    while (ReadSome(0)) {
    }
    return output_;
  }

  // Sends `sig` and waits up to `timeout` for the exit; returns the exit code
  // (128 + signal when killed by one), or -1 on time-out. Once the program
  // has ended, a sanitizer report in its output fails the test.
  int Stop(int sig = SIGTERM, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    if (pid_ <= 0) return exit_code_;
    kill(pid_, sig);
    return Wait(timeout);
  }

  int Wait(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    if (pid_ <= 0) return exit_code_;
    auto end = std::chrono::steady_clock::now() + Scaled(timeout);
    while (true) {
      int status = 0;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (HasSanitizerReport(Output())) ReportSanitizerFinding();
        return exit_code_;
      }
      if (std::chrono::steady_clock::now() > end) return -1;
      ReadSome(20);  // also drains the pipe so the child never blocks on a full pipe
    }
  }

 private:
  void ReportSanitizerFinding() const {
    const std::string what = "sanitizer report from " + argv_[0] + " (exit code " + std::to_string(exit_code_) + ")";
#ifdef INFERGATE_TESTING_GTEST
    ADD_FAILURE() << what << ":\n" << output_;
#else
    std::fprintf(stderr, "%s:\n%s", what.c_str(), output_.c_str());
#endif
  }

  // Waits up to timeout_ms for output; false on EOF or time-out.
  bool ReadSome(int timeout_ms) {
    if (fd_ < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    ssize_t n = read(fd_, buf, sizeof(buf));
    if (n <= 0) return false;
    output_.append(buf, static_cast<size_t>(n));
    return true;
  }

  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  int fd_ = -1;
  int exit_code_ = -1;
  std::string output_;
  size_t consumed_ = 0;
};

}  // namespace infergate::testing
