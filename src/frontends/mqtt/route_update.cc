// The MQTT frontend's routes over its lifetime: built at Create, subscribed
// after each connect, replaced by UpdateRoutes (SIGHUP) without a restart.
#include <spdlog/spdlog.h>

#include <utility>

#include "config/mqtt_changes.h"
#include "frontends/mqtt/mqtt_frontend.h"

namespace infergate::mqtt {

core::StatusOr<MqttFrontend::Routes> MqttFrontend::MakeRoutes(const config::MqttConfig& config, bool have_devices) {
  ASSIGN_OR_RETURN(std::vector<Route> routes, BuildRoutes(config));
  if (routes.empty()) {
    return core::InvalidArgument(
        "mqtt: no routes (default_route and default_telemetry_route are off and routes is empty)");
  }
  for (const auto& r : routes) {
    if (r.format == config::PayloadFormat::kTelemetry && !have_devices) {
      return core::InvalidArgument("mqtt: " + r.name + " carries telemetry but no device service was given");
    }
  }
  return std::make_shared<const std::vector<Route>>(std::move(routes));
}

core::Status MqttFrontend::UpdateRoutes(const config::MqttConfig& config) {
  ASSIGN_OR_RETURN(Routes routes, MakeRoutes(config::WithRoutesOf(config_, config), devices_ != nullptr));
  {
    std::lock_guard lock(routes_mu_);
    pending_routes_ = std::move(routes);  // a later update replaces one not yet applied
  }
  client_->Wake();  // OnIdle applies them
  return core::Status::Ok();
}

std::map<std::string, int> MqttFrontend::Subscriptions(const std::vector<Route>& routes) const {
  std::map<std::string, int> out;
  for (const auto& r : routes) {
    std::string filter = r.pattern.filter();
    if (!config_.share_group.empty()) filter = "$share/" + config_.share_group + "/" + filter;
    int& qos = out.try_emplace(std::move(filter), r.qos).first->second;
    qos = std::max(qos, r.qos);
  }
  return out;
}

void MqttFrontend::SubscribeRoutes(bool session_present) {
  const auto wanted = Subscriptions(*routes_);
  if (session_present) {
    // The broker kept the session, with the filters of routes removed while
    // the connection was down.
    for (const auto& [filter, qos] : broker_filters_) {
      if (wanted.count(filter)) continue;
      if (auto st = client_->Unsubscribe(filter); !st.ok()) spdlog::error("{}", st.message());
    }
  }
  broker_filters_.clear();
  // Every filter, also with a kept session: cheap, and the broker may have lost them.
  for (const auto& [filter, qos] : wanted) {
    if (auto st = client_->Subscribe(filter, qos); !st.ok()) {
      spdlog::error("{}", st.message());
    } else {
      broker_filters_[filter] = qos;
    }
  }
}

void MqttFrontend::ApplyPendingRoutes() {
  Routes routes;
  {
    std::lock_guard lock(routes_mu_);
    routes.swap(pending_routes_);
  }
  if (!routes) return;
  routes_ = std::move(routes);
  spdlog::info("mqtt: routes reloaded; now serving:");
  for (const auto& r : *routes_) spdlog::info("mqtt: {} -> {}", r.name, r.model.empty() ? "{model}" : r.model);
  // Not connected: the next connect subscribes the routes in force.
  if (!client_->connected()) return;
  const auto wanted = Subscriptions(*routes_);
  for (const auto& [filter, qos] : wanted) {
    auto it = broker_filters_.find(filter);
    if (it != broker_filters_.end() && it->second == qos) continue;
    // A SUBSCRIBE of a filter already subscribed replaces its QoS.
    if (auto st = client_->Subscribe(filter, qos); !st.ok()) return spdlog::error("{}", st.message());
    broker_filters_[filter] = qos;
  }
  for (auto it = broker_filters_.begin(); it != broker_filters_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    if (auto st = client_->Unsubscribe(it->first); !st.ok()) return spdlog::error("{}", st.message());
    it = broker_filters_.erase(it);
  }
}

}  // namespace infergate::mqtt
