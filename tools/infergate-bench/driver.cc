#include "driver.h"

#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace infergate::bench {
namespace {

// What the completion callback and the driver thread share for one run.
struct RunState {
  Recorder recorder;
  Target* target = nullptr;
  bool open_loop = false;
  TimePoint end;  // written before the first Submit
  std::atomic<uint64_t> next_seq{0};
  std::atomic<uint64_t> outstanding{0};
  std::mutex mu;
  std::condition_variable idle;

  // On the target's thread.
  void OnDone(const Outcome& outcome) {
    recorder.Add(outcome);
    const TimePoint now = Clock::now();
    if (!open_loop && now < end) {
      target->Submit({next_seq++, now});  // keeps the level of concurrency
      return;
    }
    if (outstanding.fetch_sub(1) == 1) {
      std::lock_guard lock(mu);
      idle.notify_all();
    }
  }
};

std::string Describe(const LoadSpec& spec) {
  std::string what = "[" + (spec.label.empty() ? spec.target : spec.label);
  what += spec.open_loop ? " rate=" + std::to_string(static_cast<long long>(spec.rate))
                         : " c=" + std::to_string(spec.concurrency);
  return what + "]";
}

double Seconds(Nanos d) { return std::chrono::duration<double>(d).count(); }

// Open loop: submits on the timetable until `end`, printing progress.
void SubmitOnSchedule(RunState* st, const LoadSpec& spec, TimePoint start, ProgressLine* progress) {
  // Wake up on time: the default 50 us timer slack would add itself to every
  // latency measured from the timetable.
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  const RateSchedule schedule(start, spec.rate);
  const double total = Seconds(spec.warmup + spec.duration);
  for (uint64_t i = 0;; ++i) {
    const TimePoint due = schedule.DueTime(i);
    if (due >= st->end) break;
    TimePoint now = Clock::now();
    while (now < due) {
      std::this_thread::sleep_until(std::min(due, now + std::chrono::milliseconds(250)));
      now = Clock::now();
      progress->Update(Describe(spec), now, Seconds(now - start), total, st->recorder.progress());
    }
    if (st->outstanding.load() >= spec.max_outstanding) {
      st->recorder.Add({{i, due}, now, "client_overload"});
      continue;
    }
    st->outstanding.fetch_add(1);
    st->target->Submit({i, due});
  }
}

// Closed loop: starts `concurrency` requests, then waits for the end.
void KeepInFlight(RunState* st, const LoadSpec& spec, TimePoint start, ProgressLine* progress) {
  st->outstanding.store(static_cast<uint64_t>(spec.concurrency));
  for (int i = 0; i < spec.concurrency; ++i) st->target->Submit({st->next_seq++, Clock::now()});
  const double total = Seconds(spec.warmup + spec.duration);
  for (TimePoint now = Clock::now(); now < st->end; now = Clock::now()) {
    std::this_thread::sleep_until(std::min(st->end, now + std::chrono::milliseconds(250)));
    now = Clock::now();
    progress->Update(Describe(spec), now, Seconds(now - start), total, st->recorder.progress());
  }
}

}  // namespace

core::StatusOr<RunResult> RunLoad(const TargetFactory& make_target, const LoadSpec& spec,
                                  ProgressLine* progress) {
  if (spec.open_loop ? spec.rate <= 0 : spec.concurrency <= 0) {
    return core::InvalidArgument("a run needs a rate > 0 or a concurrency > 0");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Target> target, make_target(spec));
  RunState st;
  st.target = target.get();
  st.open_loop = spec.open_loop;
  RETURN_IF_ERROR(target->Start([&st](const Outcome& o) { st.OnDone(o); }));

  const TimePoint start = Clock::now();
  const TimePoint window_start = start + spec.warmup;
  st.end = window_start + spec.duration;
  st.recorder.SetWindow(window_start, st.end);
  if (spec.open_loop) {
    SubmitOnSchedule(&st, spec, start, progress);
  } else {
    KeepInFlight(&st, spec, start, progress);
  }
  {
    std::unique_lock lock(st.mu);
    st.idle.wait_until(lock, st.end + spec.drain_timeout, [&] { return st.outstanding.load() == 0; });
  }
  target->Stop();
  progress->Finish();
  st.recorder.AddUnfinished(st.outstanding.load(), "timeout");

  RunResult result;
  result.label = spec.label;
  result.target = spec.target;
  result.mode = spec.open_loop ? "rate" : "concurrency";
  result.concurrency = spec.open_loop ? 0 : spec.concurrency;
  result.rate = spec.open_loop ? spec.rate : 0;
  st.recorder.Fill(&result);
  return result;
}

}  // namespace infergate::bench
