// The outbox's records (edge/outbox_message.h), as an outbox reads them back
// from its file before sending: a damaged file must give an error, never a
// crash. A record that decodes must encode to the same bytes.
//
// Input: the record's bytes.
#include <cstdlib>
#include <string>

#include "edge/outbox_message.h"
#include "fuzz/fuzz_input.h"

namespace infergate::fuzz {
namespace {

void Run(std::string_view in) {
  auto message = edge::DecodeOutboxMessage(in);
  if (!message.ok()) return;
  // The flags byte may carry bits the encoder never sets; all else round-trips.
  std::string again = edge::EncodeOutboxMessage(*message);
  auto second = edge::DecodeOutboxMessage(again);
  if (!second.ok() || edge::EncodeOutboxMessage(*second) != again || !(*second == *message)) {
    std::abort();
  }
}

}  // namespace
}  // namespace infergate::fuzz

INFERGATE_FUZZ_TARGET(infergate::fuzz::Run)
