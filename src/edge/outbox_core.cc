#include "edge/outbox_core.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace infergate::edge {

OutboxCore::Metrics::Metrics(core::MetricsRegistry& r, const std::string& name) {
  const core::Labels l = {{"outbox", name}};
  messages = &r.GetGauge("infergate_outbox_messages", "Messages in the durable outbox", l);
  bytes = &r.GetGauge("infergate_outbox_bytes", "Bytes of the messages in the durable outbox", l);
  oldest_age = &r.GetGauge("infergate_outbox_oldest_age_seconds",
                           "Age of the oldest message in the durable outbox", l);
  written = &r.GetCounter("infergate_outbox_written_total",
                          "Outbox messages written durably to its file", l);
  sent =
      &r.GetCounter("infergate_outbox_sent_total", "Outbox messages acknowledged by the broker", l);
  writes_skipped = &r.GetCounter(
      "infergate_outbox_writes_skipped_total",
      "Outbox messages acknowledged by the broker before their write, so never written", l);
  const char* help = "Outbox messages dropped, by reason (full, expired, too_large, rejected)";
  auto dropped = [&](const char* reason) {
    return &r.GetCounter("infergate_outbox_dropped_total", help, {l[0], {"reason", reason}});
  };
  full = dropped("full");
  expired = dropped("expired");
  too_large = dropped("too_large");
  rejected = dropped("rejected");
}

OutboxCore::OutboxCore(OutboxOptions options, std::unique_ptr<state::Journal> journal,
                       core::MetricsRegistry* metrics, const core::Clock* clock,
                       const core::WallClock* wall_clock)
    : options_(std::move(options)),
      journal_(std::move(journal)),
      clock_(clock),
      wall_clock_(wall_clock),
      metrics_(std::make_unique<Metrics>(*metrics, options_.name)),
      tokens_(1),
      refilled_(clock->Now()) {}

OutboxCore::~OutboxCore() = default;

void OutboxCore::Recover(std::vector<state::JournalRecord> records) {
  std::lock_guard lock(mu_);
  for (state::JournalRecord& r : records) {
    Entry& e = entries_[r.id];
    e.size = r.size;
    e.appended = r.appended;
    e.durable = true;
    bytes_ += r.size;
  }
  UpdateGaugesLocked();
}

core::Status OutboxCore::Push(OutboxMessage message, Outbox::OnSafe on_safe) {
  std::string record = EncodeOutboxMessage(message);
  const auto size = static_cast<int64_t>(record.size());
  if (size > options_.max_bytes) {
    metrics_->too_large->Increment();
    return core::ResourceExhausted("outbox " + options_.name + ": a message of " +
                                   std::to_string(size) + " bytes exceeds max_bytes " +
                                   std::to_string(options_.max_bytes));
  }
  std::lock_guard lock(mu_);
  if (closed_) return core::FailedPrecondition("outbox " + options_.name + " is closed");
  while (!entries_.empty() && (bytes_ + size > options_.max_bytes ||
                               static_cast<int64_t>(entries_.size()) + 1 > options_.max_records)) {
    DropLocked(entries_.begin(), metrics_->full);
  }
  std::shared_ptr<const std::string> kept;
  if (memory_bytes_ + size <= options_.memory_bytes) {
    kept = std::make_shared<const std::string>(record);
  }
  // The journal may call back before Append returns: the callback waits for
  // mu_, and finds the id in `pushed` then.
  auto pushed = std::make_shared<Pushed>();
  pushed->on_safe = std::move(on_safe);
  auto id = journal_->Append(std::move(record),
                             [self = shared_from_this(), pushed](const core::Status& status) {
                               self->OnCommitted(pushed, status);
                             });
  if (!id.ok()) return id.status();
  pushed->id = *id;
  Entry& e = entries_[*id];
  e.pushed = std::move(pushed);
  e.size = size;
  e.appended = wall_clock_->Now();
  bytes_ += size;
  if (kept) HoldRecordLocked(e, std::move(kept));
  UpdateGaugesLocked();
  // Each message brings its own token: live traffic is never held below the
  // rate it arrives at; max_rate bounds what a backlog adds on top of it.
  if (options_.max_rate > 0) tokens_ = std::min(RateBurst(), tokens_ + 1);
  cv_.notify_all();  // the sender sends it now, not after its commit
  return core::Status::Ok();
}

