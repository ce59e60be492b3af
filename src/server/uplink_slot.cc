#include "server/uplink_slot.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <mutex>

#include "frontends/mqtt/mqtt_frontend.h"

namespace infergate::server {

void UplinkSlot::OnResult(const pipeline::ResultEvent& event) {
  std::shared_lock lock(mu_);
  if (uplink_) return uplink_->OnResult(event);
  if (!hold_) return;
  std::lock_guard held(held_mu_);
  if (held_.size() >= kMaxHeld) {
    ++dropped_;
    return;
  }
  held_.push_back({event.result, std::string(event.topic), event.hold});
}

std::unique_ptr<edge::Uplink> UplinkSlot::Take(bool hold) {
  std::unique_lock lock(mu_);
  hold_ = hold;
  return std::move(uplink_);
}

void UplinkSlot::Put(std::unique_ptr<edge::Uplink> uplink) {
  std::unique_lock lock(mu_);  // results wait while the held ones go first: their order is kept
  uplink_ = std::move(uplink);
  hold_ = false;
  std::lock_guard held(held_mu_);
  if (uplink_) {
    for (const Held& h : held_) uplink_->OnResult({h.result, h.topic, h.hold});
  }
  if (dropped_ > 0 || (!uplink_ && !held_.empty())) {
    spdlog::warn("uplink: {} results that came while it was replaced were not forwarded",
                 dropped_ + (uplink_ ? 0 : held_.size()));
  }
  held_.clear();
  dropped_ = 0;
}

core::StatusOr<std::unique_ptr<edge::Uplink>> MakeUplink(const config::ServerConfig& config,
                                                         engine::Engine& e) {
  const config::UplinkConfig& c = config.uplink;
  if (!c.enabled()) return std::unique_ptr<edge::Uplink>();
  edge::UplinkOptions o;
  o.config = c;
  o.outbox_path =
      c.outbox.path.empty() ? (config.state_dir / "uplink-outbox.db").string() : c.outbox.path;
  const std::string local_id =
      config.mqtt.client_id.empty() ? mqtt::DefaultClientId() : config.mqtt.client_id;
  o.client_id = c.client_id.empty() ? local_id + "-uplink" : c.client_id;
  o.local_topic_prefix = config.mqtt.topic_prefix;
  std::error_code ec;
  const auto folder = std::filesystem::path(o.outbox_path).parent_path();
  if (!folder.empty()) std::filesystem::create_directories(folder, ec);
  if (ec)
    return core::FailedPrecondition("uplink.outbox: cannot create " + folder.string() + ": " +
                                    ec.message());
  edge::UplinkDeps d;
  d.metrics = &e.metrics();
  d.clock = &e.clock();
  d.models = [&e] { return e.repository().Index(); };
  return edge::Uplink::Create(std::move(o), d);
}

}  // namespace infergate::server
