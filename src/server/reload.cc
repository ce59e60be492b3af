// SIGHUP's config part: the running server compared with the config read
// again, key by key (config::ChangedKeys); what can change live is applied,
// the rest named as needing a restart.
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "config/mqtt_changes.h"
#include "frontends/mqtt/mqtt_frontend.h"
#include "server/server.h"

namespace infergate::server {

void Server::ApplyConfig(const config::ServerConfig& fresh) {
  std::vector<std::string> applied, restart;
  std::optional<core::Status> routes;
  for (const std::string& key : config::ChangedKeys(config_, fresh)) {
    std::optional<core::Status> outcome = ApplyKey(key, fresh, &routes);
    if (!outcome) {
      restart.push_back(key);
    } else if (outcome->ok()) {
      applied.push_back(key);
    } else {
      spdlog::error("SIGHUP: {} not applied, the running value stays: {}", key, outcome->message());
    }
  }
  if (!applied.empty()) spdlog::info("SIGHUP: applied: {}", fmt::join(applied, ", "));
  if (!restart.empty()) {
    spdlog::warn("SIGHUP: needs a restart to apply: {}", fmt::join(restart, ", "));
  }
}

std::optional<core::Status> Server::ApplyKey(const std::string& key, const config::ServerConfig& fresh,
                                             std::optional<core::Status>* routes) {
  if (key == "log_level") {
    spdlog::info("SIGHUP: log_level {} -> {}", config_.log_level, fresh.log_level);
    spdlog::set_level(spdlog::level::from_str(fresh.log_level));
    config_.log_level = fresh.log_level;
    return core::Status::Ok();
  }
  if (config::IsMqttRouteKey(key) && mqtt_) {
    if (!*routes) *routes = ApplyMqttRoutes(fresh.mqtt);  // one apply for all the route keys
    return **routes;
  }
  if (key == "uplink") return ReloadUplink(fresh.uplink);
  return std::nullopt;
}

core::Status Server::ApplyMqttRoutes(const config::MqttConfig& fresh) {
  RETURN_IF_ERROR(mqtt_->UpdateRoutes(fresh));
  config_.mqtt = config::WithRoutesOf(config_.mqtt, fresh);
  return core::Status::Ok();
}

}  // namespace infergate::server
