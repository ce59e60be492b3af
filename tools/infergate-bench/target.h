// What the load driver needs from a protocol client: start it, submit
// requests, get each one's outcome once, stop it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"
#include "rate_schedule.h"

namespace infergate::bench {

// One request of a run. `start` is when it was due (open loop: its slot in the
// timetable) or sent (closed loop); latency is measured from it.
struct Request {
  uint64_t seq = 0;
  TimePoint start;
};

// How a request ended. `error` is empty on success, else a short kind that
// the report groups by: "connect", "io", "timeout", "http_503",
// "bad_reply", "error_reply", "publish", "grpc_UNAVAILABLE", ...
struct Outcome {
  Request request;
  TimePoint end;
  std::string error;
  bool ok() const { return error.empty(); }
};

using CompletionFn = std::function<void(const Outcome&)>;

class Target {
 public:
  virtual ~Target() = default;

  // Connects; blocks until every connection is up or fails (bounded by the
  // target's timeout). Outcomes are delivered to `on_done` on the target's own
  // thread, one call per submitted request. Called once, before Submit.
  virtual core::Status Start(CompletionFn on_done) = 0;

  // Thread-safe. Sends the request, or queues it in the client until a
  // connection is free (open loop), so that waiting counts as latency.
  virtual void Submit(Request request) = 0;

  // Stops the client's thread; requests still in flight get no outcome.
  // Called once, from the thread that called Start; no callback runs after.
  virtual void Stop() = 0;
};

}  // namespace infergate::bench
