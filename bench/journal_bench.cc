// The durable journal (src/state/journal.h) on this machine's disk: appends
// plus removes per second and the cost per record, with 1, 16 and 256
// concurrent producers sharing its group commit (and 64, the device count of
// the MQTT benchmark).
//
// Each producer is a thread that does what the MQTT inbox does per request:
// Append a record, wait for its on_durable (the moment the broker would get
// its acknowledgement), then Remove it (the request was answered). Closed
// loop: every producer keeps one record in flight. Per configuration it
// reports, as the median of --rounds runs of --seconds each (a new file per
// run):
//   records/s       appended, reported durable and removed, per second
//   durable p50/p99 Append -> on_durable latency
//   per commit      records appended per SQLite transaction (group commit)
//   CPU us/record   the process's CPU time (user + system) per record
// and, once, the disk's own fdatasync latency (4 KiB write + fdatasync).
//
// Usage: journal_bench [--producers 1,16,64,256] [--seconds 3] [--rounds 3]
//                      [--record-bytes 1024] [--delays-us 0,2000]
//                      [--durability both|full|normal] [--dir DIR]
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "closed_loop.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "state/journal.h"

namespace {

using infergate::bench::CpuSeconds;
using infergate::bench::ParseList;
using infergate::bench::Percentile;
using infergate::bench::Waiter;
using SteadyTime = std::chrono::steady_clock;
namespace fs = std::filesystem;
using infergate::state::Durability;

struct Options {
  std::vector<int> producers = {1, 16, 64, 256};
  double seconds = 3;
  int rounds = 3;
  size_t record_bytes = 1024;
  std::vector<int> delays_us = {0, 2000};
  std::vector<Durability> durabilities = {Durability::kPowerLoss, Durability::kProcessCrash};
  fs::path dir = fs::temp_directory_path();
};

struct Result {
  double records_per_sec = 0;
  double p50_us = 0;
  double p99_us = 0;
  double per_commit = 0;
  double cpu_us_per_record = 0;
};


// Append, wait until durable, remove; until `stop`. Latencies in us.
void Produce(infergate::state::Journal& journal, const std::string& record,
             const std::atomic<bool>& stop, std::vector<double>& latencies, bool& failed) {
  Waiter w;
  while (!stop.load(std::memory_order_relaxed)) {
    const auto start = SteadyTime::now();
    auto id = journal.Append(record, [&w](const infergate::core::Status& s) { w.Signal(s.ok()); });
    if (!id.ok()) {
      std::fprintf(stderr, "append: %s\n", id.status().ToString().c_str());
      failed = true;
      return;
    }
    const bool ok = w.Wait();
    latencies.push_back(
        std::chrono::duration<double, std::micro>(SteadyTime::now() - start).count());
    if (!ok) failed = true;
    journal.Remove(*id);
  }
}

bool RunOnce(const Options& o, Durability durability, int delay_us, int producers, Result* result) {
  const fs::path path = o.dir / ("journal_bench_" + std::to_string(getpid()) + ".db");
  fs::remove(path);
  infergate::core::MetricsRegistry metrics;
  infergate::state::JournalOptions options;
  options.path = path.string();
  options.name = "bench";
  options.durability = durability;
  options.max_commit_delay = std::chrono::microseconds(delay_us);
  auto journal =
      infergate::state::Journal::Open(options, &metrics, &infergate::core::SteadyClock::Instance(),
                                      &infergate::core::SystemWallClock::Instance());
  if (!journal.ok()) {
    std::fprintf(stderr, "%s\n", journal.status().ToString().c_str());
    return false;
  }
  const std::string record(o.record_bytes, 'r');
  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(producers));
  std::vector<char> failed(static_cast<size_t>(producers), 0);
  const double cpu_start = CpuSeconds();
  const auto start = SteadyTime::now();
  std::vector<std::thread> threads;
  for (size_t p = 0; p < static_cast<size_t>(producers); ++p) {
    threads.emplace_back([&, p] {
      bool f = false;
      Produce(**journal, record, stop, latencies[p], f);
      failed[p] = f;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  stop = true;
  for (std::thread& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(SteadyTime::now() - start).count();
  const double cpu = CpuSeconds() - cpu_start;
  const uint64_t commits =
      metrics.FindCounter("infergate_journal_commits_total", {{"journal", "bench"}})->value();
  (*journal)->Close();
  fs::remove(path);
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  if (std::find(failed.begin(), failed.end(), 1) != failed.end() || all.empty()) return false;
  const auto n = static_cast<double>(all.size());
  result->records_per_sec = n / elapsed;
  result->cpu_us_per_record = cpu * 1e6 / n;
  result->per_commit =
      commits == 0 ? 0 : n / static_cast<double>(commits);  // each commit also holds removes
  result->p50_us = Percentile(all, 0.5);
  result->p99_us = Percentile(all, 0.99);
  return true;
}

// The disk's own sync latency, as a growing log sees it: 4 KiB appended and
// fdatasync'd, 200 times. Returns {p50, p99} in us.
std::pair<double, double> FdatasyncUs(const fs::path& dir) {
  const fs::path path = dir / ("journal_bench_sync_" + std::to_string(getpid()));
  const int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_APPEND, 0600);
  if (fd < 0) return {-1, -1};
  std::vector<double> us;
  const std::string block(4096, 's');
  for (int i = 0; i < 200; ++i) {
    const auto start = SteadyTime::now();
    if (write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) ||
        fdatasync(fd) != 0)
      break;
    us.push_back(std::chrono::duration<double, std::micro>(SteadyTime::now() - start).count());
  }
  close(fd);
  fs::remove(path);
  const double p50 = Percentile(us, 0.5);
  return {p50, Percentile(us, 0.99)};
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
    } else if (flag == "--record-bytes") {
      o->record_bytes = static_cast<size_t>(std::atol(value));
    } else if (flag == "--delays-us") {
      o->delays_us = ParseList(value);
    } else if (flag == "--durability") {
      const std::string d = value;
      if (d == "full") o->durabilities = {Durability::kPowerLoss};
      if (d == "normal") o->durabilities = {Durability::kProcessCrash};
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
    std::fprintf(
        stderr,
        "usage: journal_bench [--producers 1,16,64,256] [--seconds 3] [--rounds 3] [--record-bytes "
        "1024]\n"
        "                     [--delays-us 0,2000] [--durability both|full|normal] [--dir DIR]\n");
    return 2;
  }
  const auto [sync_p50, sync_p99] = FdatasyncUs(o.dir);
  std::printf("disk (%s): 4 KiB append + fdatasync p50 %.0f us, p99 %.0f us\n", o.dir.c_str(),
              sync_p50, sync_p99);
  std::printf("%zu-byte records, %.1f s per run, median of %d runs\n\n", o.record_bytes, o.seconds,
              o.rounds);
  std::printf(
      "| synchronous | window us | producers | records/s | durable p50 / p99 us | records per "
      "commit | CPU us/record |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (Durability d : o.durabilities) {
    for (int delay : o.delays_us) {
      for (int producers : o.producers) {
        std::vector<Result> runs;
        for (int r = 0; r < o.rounds; ++r) {
          Result result;
          if (!RunOnce(o, d, delay, producers, &result)) return 1;
          runs.push_back(result);
        }
        // The median run by throughput, reported whole.
        std::sort(runs.begin(), runs.end(), [](const Result& a, const Result& b) {
          return a.records_per_sec < b.records_per_sec;
        });
        const Result& m = runs[runs.size() / 2];
        std::printf("| %s | %d | %d | %.0f | %.0f / %.0f | %.1f | %.1f |\n",
                    d == Durability::kPowerLoss ? "FULL" : "NORMAL", delay, producers,
                    m.records_per_sec, m.p50_us, m.p99_us, m.per_commit, m.cpu_us_per_record);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
