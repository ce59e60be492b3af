#include "recorder.h"

namespace infergate::bench {

void Recorder::SetWindow(TimePoint window_start, TimePoint window_end) {
  std::lock_guard lock(mu_);
  window_start_ = window_start;
  window_end_ = window_end;
}

void Recorder::Add(const Outcome& outcome) {
  std::lock_guard lock(mu_);
  ++progress_.completed;
  ++(outcome.ok() ? progress_.ok : progress_.errors);
  if (outcome.ok() && outcome.end >= window_start_ && outcome.end < window_end_) {
    ++ok_completions_in_window_;
  }
  const TimePoint start = outcome.request.start;
  if (start < window_start_ || start >= window_end_) return;
  ++window_.requests;
  if (outcome.ok()) {
    ++window_.ok;
    const auto latency = std::chrono::duration_cast<Nanos>(outcome.end - start).count();
    window_.latency.Record(static_cast<uint64_t>(latency < 0 ? 0 : latency));
  } else {
    ++window_.errors;
    ++window_.errors_by_kind[outcome.error];
  }
}

void Recorder::AddUnfinished(uint64_t n, const std::string& kind) {
  if (n == 0) return;
  std::lock_guard lock(mu_);
  window_.requests += n;
  window_.errors += n;
  window_.errors_by_kind[kind] += n;
}

Progress Recorder::progress() const {
  std::lock_guard lock(mu_);
  return progress_;
}

void Recorder::Fill(RunResult* result) const {
  std::lock_guard lock(mu_);
  result->requests = window_.requests;
  result->ok = window_.ok;
  result->errors = window_.errors;
  result->errors_by_kind = window_.errors_by_kind;
  result->latency = window_.latency;
  const double seconds = std::chrono::duration<double>(window_end_ - window_start_).count();
  result->duration_s = seconds;
  result->throughput = seconds > 0 ? static_cast<double>(ok_completions_in_window_) / seconds : 0;
}

}  // namespace infergate::bench
