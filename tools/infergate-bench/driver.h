// Runs load against a Target and measures it.
//
// Closed loop (`concurrency`): that many requests are kept in flight; each
// completion submits the next one. Open loop (`rate`): requests are submitted
// on a fixed timetable (RateSchedule) whatever the replies do, and latency is
// measured from each request's due time, so overload shows as latency, not as
// a slower client.
//
// A run is `warmup` (not measured) then `duration` (measured); then requests
// still in flight get up to `drain_timeout` to finish, and those that do not
// count as "timeout" errors.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "progress.h"
#include "recorder.h"
#include "target.h"

namespace infergate::bench {

struct LoadSpec {
  std::string label;
  std::string target;  // http | grpc | mqtt, for the report
  bool open_loop = false;
  int concurrency = 1;
  double rate = 0;
  Nanos warmup = std::chrono::seconds(1);
  Nanos duration = std::chrono::seconds(10);
  Nanos drain_timeout = std::chrono::seconds(10);
  // Open loop: requests in flight (including those queued in the client)
  // beyond this are not sent and count as "client_overload" errors.
  uint64_t max_outstanding = 100000;
};

// Makes a fresh target for one run (one concurrency level or rate).
using TargetFactory = std::function<core::StatusOr<std::unique_ptr<Target>>(const LoadSpec&)>;

// Runs one level. Fails only when the target cannot be started; request
// errors are counted in the result.
core::StatusOr<RunResult> RunLoad(const TargetFactory& make_target, const LoadSpec& spec,
                                  ProgressLine* progress);

}  // namespace infergate::bench
