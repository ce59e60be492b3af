#include "net/connection_registry.h"

#include <algorithm>
#include <condition_variable>

namespace infergate::net {

struct ConnectionRegistry::State {
  std::string frontend;
  size_t max_connections;
  core::Gauge* open_gauge;
  core::Counter* refused_limit;

  mutable std::mutex mu;
  std::condition_variable closed;                       // notified when `open` empties
  uint64_t next_id = 0;                                 // GUARDED_BY(mu)
  Mode mode = Mode::kServing;                           // GUARDED_BY(mu)
  std::map<uint64_t, std::weak_ptr<Connection>> open;  // GUARDED_BY(mu)

  std::vector<std::shared_ptr<Connection>> Snapshot(Mode next) {
    std::vector<std::shared_ptr<Connection>> out;
    std::lock_guard lock(mu);
    mode = std::max(mode, next);
    for (const auto& [id, weak] : open) {
      if (auto c = weak.lock()) out.push_back(std::move(c));
    }
    return out;
  }
};

ConnectionRegistry::ConnectionRegistry(std::string frontend, size_t max_connections,
                                       core::MetricsRegistry* metrics)
    : state_(std::make_shared<State>()) {
  state_->frontend = std::move(frontend);
  state_->max_connections = max_connections;
  state_->open_gauge = &metrics->GetGauge("infergate_connections_open", "Client connections open, by frontend",
                                          {{"frontend", state_->frontend}});
  state_->refused_limit = &metrics->GetCounter(
      "infergate_connections_refused_total", "Client connections closed at once on accept, by frontend and reason",
      {{"frontend", state_->frontend}, {"reason", "limit"}});
}

ConnectionRegistry::~ConnectionRegistry() = default;

std::unique_ptr<ConnectionRegistry::Registration> ConnectionRegistry::Admit() {
  std::lock_guard lock(state_->mu);
  if (state_->max_connections > 0 && state_->open.size() >= state_->max_connections) {
    state_->refused_limit->Increment();
    return nullptr;
  }
  const uint64_t id = state_->next_id++;
  state_->open.emplace(id, std::weak_ptr<Connection>());
  state_->open_gauge->Add(1);
  return std::make_unique<Registration>(state_, id);
}

void ConnectionRegistry::Track(uint64_t id, const std::shared_ptr<Connection>& connection) {
  Mode mode;
  {
    std::lock_guard lock(state_->mu);
    // Gone already when the connection closed before it was tracked.
    auto it = state_->open.find(id);
    if (it == state_->open.end()) return;
    it->second = connection;
    mode = state_->mode;
  }
  // Accepted while DrainAll or CloseAll ran: it is drained or closed too.
  if (mode == Mode::kDraining) connection->Drain();
  if (mode == Mode::kClosing) connection->Close();
}

ConnectionRegistry::Registration::~Registration() {
  std::lock_guard lock(state_->mu);
  state_->open.erase(id_);
  state_->open_gauge->Add(-1);
  if (state_->open.empty()) state_->closed.notify_all();
}

void ConnectionRegistry::DrainAll() {
  for (auto& c : state_->Snapshot(Mode::kDraining)) c->Drain();
}

void ConnectionRegistry::CloseAll() {
  for (auto& c : state_->Snapshot(Mode::kClosing)) c->Close();
}

size_t ConnectionRegistry::open() const {
  std::lock_guard lock(state_->mu);
  return state_->open.size();
}

bool ConnectionRegistry::WaitAllClosed(core::TimePoint deadline) const {
  std::unique_lock lock(state_->mu);
  return state_->closed.wait_until(lock, deadline, [this] { return state_->open.empty(); });
}

const std::string& ConnectionRegistry::frontend() const { return state_->frontend; }

}  // namespace infergate::net
