// The durable outbox (src/edge/outbox.h) on this machine's disk: what one
// message costs between a producer's Push and (a) its on_safe with no sink
// (committed: "durable"), and (b) the sink's acknowledgement (handed to the
// sink from memory at once and acknowledged by a sink that stands for a
// broker on loopback, while the write goes on beside; an acknowledgement
// before the commit cancels the write; on_safe reports at the first of the
// two: where an MQTT request counts as answered), with 1, 4 and 16
// concurrent producers sharing the journal's group commit.
//
// Each producer is a thread in a closed loop with one message in flight: it
// Pushes a message and waits for (a) or (b). Per configuration it reports,
// as the median of --rounds runs of --seconds each (a new file per run):
//   messages/s       per second, all producers
//   p50 / p99 us     Push -> on_safe (a) or -> acknowledged (b)
//   CPU us/message   the process's CPU time (user + system) per message
//   written          the share of messages that reached the file
//                    (infergate_outbox_written_total / messages)
//
// Usage: outbox_bench [--producers 1,4,16] [--seconds 3] [--rounds 3]
//                     [--payload-bytes 256] [--dir DIR]
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "closed_loop.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "edge/outbox.h"

namespace {

using infergate::bench::CpuSeconds;
using infergate::bench::ParseList;
using infergate::bench::Percentile;
using infergate::bench::Waiter;
using SteadyTime = std::chrono::steady_clock;
namespace fs = std::filesystem;
namespace edge = infergate::edge;

struct Options {
  std::vector<int> producers = {1, 4, 16};
  double seconds = 3;
  int rounds = 3;
  size_t payload_bytes = 256;
  fs::path dir = fs::temp_directory_path();
};

struct Result {
  double per_sec = 0;
  double p50_us = 0;
  double p99_us = 0;
  double cpu_us = 0;
  double written = 0;  // share of the messages written to the file
};

// Acknowledges every message at once and signals its producer (its topic is
// the producer's index).
class AckingSink final : public edge::OutboxSink {
 public:
  explicit AckingSink(std::vector<Waiter>* waiters) : waiters_(waiters) {}
  infergate::core::Status Send(const edge::OutboxMessage& m,
                               std::function<void(const infergate::core::Status&)> done) override {
    done(infergate::core::Status::Ok());
    (*waiters_)[static_cast<size_t>(std::atoi(m.topic.c_str()))].Signal();
    return infergate::core::Status::Ok();
  }

 private:
  std::vector<Waiter>* waiters_;
};

bool RunOnce(const Options& o, bool until_acked, int producers, Result* result) {
  const fs::path path = o.dir / ("outbox_bench_" + std::to_string(getpid()) + ".db");
  fs::remove(path);
  infergate::core::MetricsRegistry metrics;
  edge::OutboxOptions options;
  options.path = path.string();
  options.name = "bench";
  auto outbox = edge::Outbox::Open(options, &metrics, &infergate::core::SteadyClock::Instance(),
                                   &infergate::core::SystemWallClock::Instance());
  if (!outbox.ok()) {
    std::fprintf(stderr, "%s\n", outbox.status().ToString().c_str());
    return false;
  }
  std::vector<Waiter> waiters(static_cast<size_t>(producers));
  AckingSink sink(&waiters);
  if (until_acked) (*outbox)->Start(&sink);
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(producers));
  const double cpu_start = CpuSeconds();
  const auto start = SteadyTime::now();
  std::vector<std::thread> threads;
  for (size_t p = 0; p < static_cast<size_t>(producers); ++p) {
    threads.emplace_back([&, p] {
      edge::OutboxMessage m;
      m.topic = std::to_string(p);
      m.payload.assign(o.payload_bytes, 'p');
      while (!stop.load(std::memory_order_relaxed)) {
        const auto t0 = SteadyTime::now();
        auto on_safe = [&, p](const infergate::core::Status& s) {
          if (!s.ok()) failed = true;
          if (!until_acked) waiters[p].Signal();
        };
        if (!(*outbox)->Push(m, on_safe).ok()) failed = true;
        waiters[p].Wait();
        latencies[p].push_back(
            std::chrono::duration<double, std::micro>(SteadyTime::now() - t0).count());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  stop = true;
  for (std::thread& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(SteadyTime::now() - start).count();
  const double cpu = CpuSeconds() - cpu_start;
  (*outbox)->Close(std::chrono::seconds(1));
  fs::remove(path);
  const infergate::core::Counter* written =
      metrics.FindCounter("infergate_outbox_written_total", {{"outbox", "bench"}});
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  if (failed || all.empty()) return false;
  const auto n = static_cast<double>(all.size());
  result->per_sec = n / elapsed;
  result->cpu_us = cpu * 1e6 / n;
  result->p50_us = Percentile(all, 0.5);
  result->p99_us = Percentile(all, 0.99);
  result->written = written == nullptr ? 0 : static_cast<double>(written->value()) / n;
  return true;
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--producers") {
      o->producers = ParseList(value);
    } else if (flag == "--seconds") {
      o->seconds = std::atof(value);
    } else if (flag == "--rounds") {
      o->rounds = std::max(1, std::atoi(value));
    } else if (flag == "--payload-bytes") {
      o->payload_bytes = static_cast<size_t>(std::atol(value));
    } else if (flag == "--dir") {
      o->dir = value;
    } else {
      return false;
    }
  }
  return argc % 2 == 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: outbox_bench [--producers 1,4,16] [--seconds 3] [--rounds 3] "
                 "[--payload-bytes 256] [--dir DIR]\n");
    return 2;
  }
  std::printf("%zu-byte payloads, synchronous=FULL, %.1f s per run, median of %d runs (%s)\n\n",
              o.payload_bytes, o.seconds, o.rounds, o.dir.c_str());
  std::printf("| until | producers | messages/s | p50 / p99 us | CPU us/message | written |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (bool until_acked : {false, true}) {
    for (int producers : o.producers) {
      std::vector<Result> runs;
      for (int r = 0; r < o.rounds; ++r) {
        Result result;
        if (!RunOnce(o, until_acked, producers, &result)) return 1;
        runs.push_back(result);
      }
      std::sort(runs.begin(), runs.end(),
                [](const Result& a, const Result& b) { return a.per_sec < b.per_sec; });
      const Result& m = runs[runs.size() / 2];
      std::printf("| %s | %d | %.0f | %.0f / %.0f | %.1f | %.2f |\n",
                  until_acked ? "acknowledged" : "durable", producers, m.per_sec, m.p50_us,
                  m.p99_us, m.cpu_us, m.written);
    }
  }
  return 0;
}
