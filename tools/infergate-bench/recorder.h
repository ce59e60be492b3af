// Collects the outcomes of one run: latency of successful requests (from
// their start time), errors by kind, and completions per second.
//
// A run is warm-up, then the measured window [window_start, window_end).
// Latency and errors count the requests that started inside the window;
// throughput counts the successful completions that happened inside it.
//
// Thread-safety: every method is thread-safe (one mutex; outcomes arrive on
// the target's thread, the driver reads progress and the result).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "histogram.h"
#include "target.h"

namespace infergate::bench {

// The figures of one run (one concurrency level or one rate).
struct RunResult {
  std::string label;   // what was measured, e.g. "node-peer"
  std::string target;  // http | grpc | mqtt
  std::string mode;    // concurrency | rate
  int concurrency = 0;  // closed loop: requests in flight; open loop: 0
  double rate = 0;      // open loop: offered requests per second; closed: 0
  double duration_s = 0;
  uint64_t requests = 0;  // started in the window and finished (ok or error)
  uint64_t ok = 0;
  uint64_t errors = 0;
  std::map<std::string, uint64_t> errors_by_kind;
  double throughput = 0;  // successful completions per second in the window
  LatencyHistogram latency;  // successful requests started in the window
};

struct Progress {
  uint64_t completed = 0;  // all outcomes so far, warm-up included
  uint64_t ok = 0;
  uint64_t errors = 0;
};

class Recorder {
 public:
  // Sets the measured window; called before the first request is submitted.
  void SetWindow(TimePoint window_start, TimePoint window_end);

  void Add(const Outcome& outcome);
  // Requests of the window that had no outcome when the run ended.
  void AddUnfinished(uint64_t n, const std::string& kind);

  Progress progress() const;
  // Fills the counters and the histogram of `result`.
  void Fill(RunResult* result) const;

 private:
  mutable std::mutex mu_;
  TimePoint window_start_;
  TimePoint window_end_;
  Progress progress_;
  RunResult window_;  // only the counters and the histogram are used
  uint64_t ok_completions_in_window_ = 0;
};

}  // namespace infergate::bench
