// UplinkSlot: the device pipeline's one result observer for the whole
// process (installed once on the DeviceService), forwarding each result to
// the uplink in force, if any. A SIGHUP that changes `uplink:` replaces the
// uplink: Take takes the running one out, Put puts the next one in. Results
// that come in between are held in memory (at most kMaxHeld) and handed to
// the next uplink by Put, so a reload loses none.
//
// Thread-safety: OnResult from any thread (a shared lock: results never wait
// for each other; they wait only while Take or Put swaps the pointer); Take,
// Put and get from the controlling thread.
#pragma once

#include <cstddef>
#include <memory>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "config/server_config.h"
#include "core/status.h"
#include "edge/uplink.h"
#include "engine/engine.h"
#include "pipeline/device_service.h"

namespace infergate::server {

class UplinkSlot final : public pipeline::ResultObserver {
 public:
  static constexpr size_t kMaxHeld = 10000;

  void OnResult(const pipeline::ResultEvent& event) override;
  // Takes the uplink out (null: there was none); with `hold`, results are
  // held until Put, else dropped.
  std::unique_ptr<edge::Uplink> Take(bool hold);
  // Puts `uplink` in (null: none) and hands it the results held meanwhile.
  void Put(std::unique_ptr<edge::Uplink> uplink);
  edge::Uplink* get() const { return uplink_.get(); }

 private:
  std::shared_mutex mu_;
  std::unique_ptr<edge::Uplink> uplink_;  // GUARDED_BY(mu_) for writes; read under a shared lock
  bool hold_ = false;                     // GUARDED_BY(mu_)
  std::mutex held_mu_;                    // results arrive under the shared lock, several at once
  std::vector<std::pair<pipeline::Result, std::string>> held_;  // GUARDED_BY(held_mu_)
  size_t dropped_ = 0;                                          // GUARDED_BY(held_mu_)
};

// The uplink `config.uplink` describes (not started), or null when it is
// off. Its outbox defaults to <state_dir>/uplink-outbox.db (the folder is
// created), its client id to <mqtt client id>-uplink.
core::StatusOr<std::unique_ptr<edge::Uplink>> MakeUplink(const config::ServerConfig& config,
                                                         engine::Engine& engine);

}  // namespace infergate::server
