// Journal: a durable, bounded store of opaque records for what must outlive a
// crash (the MQTT inbox: requests acknowledged to the broker once journaled;
// the outbox: results waiting for a broker). Records are byte strings with an
// id; the journal knows nothing of what they hold.
//
// Group commit: one writer thread commits everything pending (appends and
// removes of any number of callers) in one SQLite transaction, so one sync
// covers many records: what arrives while a commit runs goes into the next
// one. `max_commit_delay` can hold a commit back for more company; the
// default 0 does not wait, since on the measured disk a window only capped
// throughput at (producers / (window + sync)) without saving syncs under load
// (docs/benchmarks.md, "Durable journal"). An append removed before its
// commit is never written.
//
// Durability (SQLite in WAL mode, see journal_file.h and docs/benchmarks.md,
// "Durable journal"): once `on_durable` reported OK for a record,
//   - kill -9 of the process (or any crash of it) keeps the record, with either
//     Durability: the commit wrote the WAL with pwrite(2) before returning,
//     and the kernel's page cache outlives the process;
//   - power loss or a kernel crash keeps it only with Durability::kPowerLoss
//     (synchronous=FULL: the WAL is fsync'd at every commit). With
//     kProcessCrash (synchronous=NORMAL) the last commits before the power
//     loss may be lost; the file stays consistent (they roll back whole).
// kPowerLoss is the default: a gateway loses power more often than a server,
// and with group commit the fsync costs latency (about one sync, 0.2-4 ms
// here) rather than CPU (8-18 us per record either way); at 16 producers it
// still commits 4,900-20,000 records/s on this machine's disk.
//
// Bounds: `max_records` and `max_bytes` (the records' own bytes; SQLite's
// per-row overhead and the WAL come on top) are checked against counts kept
// in memory (recovered at Open), so a full journal refuses an append at once.
//
// Reading back: an outbox of hundreds of MiB is not kept in memory. With
// `recover_data` false, Recovered() hands over ids and sizes only, and
// ReadCommitted reads records from the file when they are needed. The file
// is locked for this process (locking_mode=EXCLUSIVE), so the read goes
// through the writer's SQLite connection, serialised with its commits by a
// mutex: a read waits for a running commit (about one sync) and delays the
// next one by its own duration (a few microseconds per record read).
//
// Thread-safety: Append, Remove, Recovered and ReadCommitted may be called
// from any thread;
// Close from any thread but not from an `on_durable` callback. The callbacks
// run on the journal's writer thread, one at a time, and must not block; they
// may call Append and Remove.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "core/status.h"
#include "state/journal_file.h"

namespace infergate::state {

struct JournalOptions {
  std::string path;  // the SQLite file; its folder must exist
  int64_t max_bytes = 64 << 20;
  int64_t max_records = 100000;
  // The group commit window: how long the oldest pending change may wait for
  // others to share its commit. 0 commits at once (still grouping whatever
  // arrived while the previous commit ran).
  core::Duration max_commit_delay = core::Duration::zero();
  Durability durability = Durability::kPowerLoss;
  std::string name = "journal";  // the `journal` label of the metrics
  // false: Recovered() leaves `data` empty (read it with ReadCommitted).
  bool recover_data = true;
};

struct JournalRecord {
  uint64_t id = 0;
  std::string data;
  core::WallTime appended;  // wall-clock time of the Append
  int64_t size = 0;         // bytes of the record (also when `data` was not read)
};

class Journal {
 public:
  // Runs once per append on the writer thread: OK once the record is
  // committed (or removed before it was), else the write's error. May be
  // empty (nobody waits).
  using OnDurable = std::function<void(const core::Status&)>;

  // Opens or creates the file and reads the records the previous run left. A
  // corrupt or foreign file, or one in use by another process, is an error
  // that names the file (the caller decides whether to go on without it).
  // `metrics`, `clock` and `wall_clock` must outlive the journal.
  static core::StatusOr<std::unique_ptr<Journal>> Open(JournalOptions options,
                                                       core::MetricsRegistry* metrics,
                                                       const core::Clock* clock,
                                                       const core::WallClock* wall_clock);
  ~Journal();  // Close()
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // The records left by the previous run, oldest first; they count against the
  // bounds until removed. The first call hands them over, later calls return
  // nothing. Call it at start-up.
  std::vector<JournalRecord> Recovered();

