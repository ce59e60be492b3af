#include "edge/outbox.h"

#include <utility>

#include "edge/outbox_core.h"
#include "state/journal.h"

namespace infergate::edge {

core::StatusOr<std::unique_ptr<Outbox>> Outbox::Open(OutboxOptions options,
                                                     core::MetricsRegistry* metrics,
                                                     const core::Clock* clock,
                                                     const core::WallClock* wall_clock) {
  state::JournalOptions journal_options;
  journal_options.path = options.path;
  journal_options.name = "outbox-" + options.name;
  // The outbox drops the oldest before the journal would refuse an append.
  journal_options.max_bytes = options.max_bytes;
  journal_options.max_records = options.max_records;
  journal_options.durability = options.durability;
  journal_options.max_commit_delay = options.max_commit_delay;
  journal_options.recover_data = false;  // read back when sent
  ASSIGN_OR_RETURN(std::unique_ptr<state::Journal> journal,
                   state::Journal::Open(journal_options, metrics, clock, wall_clock));
  std::vector<state::JournalRecord> recovered = journal->Recovered();
  auto core = std::make_shared<OutboxCore>(std::move(options), std::move(journal), metrics, clock,
                                           wall_clock);
  core->Recover(std::move(recovered));
  return std::unique_ptr<Outbox>(new Outbox(std::move(core)));
}

Outbox::Outbox(std::shared_ptr<OutboxCore> core) : core_(std::move(core)) {}

Outbox::~Outbox() { Close(core::Duration::zero()); }

void Outbox::Start(OutboxSink* sink) {
  std::lock_guard lock(close_mu_);
  if (sender_.joinable()) return;
  sender_ = std::thread([core = core_, sink] { core->Run(sink); });
}

core::Status Outbox::Push(OutboxMessage message, OnSafe on_safe) {
  return core_->Push(std::move(message), std::move(on_safe));
}

void Outbox::Wake() { core_->Wake(); }

void Outbox::Close(core::Duration flush) {
  std::lock_guard lock(close_mu_);
  core_->Stop(flush);
  if (sender_.joinable()) sender_.join();
  core_->CloseJournal();
}

int64_t Outbox::messages() const { return core_->messages(); }
int64_t Outbox::bytes() const { return core_->bytes(); }

}  // namespace infergate::edge
