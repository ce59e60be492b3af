// The load driver against an in-process target that serves one request at a
// time with a fixed service time, so its capacity is known: closed loop
// keeps exactly `concurrency` in flight; open loop keeps offering the rate
// when the target falls behind, and the delay shows as latency.
#include "driver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "testing/time_scale.h"

namespace infergate::bench {
namespace {

using std::chrono::milliseconds;

// What a SerialTarget saw; outlives the target (the driver destroys it).
struct Seen {
  std::mutex mu;
  size_t max_in_flight = 0;
  uint64_t submitted = 0;
};

class SerialTarget final : public Target {
 public:
  SerialTarget(Nanos service_time, std::string fail_kind, Seen* seen)
      : service_time_(service_time), fail_kind_(std::move(fail_kind)), seen_(seen) {}
  ~SerialTarget() override { Stop(); }

  core::Status Start(CompletionFn on_done) override {
    on_done_ = std::move(on_done);
    worker_ = std::thread([this] { Serve(); });
    return core::Status::Ok();
  }
  void Submit(Request r) override {
    std::lock_guard lock(mu_);
    queue_.push_back(r);
    {
      std::lock_guard seen_lock(seen_->mu);
      seen_->max_in_flight = std::max(seen_->max_in_flight, queue_.size() + (busy_ ? 1 : 0));
      ++seen_->submitted;
    }
    cv_.notify_all();
  }
  void Stop() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    if (worker_.joinable()) worker_.join();
  }

 private:
  void Serve() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      const Request r = queue_.front();
      queue_.pop_front();
      busy_ = true;
      lock.unlock();
      std::this_thread::sleep_for(service_time_);
      lock.lock();
      busy_ = false;  // done before the driver hears of it and submits the next
      lock.unlock();
      on_done_({r, Clock::now(), fail_kind_});
      lock.lock();
    }
  }

  const Nanos service_time_;
  const std::string fail_kind_;
  Seen* seen_;
  CompletionFn on_done_;
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request> queue_;
  bool busy_ = false;
  bool stop_ = false;
};

TargetFactory FactoryOf(Seen* seen, Nanos service_time, std::string fail_kind = "") {
  return [=](const LoadSpec&) -> core::StatusOr<std::unique_ptr<Target>> {
    return std::unique_ptr<Target>(std::make_unique<SerialTarget>(service_time, fail_kind, seen));
  };
}

LoadSpec Spec(bool open_loop, double rate_or_concurrency, Nanos duration) {
  LoadSpec s;
  s.label = "test";
  s.target = "test";
  s.open_loop = open_loop;
  if (open_loop) s.rate = rate_or_concurrency;
  else s.concurrency = static_cast<int>(rate_or_concurrency);
  s.warmup = Nanos(0);
  s.duration = duration;
  s.drain_timeout = std::chrono::seconds(5);
  return s;
}

TEST(DriverTest, ClosedLoopKeepsTheConcurrencyInFlight) {
  Seen seen;
  ProgressLine quiet(stderr, false);
  // A window long enough for 20 replies also on a slow (sanitizer) build.
  auto r = RunLoad(FactoryOf(&seen, milliseconds(2)), Spec(false, 3, testing::Scaled(milliseconds(200))), &quiet);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(seen.max_in_flight, 3u);
  EXPECT_EQ(seen.submitted, r->requests);  // each finished, the last three after the window
  EXPECT_EQ(r->mode, "concurrency");
  EXPECT_EQ(r->concurrency, 3);
  EXPECT_EQ(r->errors, 0u);
  EXPECT_GT(r->ok, 20u);
  // One server, three in flight: each request waits for the two ahead of it.
  EXPECT_GE(r->latency.Percentile(0.5), 4'000'000u);
}

TEST(DriverTest, OpenLoopOffersTheRateWhateverTheServerDoes) {
  // Capacity 200/s (5 ms each, one at a time); 400/s offered for 0.3 s.
  Seen seen;
  ProgressLine quiet(stderr, false);
  auto r = RunLoad(FactoryOf(&seen, milliseconds(5)), Spec(true, 400, milliseconds(300)), &quiet);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->mode, "rate");
  EXPECT_EQ(seen.submitted, 120u);  // every slot of the timetable was sent
  EXPECT_EQ(r->requests, 120u);
  EXPECT_EQ(r->ok, 120u);
  // The backlog is ~600 ms of work offered in 300 ms: the last requests wait
  // about 300 ms past their due time. A client that waited for replies
  // before sending would report ~5 ms instead.
  EXPECT_GT(r->latency.Max(), 200'000'000u);
  EXPECT_GT(r->latency.Percentile(0.9), 100'000'000u);
  // Completions inside the window are limited by the server's capacity.
  EXPECT_LT(r->throughput, 260.0);
}

TEST(DriverTest, OpenLoopBelowCapacityHasServiceTimeLatency) {
  Seen seen;
  ProgressLine quiet(stderr, false);
  auto r = RunLoad(FactoryOf(&seen, milliseconds(2)), Spec(true, 50, milliseconds(400)), &quiet);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->requests, 20u);
  EXPECT_GE(r->latency.Percentile(0.5), 2'000'000u);
  EXPECT_LT(r->latency.Percentile(0.5), 50'000'000u);
}

TEST(DriverTest, ErrorsAreCountedByKind) {
  Seen seen;
  ProgressLine quiet(stderr, false);
  auto r = RunLoad(FactoryOf(&seen, milliseconds(1), "http_503"), Spec(false, 1, milliseconds(100)), &quiet);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ok, 0u);
  EXPECT_GT(r->errors, 10u);
  EXPECT_EQ(r->errors_by_kind.at("http_503"), r->errors);
  EXPECT_EQ(r->latency.Count(), 0u);
}

TEST(DriverTest, ATargetThatCannotStartFailsTheRun) {
  ProgressLine quiet(stderr, false);
  TargetFactory broken = [](const LoadSpec&) -> core::StatusOr<std::unique_ptr<Target>> {
    return core::Unavailable("cannot connect");
  };
  auto r = RunLoad(broken, Spec(false, 1, milliseconds(10)), &quiet);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(RunLoad(broken, Spec(true, 0, milliseconds(10)), &quiet).status().code(),
            core::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infergate::bench
