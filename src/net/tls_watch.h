// TlsWatch: re-reads TLS certificates when their files change, so that a
// renewed certificate is used without a restart. A thread of its own checks
// every `interval` (TlsContext::ReloadIfChanged: modification time, size,
// inode); SIGHUP reloads at once through TlsContext::Reload instead.
//
// Thread-safety: construct and destroy from one thread; the contexts
// outlive the watch.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "net/tls_context.h"

namespace infergate::net {

class TlsWatch {
 public:
  // Starts the thread; `interval` > 0.
  TlsWatch(std::vector<TlsContext*> contexts, std::chrono::milliseconds interval);
  ~TlsWatch();  // stops and joins the thread
  TlsWatch(const TlsWatch&) = delete;
  TlsWatch& operator=(const TlsWatch&) = delete;

 private:
  void Run();

  const std::vector<TlsContext*> contexts_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace infergate::net
