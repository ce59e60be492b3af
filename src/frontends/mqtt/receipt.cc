#include "frontends/mqtt/receipt.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "frontends/mqtt/inbox_record.h"
#include "frontends/mqtt/reply_sink.h"
#include "state/journal.h"

namespace infergate::mqtt {

Receipt::Receipt(std::shared_ptr<ReplySink> sink, std::shared_ptr<state::Journal> journal, AckHandle ack)
    : sink_(std::move(sink)), journal_(std::move(journal)), ack_(ack) {}

Receipt::Receipt(std::shared_ptr<ReplySink> sink, std::shared_ptr<state::Journal> journal, uint64_t id)
    : sink_(std::move(sink)), journal_(std::move(journal)), acknowledged_(true), record_(id) {}

void Receipt::Journal(const IncomingMessage& message) {
  if (!journal_) return;
  auto self = shared_from_this();
  auto id = journal_->Append(EncodeInboxRecord(message), [self](const core::Status& st) {
    if (st.ok()) {
      self->Acknowledge("journal");
    } else {
      // Not durable: acknowledged once answered, as without an inbox.
      spdlog::warn("mqtt: inbox: {}", st.message());
    }
  });
  if (!id.ok()) {
    sink_->CountInbox("full");
    return;
  }
  record_ = *id;
  sink_->CountInbox("journaled");
}

void Receipt::Answered(std::string_view after) {
  // Acknowledged first: a record removed before its commit reports itself
  // durable, which would count this answer as an acknowledgement after the
  // journal. (A crash in between runs the request again: a duplicate.)
  Acknowledge(after);
  if (record_ != 0 && journal_) journal_->Remove(record_);
}

void Receipt::Acknowledge(std::string_view after) {
  if (acknowledged_.exchange(true)) return;
  sink_->Ack(ack_, after);
}

}  // namespace infergate::mqtt
