#include "state/journal.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>

namespace infergate::state {
namespace {

// After a failed commit, the writer waits this long before it tries again
// (deletes are retried; the failed appends were reported and dropped).
constexpr auto kRetryDelay = std::chrono::milliseconds(100);

int64_t UnixNanos(core::WallTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

JournalRecord RecordOf(JournalRow row) {
  const core::WallTime appended{std::chrono::duration_cast<core::WallTime::duration>(
      std::chrono::nanoseconds(row.appended_unix_ns))};
  return JournalRecord{row.id, std::move(row.data), appended, row.size};
}

}  // namespace

struct Journal::Metrics {
  Metrics(core::MetricsRegistry& r, const std::string& name) {
    const core::Labels l = {{"journal", name}};
    records = &r.GetGauge("infergate_journal_records", "Records in the durable journal", l);
    bytes =
        &r.GetGauge("infergate_journal_bytes", "Bytes of the records in the durable journal", l);
    appends =
        &r.GetCounter("infergate_journal_appends_total", "Records appended to the journal", l);
    removes =
        &r.GetCounter("infergate_journal_removes_total", "Records removed from the journal", l);
    commits = &r.GetCounter("infergate_journal_commits_total",
                            "Journal transactions committed (or tried)", l);
    commit_seconds =
        &r.GetHistogram("infergate_journal_commit_seconds",
                        "Time to commit one group of journal changes", l, core::LatencyBuckets());
    commit_changes = &r.GetHistogram("infergate_journal_commit_changes",
                                     "Appends and removes written by one journal commit", l,
                                     core::BatchSizeBuckets());
    const char* failures_help = "Journal appends refused (full) and commits failed (write)";
    full = &r.GetCounter("infergate_journal_failures_total", failures_help,
                         {l[0], {"reason", "full"}});
    write_failed = &r.GetCounter("infergate_journal_failures_total", failures_help,
                                 {l[0], {"reason", "write"}});
  }
  core::Gauge* records;
  core::Gauge* bytes;
  core::Counter* appends;
  core::Counter* removes;
  core::Counter* commits;
  core::Histogram* commit_seconds;
  core::Histogram* commit_changes;
  core::Counter* full;
  core::Counter* write_failed;
};

core::StatusOr<std::unique_ptr<Journal>> Journal::Open(JournalOptions options,
                                                       core::MetricsRegistry* metrics,
                                                       const core::Clock* clock,
                                                       const core::WallClock* wall_clock) {
  ASSIGN_OR_RETURN(std::unique_ptr<JournalFile> file,
                   JournalFile::Open(options.path, options.durability));
  ASSIGN_OR_RETURN(std::vector<JournalRow> rows, file->ReadAll(options.recover_data));
  std::unique_ptr<Journal> journal(
      new Journal(std::move(options), std::move(file), metrics, clock, wall_clock));
  journal->Recover(std::move(rows));
  journal->writer_ = std::thread([j = journal.get()] { j->Run(); });
  return journal;
}

Journal::Journal(JournalOptions options, std::unique_ptr<JournalFile> file,
                 core::MetricsRegistry* metrics, const core::Clock* clock,
                 const core::WallClock* wall_clock)
    : options_(std::move(options)),
      file_(std::move(file)),
      clock_(clock),
      wall_clock_(wall_clock),
      metrics_(std::make_unique<Metrics>(*metrics, options_.name)) {}

Journal::~Journal() { Close(); }

void Journal::Recover(std::vector<JournalRow> rows) {
  std::lock_guard lock(mu_);
  recovered_.reserve(rows.size());
  for (JournalRow& row : rows) {
    live_sizes_[row.id] = row.size;
    live_bytes_ += row.size;
    next_id_ = std::max(next_id_, row.id + 1);
    recovered_.push_back(RecordOf(std::move(row)));
  }
  UpdateGaugesLocked();
}

std::vector<JournalRecord> Journal::Recovered() {
  std::vector<JournalRecord> records;
  std::lock_guard lock(mu_);
  records.swap(recovered_);  // later calls get nothing
  return records;
}

core::StatusOr<std::vector<JournalRecord>> Journal::ReadCommitted(uint64_t from_id,
                                                                  size_t max_records,
                                                                  int64_t max_bytes) {
  std::vector<JournalRecord> records;
  std::lock_guard file_lock(file_mu_);
  while (records.empty()) {
    if (file_ == nullptr)
      return core::FailedPrecondition("journal " + options_.name + " is closed");
    ASSIGN_OR_RETURN(std::vector<JournalRow> rows,
                     file_->ReadFrom(from_id, std::max<size_t>(max_records, 1), max_bytes));
    if (rows.empty()) break;
    from_id = rows.back().id + 1;
    KeepLive(std::move(rows), &records);  // rows removed but not deleted yet are skipped
  }
  return records;
}

void Journal::KeepLive(std::vector<JournalRow> rows, std::vector<JournalRecord>* out) {
  std::lock_guard lock(mu_);
  for (JournalRow& row : rows) {
    if (live_sizes_.count(row.id) != 0) out->push_back(RecordOf(std::move(row)));
  }
}

core::StatusOr<uint64_t> Journal::Append(std::string record, OnDurable on_durable) {
  const auto size = static_cast<int64_t>(record.size());
  std::lock_guard lock(mu_);
  if (closing_) return core::FailedPrecondition("journal " + options_.name + " is closed");
  const auto records = static_cast<int64_t>(live_sizes_.size());
  if (records + 1 > options_.max_records || live_bytes_ + size > options_.max_bytes) {
    metrics_->full->Increment();
    return core::ResourceExhausted("journal " + options_.name + " is full (" +
                                   std::to_string(records) + " records, " +
                                   std::to_string(live_bytes_) + " bytes; a record of " +
                                   std::to_string(size) + " bytes does not fit)");
  }
  const uint64_t id = next_id_++;
  const bool was_idle = !HasWorkLocked();
  JournalRow row{id, UnixNanos(wall_clock_->Now()), std::move(record)};
  pending_.emplace(id, Pending{std::move(row), std::move(on_durable)});
  live_sizes_.emplace(id, size);
  live_bytes_ += size;
  metrics_->appends->Increment();
  UpdateGaugesLocked();
  if (was_idle) {  // otherwise the writer is awake already, in a window or a commit
    oldest_pending_ = clock_->Now();
    cv_.notify_one();
  }
  return id;
}

bool Journal::Remove(uint64_t id) {
  std::lock_guard lock(mu_);
  if (closing_) return false;
  auto live = live_sizes_.find(id);
  if (live == live_sizes_.end()) return false;
  live_bytes_ -= live->second;
  live_sizes_.erase(live);
  const bool was_idle = !HasWorkLocked();
  bool cancelled = false;
  if (auto p = pending_.find(id); p != pending_.end()) {
    cancelled_.push_back(std::move(p->second.on_durable));
    pending_.erase(p);
    cancelled = true;
  } else {
    pending_deletes_.push_back(id);
  }
  metrics_->removes->Increment();
  UpdateGaugesLocked();
  if (was_idle) {
    oldest_pending_ = clock_->Now();
    cv_.notify_one();
  }
  return cancelled;
}

void Journal::Close() {
  std::lock_guard close_lock(close_mu_);
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  std::lock_guard file_lock(file_mu_);
  file_.reset();  // closes the file and releases its lock
}

int64_t Journal::records() const {
  std::lock_guard lock(mu_);
  return static_cast<int64_t>(live_sizes_.size());
}

int64_t Journal::bytes() const {
  std::lock_guard lock(mu_);
  return live_bytes_;
}

bool Journal::HasWorkLocked() const {
  return !pending_.empty() || !pending_deletes_.empty() || !cancelled_.empty();
}

void Journal::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    while (!closing_ && !HasWorkLocked()) cv_.wait(lock);
    if (!HasWorkLocked()) return;  // closing with nothing left
    // The window: wait for more changes to share this commit, unless closing.
    const core::TimePoint deadline =
        std::max(oldest_pending_ + options_.max_commit_delay, retry_after_);
    while (!closing_ && clock_->Now() < deadline) clock_->WaitUntil(cv_, lock, deadline);
    Batch batch = TakeBatchLocked();
    lock.unlock();
    CommitBatch(std::move(batch));
    lock.lock();
  }
}

