#include "net/io_threads.h"

#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <exception>

namespace infergate::net {

IoThreads::IoThreads(std::string name, int count) : name_(std::move(name)) {
  for (int i = 0; i < std::max(count, 1); ++i) {
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.push_back(boost::asio::make_work_guard(*contexts_.back()));
    // Asio creates a context's reactor (epoll, eventfd, timerfd) with its
    // first socket or timer; here, so that a connection accepted while the
    // process is out of file descriptors cannot fail to create it and throw.
    boost::asio::steady_timer warm_up(*contexts_.back());
  }
}

IoThreads::~IoThreads() { Join(std::chrono::milliseconds(0)); }

void IoThreads::Start() {
  if (!threads_.empty()) return;
  {
    std::lock_guard lock(mu_);
    running_ = static_cast<int>(contexts_.size());
  }
  for (auto& context : contexts_) threads_.emplace_back([this, c = context.get()] { Run(c); });
}

boost::asio::io_context& IoThreads::Next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void IoThreads::Run(boost::asio::io_context* context) {
  while (true) {
    try {
      context->run();
      break;
    } catch (const std::exception& e) {
      spdlog::error("{}: IO thread: {}", name_, e.what());
    }
  }
  std::lock_guard lock(mu_);
  if (--running_ == 0) cv_.notify_all();
}

void IoThreads::Join(std::chrono::milliseconds grace) {
  for (auto& guard : guards_) guard.reset();
  if (threads_.empty()) return;
  {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, grace, [this] { return running_ == 0; });
  }
  for (auto& context : contexts_) context->stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
}

}  // namespace infergate::net
