// Worker: one thread for the few jobs that block for long (repository load
// and unload take as long as a model load), so no frontend's IO thread ever
// waits for one. Every frontend's repository calls share this one queue
// (through ModelControl), so they run one at a time, in arrival order.
//
// Bounded: at most `max_queued` jobs wait; Post refuses more at once.
//
// Thread-safety: Post and Stop may be called from any thread but a job;
// jobs run one at a time on the worker's own thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace infergate::engine {

class Worker {
 public:
  explicit Worker(size_t max_queued);
  ~Worker();  // Stop()
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Queues `job`; false (the job is dropped, not run) when `max_queued` jobs
  // already wait or the worker has stopped.
  bool Post(std::function<void()> job);
  // Runs the jobs already queued, refuses new ones, joins the thread.
  // Idempotent.
  void Stop();

 private:
  void Loop();

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                   // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace infergate::engine
