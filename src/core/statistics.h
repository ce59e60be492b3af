// Per model version inference statistics: the one source for the v2
// statistics extension (HTTP and gRPC) and for the Prometheus metrics.
//
// Semantics follow Triton's statistics extension:
//   success / fail      requests answered OK / with an error: count, and the
//                       time from admission to the answer (ns)
//   queue               successful requests: time from admission to the start
//                       of their execution
//   compute_input       successful requests: their execution's input
//                       preparation (batch assembly, concatenation)
//   compute_infer       successful requests: their execution's backend run
//   compute_output      successful requests: their execution's output split
//   (queue and the three compute figures count requests, so their counts are
//   equal to each other and to success; a request in a batch of several adds
//   the whole execution's durations)
//   inference_count     rows inferred: the batch sizes of successful requests
//   execution_count     successful backend runs (batches)
//   last_inference      wall-clock ms since the epoch of the last success
//   batch_stats         per execution batch size (rows): executions and the
//                       execution's compute_input / infer / output durations
//
// Where the figures are kept: the Dispatcher records success/fail (it sees
// every answer), the Scheduler records queue, compute and executions. Counts
// and nanosecond totals live in the MetricsRegistry's counters (and the
// registry's histograms are observed by the same calls), so /metrics renders
// the same numbers a snapshot reports. Metric names: docs/metrics.md.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "core/status.h"

namespace infergate::core {

struct DurationStat {
  uint64_t count = 0;
  uint64_t ns = 0;
  bool operator==(const DurationStat&) const = default;
};

struct BatchStat {
  uint64_t batch_size = 0;
  DurationStat compute_input;
  DurationStat compute_infer;
  DurationStat compute_output;
};

// A consistent-enough copy of one version's figures (each figure is read
// atomically; figures recorded while the snapshot is taken may be half in).
struct StatisticsSnapshot {
  std::string name;
  int64_t version = 0;
  uint64_t last_inference_ms = 0;  // 0: never
  uint64_t inference_count = 0;
  uint64_t execution_count = 0;
  DurationStat success;
  DurationStat fail;
  DurationStat queue;
  DurationStat compute_input;
  DurationStat compute_infer;
  DurationStat compute_output;
  std::vector<BatchStat> batch_stats;  // ascending batch_size
};

// The three phases of one execution.
struct ComputeTimes {
  Duration input{};
  Duration infer{};
  Duration output{};
};

class VersionStatistics {
 public:
  // `registry`: where the counters and histograms live (not owned, outlives
  // this); null keeps them in a private registry. `wall` is not owned.
  VersionStatistics(MetricsRegistry* registry, std::string model, int64_t version,
                    const WallClock* wall = &SystemWallClock::Instance());

  // The Dispatcher: one request answered, `total` after its admission.
  void RecordSuccess(Duration total);
  void RecordFailure(Duration total);
  // The Scheduler: one request of `rows` rows ran successfully after waiting
  // `queue`, in an execution that took `compute`.
  void RecordRequest(int64_t rows, Duration queue, const ComputeTimes& compute);
  // The Scheduler: one successful backend run of `batch_size` rows.
  void RecordExecution(int64_t batch_size, const ComputeTimes& compute);

  StatisticsSnapshot Snapshot() const;

 private:
  struct Phase {
    Counter* count;
    Counter* ns;
  };
  struct BatchCounters {
    DurationStat input, infer, output;
  };

  std::unique_ptr<MetricsRegistry> own_registry_;  // when none was given
  const std::string model_;
  const int64_t version_;
  const WallClock* const wall_;

  Phase success_, fail_, queue_, input_, infer_, output_;
  Counter* inference_count_;
  Counter* executions_;
  Histogram* request_duration_;
  Histogram* queue_duration_;
  Histogram* compute_duration_;
  Histogram* batch_size_;
  std::atomic<uint64_t> last_inference_ms_{0};

  mutable std::mutex batch_mu_;
  std::map<int64_t, BatchCounters> batches_;  // GUARDED_BY(batch_mu_)
};

// What the frontends read statistics through.
class StatisticsSource {
 public:
  virtual ~StatisticsSource() = default;
  // The figures of `model` version `version` (a number, not kLatestVersion)
  // since the server started; NOT_FOUND when that version was never loaded.
  // Thread-safe.
  virtual StatusOr<StatisticsSnapshot> Snapshot(const std::string& model, int64_t version) const = 0;
};

}  // namespace infergate::core
