// Server: wiring. Builds the Engine from the ServerConfig and the configured
// frontends (HTTP, gRPC, MQTT) around it, starts them, and shuts everything
// down in the one order every transport shares (engine/frontend.h):
// readiness withdrawn, every frontend drained within drain_secs, frontends
// stopped, engine stopped. Nothing in the process is global; everything is
// created here and passed down.
//
// Thread-safety: Create, Start and Stop are called from the main thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/policy.h"

#include "config/server_config.h"
#include "core/status.h"
#include "engine/engine.h"
#include "engine/frontend.h"

namespace infergate::net {
class TlsContext;
}
namespace infergate::core {
class Ticker;
}
namespace infergate::mqtt {
class MqttFrontend;
}
namespace infergate::edge {
class ManifestPublisher;
class ModelSync;
}
namespace infergate::http {
struct RepositoryOrigin;
}

namespace infergate::server {

class UplinkSlot;

class Server {
 public:
  static core::StatusOr<std::unique_ptr<Server>> Create(config::ServerConfig config);
  ~Server();

  // Loads the repository, starts polling (in poll mode) and the frontends,
  // then reports ready.
  core::Status Start();
  // Graceful shutdown: readiness is withdrawn, every frontend stops taking
  // work and answers what it took (all within drain_secs), the frontends
  // close, then the engine stops. Idempotent.
  void Stop();
  // SIGHUP: re-reads what can change under a running server (certificates,
  // tokens); what fails to load is logged and the old state kept. Then, with
  // `fresh` (the config file and flags read again; an error: the config is
  // left as it is, logged), applies the changed keys that can change live
  // (ApplyConfig) and names the others, which take effect only at a
  // restart. Called on the signal thread.
  void Reload(const core::StatusOr<config::ServerConfig>& fresh);

  // SIGHUP with a changed `uplink:`: stops the running uplink (flushing
  // for a second; what the cloud broker has not acknowledged stays in the
  // outbox file) and starts the one `uplink` describes (none when its broker
  // is empty). Results that come meanwhile are held and forwarded by the new
  // one. When the new one cannot be opened, the error is returned and the
  // previous one is started again. Called on the signal thread.
  core::Status ReloadUplink(const config::UplinkConfig& uplink);

  engine::Engine& engine() { return *engine_; }

 private:
  Server(config::ServerConfig config, std::unique_ptr<engine::Engine> engine);
  core::Status AddFrontends();
  core::Status LoadTls();
  void ReloadTls();
  // The tokens file: re-read on SIGHUP (ReloadTokens) and when it changes
  // (checked every 2 s between Start and Stop).
  void ReloadTokens();
  // reload.cc: each key that differs between the running config and `fresh`
  // is applied live (log_level, the MQTT routes, ...) or named as needing a
  // restart; one info line says what was applied, one warning what needs a
  // restart, one error per key whose apply failed (its old value stays).
  void ApplyConfig(const config::ServerConfig& fresh);
  // Applies `key` from `fresh`: nullopt when it cannot change without a
  // restart, else the apply's outcome. `routes` holds the outcome of the
  // MQTT routes, applied once for all their keys.
  std::optional<core::Status> ApplyKey(const std::string& key, const config::ServerConfig& fresh,
                                       std::optional<core::Status>* routes);
  core::Status ApplyMqttRoutes(const config::MqttConfig& fresh);
  // Opens the configured uplink and installs the result tap (Create).
  core::Status OpenUplink();
  // fleet_sync.cc: the repository as a fleet origin (what the HTTP frontend
  // serves at /v2/repository/manifest and .../files), and the sync that
  // follows repository_origin (built by Create, started by Start after the
  // repository's first scan, stopped first by Stop).
  http::RepositoryOrigin MakeOrigin();
  core::Status CreateModelSync();
  void StartModelSync();
  void StopModelSync();

  config::ServerConfig config_;
  // The result tap forwarding to the uplink (never null); outlives the
  // engine, whose device pipeline points to it.
  std::unique_ptr<UplinkSlot> uplink_;
  // Destroyed after the frontends, which point into it. Stop stops it before
  // either is destroyed, so the replies of what its schedulers drain still
  // reach the (stopped) frontends.
  std::unique_ptr<engine::Engine> engine_;
  // The HTTP and gRPC certificates (null: that frontend is plain TCP);
  // outlive the frontends, which point into them.
  std::unique_ptr<net::TlsContext> http_tls_;
  std::unique_ptr<net::TlsContext> grpc_tls_;
  // Checks the certificate files for a change; null: no certificate, or
  // reload_check_secs 0.
  std::unique_ptr<core::Ticker> tls_watch_;
  // Who may do what; the frontends point into it, so it outlives them.
  std::unique_ptr<auth::Policy> policy_;
  std::unique_ptr<core::Ticker> token_watch_;  // checks the tokens file; null: auth off
  std::vector<std::unique_ptr<engine::Frontend>> frontends_;
  mqtt::MqttFrontend* mqtt_ = nullptr;  // in frontends_; null: MQTT off
  // Fleet model sync (fleet_sync.cc). The publisher outlives the frontends,
  // which call into it; the sync is null while repository_origin is off.
  std::unique_ptr<edge::ManifestPublisher> publisher_;
  std::unique_ptr<edge::ModelSync> model_sync_;
  bool started_ = false;
  bool stopped_ = false;
};

// Runs `infergate serve`: the server until SIGINT or SIGTERM (SIGHUP: Reload
// with what `read_config` returns then: the config file and flags again).
// Returns the exit code.
int RunServe(config::ServerConfig config,
             std::function<core::StatusOr<config::ServerConfig>()> read_config);

}  // namespace infergate::server
