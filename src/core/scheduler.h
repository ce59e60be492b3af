// Scheduler: the per-model-version queue between the dispatcher and the
// backend, with Triton-style dynamic batching.
//
// One Scheduler serves one ModelVersion (it holds a shared_ptr to it, so the
// version's sessions live until the scheduler has drained). Requests whose
// non-batch dimensions match are concatenated along dimension 0 into one run of
// up to max_batch_size rows and the outputs are split back; requests that
// cannot share a batch run separately. Each of the version's instances runs
// one batch at a time, all instances concurrently.
//
// Batch formation (dynamic_batching present and max_batch_size > 0), checked
// whenever an instance is free:
//   - a batch is sent as soon as the requests waiting can make one of a
//     preferred_batch_size (the largest one they can make), or fill
//     max_batch_size when the next request would not fit;
//   - otherwise once its oldest request has waited max_queue_delay_microseconds
//     (0: at once), with as many requests as fit in max_batch_size.
//   Requests join a batch in arrival order; a request whose shape differs
//   waits for a batch of its own kind (it never blocks the others). Without a
//   dynamic_batching block, or with max_batch_size 0, every request runs alone
//   as soon as an instance is free.
// Deadlines: request->deadline, or arrival + default_timeout_microseconds when
// the request has none. A request whose deadline passes while it waits is
// answered with DEADLINE_EXCEEDED (as soon as the scheduler notices, which
// with a real clock is at the deadline) and never runs.
// Backend errors: a failed run of one request fails it with the backend's
// error. A failed run of a batch of several is retried one request at a time,
// so a single bad request does not fail its neighbours, unless the error is
// UNAVAILABLE or DEADLINE_EXCEEDED (the backend could run nothing, e.g. a
// remote model's server is down): then every request of the batch gets it
// at once.
//
// Threads: one per instance (it runs batches and, when it finishes one, forms
// the next), plus one timer thread that wakes at the next batching delay or
// deadline. Enqueue never blocks beyond a short lock: when an instance is idle
// and a batch is due, Enqueue hands the batch to that instance's thread.
// Callbacks run on the instance threads or the timer thread, never inside
// Enqueue.
//
// Statistics: for each request that runs successfully, its queue time and
// its execution's compute_input (batch assembly), compute_infer (the backend
// run) and compute_output (the split) go to options.statistics
// (VersionStatistics::RecordRequest), and each successful backend run to
// RecordExecution; see core/statistics.h for the figures and metric names.
// Refusals are counted per model and version (when a registry is given):
//   infergate_inference_rejected_total{reason}    counter: queue_full, deadline, shutdown
//
// Ownership: Enqueue() takes the request on OK and then calls its on_complete
// exactly once (from a scheduler thread). On an error the request stays with
// the caller, who replies (the status says why: queue full, shutting down,
// deadline already passed).
//
// Thread-safety: Enqueue, queued, Wake and Shutdown may be called from any
// thread except that Shutdown (and the destructor) must not be called from a
// scheduler thread, i.e. not from inside an on_complete callback. The
// destructor stops accepting, runs everything already queued, then joins its
// threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/clock.h"
#include "core/infer.h"
#include "core/metrics.h"
#include "core/model_repository.h"
#include "core/statistics.h"
#include "core/status.h"

namespace infergate::core {

// Requests queued per model version when config.yaml gives no max_queue_size.
inline constexpr int64_t kDefaultMaxQueueSize = 1024;

struct SchedulerOptions {
  // Not owned. Every wait reads this clock and waits through
  // Clock::WaitUntil; with a clock that never times a wait (ManualClock) the
  // scheduler reacts to time only in Wake() (see there).
  const Clock* clock = &SteadyClock::Instance();
  MetricsRegistry* metrics = nullptr;  // not owned; may be null
  // Where the version's statistics go (shared with the Dispatcher); null:
  // the scheduler keeps its own, in `metrics` when given.
  std::shared_ptr<VersionStatistics> statistics;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  // Reads batching settings from version->config() (max_batch_size,
  // dynamic_batching.*); max_batch_size 0 or no dynamic_batching block means
  // every request runs alone, as it arrives. Starts one thread per instance
  // and the timer thread. INVALID_ARGUMENT for a preferred_batch_size above
  // max_batch_size or a negative setting.
  static StatusOr<std::unique_ptr<Scheduler>> Create(std::shared_ptr<const ModelVersion> version,
                                                     SchedulerOptions options);

  // Precondition: the request was validated against the version's config
  // (inputs present, types, shapes, batch dim <= max_batch_size).
  // Sets request->arrival to clock->Now() when it is unset (TimePoint{}).
  // Errors: UNAVAILABLE when the queue holds max_queue_size requests or the
  // scheduler is shutting down; DEADLINE_EXCEEDED when the deadline has
  // already passed.
  virtual Status Enqueue(std::unique_ptr<InferRequest>& request) = 0;

  // Requests waiting, not yet handed to an instance. When Enqueue or Wake
  // returns, every batch that was due and found an idle instance has left the
  // queue, so a test can check what is still waiting without sleeping.
  virtual size_t queued() const = 0;

  // Re-reads the clock and acts on it at once, on the calling thread: queued
  // requests whose deadline has passed leave the queue (a scheduler thread
  // answers them), and every batch that is due is handed to an idle instance.
  //
  // With a real clock the timer thread does the same by itself, so calling
  // this is never needed. A ManualClock never moves by itself and never times
  // a wait (Clock::WaitUntil), so with one the scheduler waits only for Wake(): a test advances the clock
  // and then calls Wake(), and when Wake() returns the scheduler has reacted
  // to the new time, deterministically.
  virtual void Wake() = 0;

  // Stops accepting (Enqueue then returns UNAVAILABLE), runs everything
  // already queued (batching delays no longer wait), answers it, and joins
  // the scheduler's threads. Idempotent; the destructor calls it.
  virtual void Shutdown() = 0;
};

}  // namespace infergate::core