void OutboxCore::OnCommitted(const std::shared_ptr<Pushed>& pushed, const core::Status& status) {
  {
    std::lock_guard lock(mu_);
    if (status.ok() && !pushed->cancelled) metrics_->written->Increment();
    auto it = entries_.find(pushed->id);  // set by Push under mu_
    if (it != entries_.end()) {           // else acknowledged or dropped
      if (status.ok()) {
        it->second.durable = true;
      } else {  // not written: the journal forgot it already
        spdlog::error("outbox {}: a message was lost: {}", options_.name, status.ToString());
        memory_bytes_ -= it->second.record ? it->second.size : 0;
        bytes_ -= it->second.size;
        entries_.erase(it);
        UpdateGaugesLocked();
      }
      cv_.notify_all();
    }
  }
  pushed->Report(status);  // no-op when acknowledged first
}

void OutboxCore::OnDone(uint64_t id, const core::Status& status) {
  std::shared_ptr<Pushed> acknowledged;
  std::unique_lock lock(mu_);
  --inflight_;
  auto it = entries_.find(id);
  if (status.ok()) {
    metrics_->sent->Increment();
    if (it != entries_.end()) {
      acknowledged = it->second.pushed;
      DropLocked(it, nullptr);
      if (acknowledged && acknowledged->cancelled) metrics_->writes_skipped->Increment();
    }
  } else if (status.code() == core::StatusCode::kUnavailable ||
             status.code() == core::StatusCode::kCancelled) {
    if (it != entries_.end()) it->second.inflight = false;
    cursor_ = std::min(cursor_, id);  // send again from the oldest not done
  } else if (it != entries_.end()) {
    spdlog::warn("outbox {}: message {} refused for good: {}", options_.name, id,
                 status.ToString());
    DropLocked(it, metrics_->rejected);
  }
  UpdateGaugesLocked();
  cv_.notify_all();
  lock.unlock();
  // Safe now, committed or not: the broker has it.
  if (acknowledged) acknowledged->Report(core::Status::Ok());
}

void OutboxCore::Wake() {
  std::lock_guard lock(mu_);
  blocked_ = false;
  ++wakes_;
  cv_.notify_all();
}

void OutboxCore::Stop(core::Duration flush) {
  std::unique_lock lock(mu_);
  closed_ = true;
  cv_.notify_all();
  const core::TimePoint deadline = clock_->Now() + flush;
  while (inflight_ > 0 && clock_->Now() < deadline) clock_->WaitUntil(cv_, lock, deadline);
  stopping_ = true;
  cv_.notify_all();
}

void OutboxCore::CloseJournal() { journal_->Close(); }

int64_t OutboxCore::messages() const {
  std::lock_guard lock(mu_);
  return static_cast<int64_t>(entries_.size());
}

int64_t OutboxCore::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

void OutboxCore::HoldRecordLocked(Entry& entry, std::shared_ptr<const std::string> record) {
  memory_bytes_ += entry.size;
  entry.record = std::move(record);
}

OutboxCore::Entries::iterator OutboxCore::DropLocked(Entries::iterator it, core::Counter* reason) {
  if (reason != nullptr) reason->Increment();
  const bool cancelled = journal_->Remove(it->first);
  if (cancelled && it->second.pushed) it->second.pushed->cancelled = true;
  if (it->second.record) memory_bytes_ -= it->second.size;
  bytes_ -= it->second.size;
  return entries_.erase(it);
}

void OutboxCore::UpdateGaugesLocked() {
  metrics_->messages->Set(static_cast<double>(entries_.size()));
  metrics_->bytes->Set(static_cast<double>(bytes_));
  double age = 0;
  if (!entries_.empty()) {
    age = std::chrono::duration<double>(wall_clock_->Now() - entries_.begin()->second.appended)
              .count();
  }
  metrics_->oldest_age->Set(std::max(age, 0.0));
}

}  // namespace infergate::edge
