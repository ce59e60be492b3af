// A Listener on 127.0.0.1 with its registry and two IO threads, for tests:
// Open() starts it, each accepted stream becomes MakeConnection(stream),
// TearDown stops accepting, closes everything and joins the threads.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "net/listener.h"
#include "testing/gate.h"

namespace infergate::net {

class ListenerFixture : public ::testing::Test {
 protected:
  // Makes the frontend's connection of an accepted stream (on an IO thread).
  virtual std::shared_ptr<Connection> MakeConnection(Stream stream) = 0;

  void Open(ListenerOptions options, size_t max_connections) {
    registry_ = std::make_unique<ConnectionRegistry>("test", max_connections, &metrics_);
    options.address = "127.0.0.1";
    auto listener =
        Listener::Open(options, &io_, registry_.get(), &metrics_, [this](Stream stream) {
          auto c = MakeConnection(std::move(stream));
          std::lock_guard lock(mu_);
          ++accepted_;
          cv_.notify_all();
          return c;
        });
    ASSERT_TRUE(listener.ok()) << listener.status().ToString();
    listener_ = std::move(*listener);
    io_.Start();
  }
  void TearDown() override {
    if (listener_) listener_->StopAccepting();
    if (registry_) registry_->CloseAll();
    io_.Join(std::chrono::seconds(5));
  }
  bool WaitAccepted(size_t n) {
    std::unique_lock lock(mu_);
    return testing::WaitFor(cv_, lock, [&] { return accepted_ >= n; });
  }
  size_t accepted() {
    std::lock_guard lock(mu_);
    return accepted_;
  }

  core::MetricsRegistry metrics_;
  IoThreads io_{"test", 2};
  std::unique_ptr<ConnectionRegistry> registry_;
  std::unique_ptr<Listener> listener_;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t accepted_ = 0;  // guarded by mu_
};

}  // namespace infergate::net
