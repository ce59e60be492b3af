// The Outbox's sender thread (OutboxCore::Run): what it sends next, the rate,
// age expiry and reading back records that are only in the file.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "edge/outbox_core.h"

namespace infergate::edge {
namespace {

// The gauges (oldest age) are refreshed at least this often while idle.
constexpr auto kGaugePeriod = std::chrono::seconds(1);
// After a failed read of the file, the sender waits this long.
constexpr auto kReadRetry = std::chrono::seconds(1);

}  // namespace

void OutboxCore::Run(OutboxSink* sink) {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const Step step = NextLocked();
    UpdateGaugesLocked();
    switch (step.kind) {
      case Step::kWait:
        clock_->WaitUntil(cv_, lock, step.until);
        break;
      case Step::kLoad:
        Load(step.id, lock);
        break;
      case Step::kSend: {
        Entry& e = entries_[step.id];
        e.inflight = true;
        ++inflight_;
        cursor_ = step.id + 1;
        Send(sink, step.id, e.record, lock);
        break;
      }
    }
  }
}

OutboxCore::Step OutboxCore::NextLocked() {
  const core::TimePoint now = clock_->Now();
  Step wait;
  wait.until = std::min(ExpireLocked(), now + kGaugePeriod);
  if (closed_ || blocked_ || inflight_ >= options_.max_inflight || now < retry_after_) {
    if (now < retry_after_) wait.until = std::min(wait.until, retry_after_);
    return wait;
  }
  auto it = entries_.lower_bound(cursor_);
  while (it != entries_.end() && it->second.inflight) ++it;
  if (it == entries_.end()) return wait;
  // Held in memory: sent at once, its write goes on beside. Only in the file
  // (or going there): in order, wait for its commit, then read it back.
  if (!it->second.record) return it->second.durable ? Step{Step::kLoad, it->first} : wait;
  core::TimePoint refill;
  if (!TakeTokenLocked(now, &refill)) {
    wait.until = std::min(wait.until, refill);
    return wait;
  }
  return Step{Step::kSend, it->first};
}

core::TimePoint OutboxCore::ExpireLocked() {
  if (options_.max_age <= core::Duration::zero()) return core::TimePoint::max();
  const core::WallTime wall_now = wall_clock_->Now();
  for (auto it = entries_.begin(); it != entries_.end();) {
    const auto left = it->second.appended + options_.max_age - wall_now;
    if (left > core::WallTime::duration::zero()) {  // the oldest left: the next to expire
      return clock_->Now() + std::chrono::duration_cast<core::Duration>(left);
    }
    // One handed to the sink finishes its course; one not durable yet expires once it is.
    it = it->second.inflight || !it->second.durable ? std::next(it)
                                                    : DropLocked(it, metrics_->expired);
  }
  return core::TimePoint::max();
}

double OutboxCore::RateBurst() const { return std::max(1.0, options_.max_rate / 10); }

bool OutboxCore::TakeTokenLocked(core::TimePoint now, core::TimePoint* until) {
  if (options_.max_rate <= 0) return true;
  tokens_ = std::min(RateBurst(), tokens_ + std::chrono::duration<double>(now - refilled_).count() *
                                                 options_.max_rate);
  refilled_ = now;
  if (tokens_ >= 1) {
    tokens_ -= 1;
    return true;
  }
  *until = now + std::chrono::duration_cast<core::Duration>(
                     std::chrono::duration<double>((1 - tokens_) / options_.max_rate));
  return false;
}

void OutboxCore::Send(OutboxSink* sink, uint64_t id, std::shared_ptr<const std::string> record,
                      std::unique_lock<std::mutex>& lock) {
  const uint64_t wakes = wakes_;
  lock.unlock();
  auto message = DecodeOutboxMessage(*record);
  core::Status status = message.status();
  if (message.ok()) {
    status = sink->Send(
        *message, [self = shared_from_this(), id](const core::Status& s) { self->OnDone(id, s); });
  }
  lock.lock();
  if (status.ok()) return;  // OnDone follows
  --inflight_;
  auto it = entries_.find(id);
  if (it == entries_.end()) return;  // dropped meanwhile
  it->second.inflight = false;
  if (status.code() == core::StatusCode::kUnavailable) {
    cursor_ = std::min(cursor_, id);
    if (wakes_ == wakes) blocked_ = true;  // a Wake meanwhile: try again at once
    return;
  }
  spdlog::warn("outbox {}: message {} dropped: {}", options_.name, id, status.ToString());
  DropLocked(it, status.code() == core::StatusCode::kResourceExhausted ? metrics_->too_large
                                                                       : metrics_->rejected);
}

void OutboxCore::Load(uint64_t id, std::unique_lock<std::mutex>& lock) {
  const int64_t room = std::max<int64_t>(options_.memory_bytes - memory_bytes_, 1);
  const auto max_records = static_cast<size_t>(std::max(options_.max_inflight, 1));
  lock.unlock();
  auto records = journal_->ReadCommitted(id, max_records, room);
  lock.lock();
  if (!records.ok()) {
    if (!closed_) {
      spdlog::error("outbox {}: cannot read back: {}", options_.name, records.status().ToString());
      retry_after_ = clock_->Now() + kReadRetry;
    }
    return;
  }
  for (state::JournalRecord& r : *records) {
    auto it = entries_.find(r.id);
    if (it == entries_.end() || it->second.record) continue;
    HoldRecordLocked(it->second, std::make_shared<const std::string>(std::move(r.data)));
  }
  auto it = entries_.find(id);
  if (it != entries_.end() && !it->second.record) {  // live but not in the file: cannot happen
    spdlog::error("outbox {}: message {} is missing from the file", options_.name, id);
    DropLocked(it, metrics_->rejected);
  }
}

}  // namespace infergate::edge
