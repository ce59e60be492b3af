// ConnectionRegistry: the open connections of one frontend, so that it can
// drain or close them all, and the cap on how many may be open at once.
//
// A connection holds a Registration (inside its Stream) from accept until
// its socket is closed; that is what counts as open. The frontend's
// connection object implements Connection so the registry can reach it.
//
// Metrics (label frontend = the name given at construction):
//   infergate_connections_open{frontend}                   gauge
//   infergate_connections_refused_total{frontend,reason}   counter; reason
//     "limit": max_connections were open, the new one was closed at once
//
// Thread-safety: every method may be called from any thread. A Registration
// keeps the registry's state alive, so it may outlive the registry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"

namespace infergate::net {

// What a frontend's connection object offers the registry. Both methods may
// be called from any thread and post to the connection's own thread.
class Connection {
 public:
  virtual ~Connection() = default;
  // Take no new request; answer the ones already taken, then close. A
  // connection with nothing in flight closes at once.
  virtual void Drain() = 0;
  // Close now; what is in flight is not answered.
  virtual void Close() = 0;
};

class ConnectionRegistry {
 public:
  class Registration;

  // `max_connections` 0: no cap. `metrics` outlives the registry.
  ConnectionRegistry(std::string frontend, size_t max_connections, core::MetricsRegistry* metrics);
  ~ConnectionRegistry();
  ConnectionRegistry(const ConnectionRegistry&) = delete;
  ConnectionRegistry& operator=(const ConnectionRegistry&) = delete;

  // A slot for a new connection; null (and counted as refused) when
  // max_connections are open already.
  std::unique_ptr<Registration> Admit();
  // Names the connection that holds `registration`, for DrainAll/CloseAll.
  // `id`: registration.id(); a registration released meanwhile is ignored.
  // Held weakly. After DrainAll (CloseAll) the connection is drained
  // (closed) at once.
  void Track(uint64_t id, const std::shared_ptr<Connection>& connection);

  // Drains (closes) every connection tracked, and every one tracked later.
  void DrainAll();
  void CloseAll();
  size_t open() const;
  // Waits until no connection is open (every slot released) or `deadline`;
  // true when none is. Any thread.
  bool WaitAllClosed(core::TimePoint deadline) const;
  const std::string& frontend() const;

 private:
  enum class Mode { kServing, kDraining, kClosing };
  struct State;
  std::shared_ptr<State> state_;
};

// One open connection's slot; releasing it (destruction) frees the slot.
class ConnectionRegistry::Registration {
 public:
  Registration(std::shared_ptr<State> state, uint64_t id) : state_(std::move(state)), id_(id) {}
  ~Registration();
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;
  uint64_t id() const { return id_; }

 private:
  std::shared_ptr<State> state_;
  uint64_t id_;
};

}  // namespace infergate::net
