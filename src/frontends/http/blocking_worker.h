// BlockingWorker: one thread for the few requests that block (repository
// load and unload), so IO threads never wait for a model to load.
//
// Thread-safety: Post and Stop may be called from any thread; the jobs run
// one at a time on the worker's thread, in order.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace infergate::http {

class BlockingWorker {
 public:
  // At most `max_queued` jobs wait; more are refused.
  explicit BlockingWorker(size_t max_queued);
  ~BlockingWorker();
  BlockingWorker(const BlockingWorker&) = delete;
  BlockingWorker& operator=(const BlockingWorker&) = delete;

  // Queues `job`; false (job dropped, not run) when the queue is full or the worker stopped.
  bool Post(std::function<void()> job);
  // Runs the jobs already queued, then joins the thread. Idempotent.
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

}  // namespace infergate::http
