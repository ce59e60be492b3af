#include "net/tls_watch.h"

namespace infergate::net {

TlsWatch::TlsWatch(std::vector<TlsContext*> contexts, std::chrono::milliseconds interval)
    : contexts_(std::move(contexts)), interval_(interval), thread_([this] { Run(); }) {}

TlsWatch::~TlsWatch() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void TlsWatch::Run() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
    lock.unlock();
    for (TlsContext* tls : contexts_) tls->ReloadIfChanged();
    lock.lock();
  }
}

}  // namespace infergate::net
