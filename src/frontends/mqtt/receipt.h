// Receipt: what one QoS 1/2 request still owes the broker and the inbox
// journal. The request is acknowledged to the broker (PUBACK/PUBREC) once its
// inbox record is durable or once it is answered, whichever comes first; its
// record is removed once it is answered. Without an inbox (or when the inbox
// is full) it is acknowledged once answered. A request recovered from the
// inbox after a crash has a record and nothing left to acknowledge.
//
// "Answered": its reply acknowledged by the broker (a QoS 1/2 reply) or
// written (QoS 0), or there was nowhere to reply to. A reply dropped because
// the connection went or the frontend stopped (Answered is not called) leaves the request
// unacknowledged (the broker sends it again to the persistent session) and
// its record in the inbox (run again at the next start).
//
// Thread-safety: Journal on the network thread before the request is
// processed; Answered (at most once) and the journal's callback on any
// thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/status.h"
#include "frontends/mqtt/mqtt_client.h"

namespace infergate::state {
class Journal;
}

namespace infergate::mqtt {

struct ReplySink;

class Receipt : public std::enable_shared_from_this<Receipt> {
 public:
  // `sink` acknowledges through its client; `journal` may be null (no inbox).
  Receipt(std::shared_ptr<ReplySink> sink, std::shared_ptr<state::Journal> journal, AckHandle ack);
  // A recovered request: its record `id`, nothing to acknowledge.
  Receipt(std::shared_ptr<ReplySink> sink, std::shared_ptr<state::Journal> journal, uint64_t id);

  // Writes `message` to the inbox when there is one and it has room (else the
  // request is acknowledged once answered). Counted by outcome.
  void Journal(const IncomingMessage& message);
  // The request is answered: its record goes, and it is acknowledged if it
  // was not yet (counted as after `after`: "answer", or "outbox" when the
  // answer is a reply safe in the outbox: committed or acknowledged).
  void Answered(std::string_view after = "answer");

 private:
  // Once: `after` ("journal", "answer") labels the count.
  void Acknowledge(std::string_view after);

  const std::shared_ptr<ReplySink> sink_;
  const std::shared_ptr<state::Journal> journal_;
  const AckHandle ack_;
  std::atomic<bool> acknowledged_{false};
  uint64_t record_ = 0;  // written by Journal before the request is processed
};

}  // namespace infergate::mqtt
