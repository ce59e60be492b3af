// The child of the journal's crash tests (journal_test.cc): appends records
// to a journal and is killed with SIGKILL once they are reported durable.
//   journal_crash_child <path> <n> self  appends n records and kills itself
//                                        from the n-th on_durable callback
//   journal_crash_child <path> <n> busy  appends n records, prints
//                                        "durable <n>" once all are durable,
//                                        then appends and removes more until
//                                        the test kills it
// Record i (from 1) holds CrashRecord(i) (journal_crash_record.h).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/clock.h"
#include "core/metrics.h"
#include "state/journal.h"
#include "state/journal_crash_record.h"

namespace {

using infergate::core::Status;

int Fail(const std::string& what) {
  std::fprintf(stderr, "journal_crash_child: %s\n", what.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return Fail("usage: journal_crash_child <path> <n> self|busy");
  const int n = std::atoi(argv[2]);
  const std::string mode = argv[3];
  infergate::core::MetricsRegistry metrics;
  infergate::state::JournalOptions options;
  options.path = argv[1];
  options.max_commit_delay = std::chrono::microseconds(200);
  auto journal =
      infergate::state::Journal::Open(options, &metrics, &infergate::core::SteadyClock::Instance(),
                                      &infergate::core::SystemWallClock::Instance());
  if (!journal.ok()) return Fail(journal.status().ToString());
  std::atomic<int> durable{0};
  for (int i = 1; i <= n; ++i) {
    auto id = (*journal)->Append(infergate::state::CrashRecord(i), [&, n](const Status& status) {
      if (!status.ok()) {
        std::fprintf(stderr, "journal_crash_child: %s\n", status.ToString().c_str());
        _exit(3);
      }
      if (++durable == n) {
        if (mode == "self") kill(getpid(), SIGKILL);
        std::printf("durable %d\n", n);
        std::fflush(stdout);
      }
    });
    if (!id.ok()) return Fail(id.status().ToString());
  }
  if (mode == "self") {
    while (true) pause();  // until the callback kills the process
  }
  // busy: keep the writer committing (an insert and a delete per round) until killed.
  uint64_t previous = 0;
  for (int i = n + 1;; ++i) {
    auto id = (*journal)->Append(infergate::state::CrashRecord(i), [](const Status&) {});
    if (!id.ok()) return Fail(id.status().ToString());
    if (previous != 0) (*journal)->Remove(previous);
    previous = *id;
  }
}
