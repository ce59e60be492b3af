// OutboxCore: the state behind an Outbox (outbox.h), shared with the sink's
// `done` callbacks so that a late callback never touches a destroyed object.
// Internal to src/edge; outbox.h describes the behaviour.
//
// Locks: mu_ before the journal's own locks (Push appends under mu_); the
// journal's callbacks take mu_ and run with no journal lock held; mu_ is
// never held across a sink's Send or a journal read.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "edge/outbox.h"
#include "state/journal.h"

namespace infergate::edge {

class OutboxCore : public std::enable_shared_from_this<OutboxCore> {
 public:
  OutboxCore(OutboxOptions options, std::unique_ptr<state::Journal> journal,
             core::MetricsRegistry* metrics, const core::Clock* clock,
             const core::WallClock* wall_clock);
  ~OutboxCore();

  void Recover(std::vector<state::JournalRecord> records);
  core::Status Push(OutboxMessage message, Outbox::OnSafe on_safe);
  void Wake();
  // The sender thread's loop; returns after Stop.
  void Run(OutboxSink* sink);
  // Stops sending and waits up to `flush` for the messages handed over.
  void Stop(core::Duration flush);
  // After the sender thread ended.
  void CloseJournal();

  int64_t messages() const;
  int64_t bytes() const;

 private:
  struct Metrics {
    Metrics(core::MetricsRegistry& r, const std::string& name);
    core::Gauge* messages;
    core::Gauge* bytes;
    core::Gauge* oldest_age;
    core::Counter* written;
    core::Counter* sent;
    core::Counter* writes_skipped;  // acknowledged before their write: never written
    core::Counter* full;            // the dropped_total counters, by reason
    core::Counter* expired;
    core::Counter* too_large;
    core::Counter* rejected;
  };
  // One Push's callback, shared by its entry and its journal callback:
  // on_safe runs once, on the commit or the broker's acknowledgement,
  // whichever comes first.
  struct Pushed {
    uint64_t id = 0;         // guarded by mu_; set by Push, maybe after the commit
    bool cancelled = false;  // guarded by mu_; removed before its commit: never written
    std::atomic<bool> reported{false};
    Outbox::OnSafe on_safe;
    void Report(const core::Status& status) {
      if (!reported.exchange(true) && on_safe) on_safe(status);
    }
  };
  struct Entry {
    int64_t size = 0;
    core::WallTime appended;
    bool durable = false;  // committed (recovered and read-back records are)
    bool inflight = false;
    std::shared_ptr<const std::string> record;  // null: only in the file
    std::shared_ptr<Pushed> pushed;             // null: recovered
  };
  // What the sender does next.
  struct Step {
    enum Kind { kWait, kSend, kLoad } kind = kWait;
    uint64_t id = 0;
    core::TimePoint until = core::TimePoint::max();  // kWait
  };
  using Entries = std::map<uint64_t, Entry>;

  // The journal's callback for `pushed`: committed (or cancelled), or the write's error.
  void OnCommitted(const std::shared_ptr<Pushed>& pushed, const core::Status& status);
  void OnDone(uint64_t id, const core::Status& status);
  Step NextLocked();
  core::TimePoint ExpireLocked();  // returns when the next expiry is due
  bool TakeTokenLocked(core::TimePoint now, core::TimePoint* until);
  double RateBurst() const;  // the bucket's size: a tenth of a second's worth, at least 1
  void Send(OutboxSink* sink, uint64_t id, std::shared_ptr<const std::string> record,
            std::unique_lock<std::mutex>& lock);
  void Load(uint64_t id, std::unique_lock<std::mutex>& lock);
  void HoldRecordLocked(Entry& entry, std::shared_ptr<const std::string> record);
  // Forgets the entry (and removes its record from the journal), counting `reason` if not null.
  Entries::iterator DropLocked(Entries::iterator it, core::Counter* reason);
  void UpdateGaugesLocked();

  const OutboxOptions options_;
  const std::unique_ptr<state::Journal> journal_;
  const core::Clock* const clock_;
  const core::WallClock* const wall_clock_;
  std::unique_ptr<Metrics> metrics_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  Entries entries_;              // guarded by mu_; by id: push order
  int64_t bytes_ = 0;            // guarded by mu_
  int64_t memory_bytes_ = 0;     // guarded by mu_; records held in memory
  int inflight_ = 0;             // guarded by mu_; handed to the sink, not done
  uint64_t cursor_ = 0;          // guarded by mu_; the next id to send (rewound on a failed send)
  bool blocked_ = false;         // guarded by mu_; the sink said UNAVAILABLE: wait for Wake
  uint64_t wakes_ = 0;           // guarded by mu_; Wake calls so far
  double tokens_;                // guarded by mu_; the rate's bucket
  core::TimePoint refilled_;     // guarded by mu_
  core::TimePoint retry_after_;  // guarded by mu_; after a failed read
  bool closed_ = false;          // guarded by mu_; no more Push, nothing more sent
  bool stopping_ = false;        // guarded by mu_; the sender thread ends
};

}  // namespace infergate::edge
