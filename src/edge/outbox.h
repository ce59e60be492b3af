// Outbox: a durable queue of messages for a broker, between whoever produces
// them (replies, results for the cloud) and an OutboxSink that publishes them.
// A pushed message is written to a journal (state/journal.h: SQLite WAL,
// group commit) and, at the same time, handed to the sink from memory: a
// message never waits for a disk sync to be sent. It is forgotten once the
// sink reports the broker acknowledged it; when that comes before its commit,
// the write is cancelled (Journal::Remove: never written), so with a healthy
// broker most messages never reach the disk.
//
// What is guaranteed: Push's `on_safe` reports OK once the message is
// committed to the file OR acknowledged by the broker, whichever comes first.
// From then on it reaches the broker even if the process is killed (kill -9)
// or the broker goes away: what was committed and not acknowledged is sent
// again, in order, by the next run. Before that report a crash may lose the
// message, so a caller that owes something for it (the MQTT frontend's
// request acknowledgement) waits for on_safe; a request not acknowledged is
// delivered again by its broker and answered again (at-least-once, as QoS 1
// promises). Records read back from the file (a backlog beyond
// `memory_bytes`, or recovered at Open) are committed already.
//
// Sending: one sender thread hands the messages to the sink in id (push)
// order, at most `max_inflight` not done at once. `max_rate` bounds how fast
// a backlog drains on top of live traffic: a token bucket on the injected
// Clock (a tenth of a second's worth, at least 1) filled at max_rate a second
// and by one token per Push, so messages pushed while the sender keeps up go
// at once whatever the rate, and a backlog shrinks by at most max_rate a
// second however much is pushed meanwhile. A message held in memory is
// sent at once; one only in the file (beyond memory_bytes) once committed
// and read back. A message whose `done` reports UNAVAILABLE or CANCELLED
// (connection lost, stop) is sent again: the sender rewinds to the oldest
// message not done, committed or not (a message not committed yet is still in
// memory); duplicates at QoS 1 are possible, as with any MQTT resend. When
// Send itself returns UNAVAILABLE (not connected, client queue full) the
// sender waits for Wake.
//
// Bounds and drops (each counted in infergate_outbox_dropped_total{reason}):
//   full       a Push passes max_bytes or max_records: the oldest messages
//              are dropped to make room (also one handed to the sink and not
//              acknowledged yet);
//   expired    older than max_age (wall-clock time of the Push, so the age
//              survives a restart), and not handed to the sink;
//   too_large  one message larger than max_bytes (refused by Push), or the
//              sink's RESOURCE_EXHAUSTED;
//   rejected   the sink's any other error, or a damaged record.
//
// Memory: the newest messages up to `memory_bytes` stay in memory after their
// write; the others (a backlog, and what the previous run left) are only in
// the file and are read back (Journal::ReadCommitted) in pages of at most
// `memory_bytes` just before they are sent. Per message the outbox keeps
// about 80 bytes of bookkeeping in memory.
//
// Metrics (label `outbox` = options.name): infergate_outbox_messages,
// infergate_outbox_bytes, infergate_outbox_oldest_age_seconds (gauges),
// infergate_outbox_written_total (records that reached the file),
// infergate_outbox_sent_total (acknowledged),
// infergate_outbox_writes_skipped_total (acknowledged before their write, so
// never written), infergate_outbox_dropped_total{reason} (counters).
//
// Thread-safety: Push, Wake, messages and bytes from any thread (Push never
// blocks on the disk: the write is grouped on the journal's thread); Start
// once, Close from one controlling thread, not from a sink's or on_safe
// callback. The sink's Send is called on the sender thread; its `done` may
// run on any thread, also after Close (it then only counts). on_safe runs on
// the journal's thread or on the thread of the sink's `done`.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/metrics.h"
#include "core/status.h"
#include "edge/outbox_message.h"
#include "state/journal_file.h"