  // Committed records not removed, with id >= `from_id`, ascending: at most
  // `max_records` and `max_bytes` of data, but at least one when there is one
  // (even if it is larger). Records not committed yet are not returned (read
  // only records whose on_durable ran). FAILED_PRECONDITION after Close.
  core::StatusOr<std::vector<JournalRecord>> ReadCommitted(uint64_t from_id, size_t max_records,
                                                           int64_t max_bytes);

  // Queues `record` for the next commit and returns its id (ids increase in
  // append order; an id may be reused in a later run once the journal was
  // empty at open). RESOURCE_EXHAUSTED at once when the record would pass a
  // bound, FAILED_PRECONDITION after Close; on an error `on_durable` is never
  // called.
  core::StatusOr<uint64_t> Append(std::string record, OnDurable on_durable);

  // The record is no longer needed. Not committed yet (not taken by a
  // running commit either): it is never written, its on_durable runs with OK
  // on the writer thread after the next commit (never on the caller's
  // thread), and Remove returns true. Already committed or being committed:
  // deleted in the next commit. Unknown ids (already removed, or whose write
  // failed) are ignored. Its bytes and count leave the bounds at once.
  bool Remove(uint64_t id);

  // Commits what is pending, runs the remaining callbacks and stops the writer
  // thread. Idempotent; Append fails and Remove does nothing afterwards.
  void Close();

  // Live records (appended or recovered, not removed) and their bytes.
  int64_t records() const;
  int64_t bytes() const;

 private:
  struct Metrics;
  struct Pending {
    JournalRow row;
    OnDurable on_durable;
  };
  // One commit's worth of changes, taken from the pending state at once.
  struct Batch {
    std::vector<JournalRow> inserts;
    std::vector<OnDurable> on_durable;  // one per insert
    std::vector<uint64_t> deletes;
    std::vector<OnDurable> cancelled;  // appends removed before their commit
  };

  Journal(JournalOptions options, std::unique_ptr<JournalFile> file, core::MetricsRegistry* metrics,
          const core::Clock* clock, const core::WallClock* wall_clock);
  void Recover(std::vector<JournalRow> rows);
  void Run();
  bool HasWorkLocked() const;
  // Appends the records of `rows` that are still live to `out`.
  void KeepLive(std::vector<JournalRow> rows, std::vector<JournalRecord>* out);
  Batch TakeBatchLocked();
  void CommitBatch(Batch batch);
  void ForgetFailedLocked(const Batch& batch);
  void UpdateGaugesLocked();

  const JournalOptions options_;
  std::mutex file_mu_;                 // serialises the file's commits and reads (ReadCommitted)
  std::unique_ptr<JournalFile> file_;  // guarded by file_mu_; reset by Close
  const core::Clock* const clock_;
  const core::WallClock* const wall_clock_;
  std::unique_ptr<Metrics> metrics_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<JournalRecord> recovered_;              // guarded by mu_
  std::unordered_map<uint64_t, int64_t> live_sizes_;  // guarded by mu_; id -> bytes
  int64_t live_bytes_ = 0;                            // guarded by mu_
  uint64_t next_id_ = 1;                              // guarded by mu_
  std::map<uint64_t, Pending> pending_;               // guarded by mu_; not committed yet
  std::vector<uint64_t> pending_deletes_;             // guarded by mu_
  std::vector<OnDurable> cancelled_;                  // guarded by mu_
  core::TimePoint oldest_pending_;                    // guarded by mu_; when work became pending
  core::TimePoint retry_after_;                       // guarded by mu_; after a failed commit
  bool closing_ = false;                              // guarded by mu_
  std::mutex close_mu_;                               // serialises Close
  std::thread writer_;                                // last: starts once the members above exist
};

}  // namespace infergate::state
