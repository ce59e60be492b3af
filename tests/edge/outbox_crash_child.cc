// The child of the outbox's crash test (outbox_safe_test.cc): an outbox whose
// commits never come (a one-hour window) pushes m0 and m1 to a sink that
// acknowledges m0 at once and holds m1, prints "handed over" and waits to be
// killed with SIGKILL.
//   outbox_crash_child <path>
// Prints "taken <topic> safe=<0|1>" as the sink takes a message (whether its
// on_safe had run) and "safe <topic>" from on_safe.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>

#include "core/clock.h"
#include "core/metrics.h"
#include "edge/outbox.h"

namespace {

using infergate::core::Status;
using infergate::edge::OutboxMessage;

std::mutex out_mu;
void Say(const std::string& line) {
  std::lock_guard lock(out_mu);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

std::atomic<bool> safe[2];

class Sink : public infergate::edge::OutboxSink {
 public:
  Status Send(const OutboxMessage& m, std::function<void(const Status&)> done) override {
    const int i = m.topic == "m0" ? 0 : 1;
    Say("taken " + m.topic + " safe=" + (safe[i] ? "1" : "0"));
    if (i == 0) {
      done(Status::Ok());
    } else {
      held_ = std::move(done);  // never acknowledged
    }
    if (++taken_ == 2) Say("handed over");
    return Status::Ok();
  }

 private:
  std::function<void(const Status&)> held_;
  int taken_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  infergate::core::MetricsRegistry metrics;
  infergate::edge::OutboxOptions options;
  options.path = argv[1];
  options.max_commit_delay = std::chrono::hours(1);
  auto outbox =
      infergate::edge::Outbox::Open(options, &metrics, &infergate::core::SteadyClock::Instance(),
                                    &infergate::core::SystemWallClock::Instance());
  if (!outbox.ok()) {
    std::fprintf(stderr, "outbox_crash_child: %s\n", outbox.status().ToString().c_str());
    return 2;
  }
  static Sink sink;
  (*outbox)->Start(&sink);
  for (int i = 0; i < 2; ++i) {
    OutboxMessage m;
    m.topic = "m" + std::to_string(i);
    m.payload = "reply";
    auto pushed = (*outbox)->Push(m, [i, topic = m.topic](const Status& s) {
      if (!s.ok()) return;
      safe[i] = true;
      Say("safe " + topic);
    });
    if (!pushed.ok()) return 2;
  }
  while (true) pause();  // until killed
}