namespace infergate::edge {

// Where an outbox sends (implemented over an MQTT client by the uplink and
// the MQTT frontend).
class OutboxSink {
 public:
  virtual ~OutboxSink() = default;
  // Hands `message` over. OK: `done` runs later (any thread, once) with OK
  // once the broker has it (PUBACK/PUBCOMP), UNAVAILABLE/CANCELLED when it
  // must be sent again later (connection lost, stop), any other error when it
  // never can be (dropped, reason "rejected"). Not OK: `done` never runs;
  // UNAVAILABLE (not connected, client queue full): not taken, offered again
  // after Outbox::Wake; RESOURCE_EXHAUSTED: dropped as "too_large"; any other
  // error: dropped as "rejected".
  virtual core::Status Send(const OutboxMessage& message,
                            std::function<void(const core::Status&)> done) = 0;
};

struct OutboxOptions {
  std::string path;                 // SQLite file; its folder must exist
  std::string name = "outbox";      // label `outbox` of the metrics ("uplink", "mqtt")
  int64_t max_bytes = 256ll << 20;  // records' bytes; the oldest are dropped beyond (reason "full")
  int64_t max_records = 1000000;
  core::Duration max_age = std::chrono::hours(24 * 7);  // zero: no limit; older: "expired"
  int max_inflight = 256;                               // handed to the sink and not done
  double max_rate = 0;             // messages/s a backlog drains beyond live traffic; 0 = unlimited
  int64_t memory_bytes = 4 << 20;  // newest records kept in memory (sent without reading back)
  // The journal's group commit window (JournalOptions::max_commit_delay): a
  // longer one lets more acknowledgements cancel their writes, and delays
  // on_safe by as much only for messages the broker has not acknowledged.
  core::Duration max_commit_delay = core::Duration::zero();
  state::Durability durability = state::Durability::kPowerLoss;
};

class OutboxCore;

class Outbox {
 public:
  // Push's callback: the message is safe (committed or acknowledged).
  using OnSafe = std::function<void(const core::Status&)>;
  using OnDurable = OnSafe;  // the earlier name

  // Opens (or creates) the file and recovers the previous run's messages,
  // which are sent first, in order. An unreadable or corrupt file is an
  // error naming it. `metrics`, `clock` and `wall_clock` outlive the outbox.
  static core::StatusOr<std::unique_ptr<Outbox>> Open(OutboxOptions options,
                                                      core::MetricsRegistry* metrics,
                                                      const core::Clock* clock,
                                                      const core::WallClock* wall_clock);
  ~Outbox();  // Close(zero)
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Starts the sender thread that sends to `sink` (not owned; it outlives
  // Close and must accept `done` calls after it). Call once.
  void Start(OutboxSink* sink);

  // Queues `message` for the sink and writes it to the file beside; drops the
  // oldest to make room (counted "full"). `on_safe` (may be null) runs once,
  // without blocking: OK when the message is committed or acknowledged by the
  // broker, whichever comes first (also when dropped or refused by the broker
  // before either), else the write's error when it failed before either (the
  // message is gone). Errors at once, without on_safe: larger than max_bytes
  // (RESOURCE_EXHAUSTED, counted "too_large"), closed (FAILED_PRECONDITION).
  core::Status Push(OutboxMessage message, OnSafe on_safe = nullptr);

  // The sink may take messages again (e.g. its client connected).
  void Wake();

  // Stops handing messages to the sink, waits at most `flush` (on the
  // injected clock) for those handed over to be done, stops the sender and
  // closes the journal. What was not acknowledged stays for the next run.
  // Idempotent.
  void Close(core::Duration flush);

  // Messages held (written or being written, not acknowledged or dropped), and their bytes.
  int64_t messages() const;
  int64_t bytes() const;

 private:
  explicit Outbox(std::shared_ptr<OutboxCore> core);

  // Shared with the sink's `done` callbacks, which may outlive the outbox.
  const std::shared_ptr<OutboxCore> core_;
  std::mutex close_mu_;
  std::thread sender_;
};

}  // namespace infergate::edge