Journal::Batch Journal::TakeBatchLocked() {
  Batch batch;
  batch.inserts.reserve(pending_.size());
  batch.on_durable.reserve(pending_.size());
  for (auto& [id, pending] : pending_) {  // ascending ids: append order
    batch.inserts.push_back(std::move(pending.row));
    batch.on_durable.push_back(std::move(pending.on_durable));
  }
  pending_.clear();
  batch.deletes.swap(pending_deletes_);
  batch.cancelled.swap(cancelled_);
  return batch;
}

void Journal::CommitBatch(Batch batch) {
  core::Status status;
  if (!batch.inserts.empty() || !batch.deletes.empty()) {
    const core::TimePoint start = clock_->Now();
    {
      std::lock_guard file_lock(file_mu_);
      status = file_->Commit(batch.inserts, batch.deletes);
    }
    metrics_->commits->Increment();
    metrics_->commit_seconds->Observe(std::chrono::duration<double>(clock_->Now() - start).count());
    metrics_->commit_changes->Observe(
        static_cast<double>(batch.inserts.size() + batch.deletes.size()));
    if (!status.ok()) {
      metrics_->write_failed->Increment();
      spdlog::error("journal {}: commit of {} appends and {} removes failed: {}", options_.name,
                    batch.inserts.size(), batch.deletes.size(), status.ToString());
      std::lock_guard lock(mu_);
      ForgetFailedLocked(batch);
    }
  }
  for (OnDurable& on_durable : batch.on_durable) {
    if (on_durable) on_durable(status);
  }
  for (OnDurable& on_durable : batch.cancelled) {
    if (on_durable) on_durable(core::Status::Ok());
  }
}

void Journal::ForgetFailedLocked(const Batch& batch) {
  // The appends are not in the file: they leave the journal (their callers
  // learn it from on_durable). The deleted rows still are: delete them again.
  for (const JournalRow& row : batch.inserts) {
    if (auto live = live_sizes_.find(row.id); live != live_sizes_.end()) {
      live_bytes_ -= live->second;
      live_sizes_.erase(live);
    }
  }
  if (!HasWorkLocked()) oldest_pending_ = clock_->Now();
  pending_deletes_.insert(pending_deletes_.end(), batch.deletes.begin(), batch.deletes.end());
  retry_after_ = clock_->Now() + kRetryDelay;
  UpdateGaugesLocked();
}

void Journal::UpdateGaugesLocked() {
  metrics_->records->Set(static_cast<double>(live_sizes_.size()));
  metrics_->bytes->Set(static_cast<double>(live_bytes_));
}

}  // namespace infergate::state
