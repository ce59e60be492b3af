// IoThreads: N Asio io_contexts, one thread each, for a frontend's
// connections. A connection is handed to Next() once and stays on that
// context (and thread) for its life, so its handlers never run concurrently.
//
// Each thread runs its context until Join(); a handler that throws (e.g.
// std::bad_alloc) is logged here, the one place, and the loop goes on:
// handlers report errors as values.
//
// Thread-safety: Start and Join from one thread (the frontend's owner);
// Next(), context() and size() from any thread.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace infergate::net {

class IoThreads {
 public:
  // `count` >= 1 contexts (fewer is taken as 1); `name` ("http", "grpc")
  // names them in logs.
  IoThreads(std::string name, int count);
  ~IoThreads();  // Join(0)
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;

  // Starts one thread per context. Once.
  void Start();
  // The next context in turn.
  boost::asio::io_context& Next();
  boost::asio::io_context& context(size_t i) { return *contexts_[i]; }
  size_t size() const { return contexts_.size(); }

  // Lets the threads run out of work (close connections first), and after
  // `grace` stops the contexts, then joins. Handlers still queued are
  // destroyed with the contexts. Idempotent.
  void Join(std::chrono::milliseconds grace);

 private:
  void Run(boost::asio::io_context* context);

  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::string name_;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<WorkGuard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  int running_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace infergate::net
