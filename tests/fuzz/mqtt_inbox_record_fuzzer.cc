// The MQTT inbox's records (frontends/mqtt/inbox_record.h), as the frontend
// reads them back from the journal at start-up: a damaged file must give an
// error, never a crash. A record that decodes must encode to the same bytes.
//
// Input: the record's bytes.
#include <cstdlib>
#include <string>

#include "frontends/mqtt/inbox_record.h"
#include "fuzz/fuzz_input.h"

namespace infergate::fuzz {
namespace {

void Run(std::string_view in) {
  auto message = mqtt::DecodeInboxRecord(in);
  if (!message.ok()) return;
  // The flags byte may carry bits the encoder never sets; all else round-trips.
  std::string again = mqtt::EncodeInboxRecord(*message);
  auto second = mqtt::DecodeInboxRecord(again);
  if (!second.ok() || mqtt::EncodeInboxRecord(*second) != again) std::abort();
}

}  // namespace
}  // namespace infergate::fuzz

INFERGATE_FUZZ_TARGET(infergate::fuzz::Run)
