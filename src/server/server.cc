#include "server/server.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "backends/onnxruntime/ort_backend.h"
#include "backends/remote/remote_backend.h"
#include "core/clock.h"
#include "core/ticker.h"
#include "config/model_config_yaml.h"
#include "config/tokens_yaml.h"
#include "edge/manifest_publisher.h"
#include "edge/model_sync.h"
#include "frontends/grpc/grpc_frontend.h"
#include "frontends/http/http_server.h"
#include "frontends/mqtt/mqtt_frontend.h"
#include "net/tls_context.h"
#include "server/process_metrics.h"
#include "server/systemd_notify.h"
#include "server/uplink_slot.h"

namespace infergate::server {
namespace {

// A frontend's factory result as the interface the server keeps.
template <typename T>
core::StatusOr<std::unique_ptr<engine::Frontend>> AsFrontend(core::StatusOr<std::unique_ptr<T>> made) {
  if (!made.ok()) return made.status();
  return std::unique_ptr<engine::Frontend>(std::move(*made));
}

// Models served by another KServe v2 server (config.yaml's backend: remote).
void AddRemoteBackend(engine::EngineOptions* o) { o->backends.push_back(std::make_unique<remote::RemoteBackend>()); }

core::StatusOr<engine::EngineOptions> MakeEngineOptions(const config::ServerConfig& config) {
  ort::OrtBackendOptions ort_options;
  ort_options.intra_op_threads = config.onnxruntime.intra_op_threads;
  ort_options.inter_op_threads = config.onnxruntime.inter_op_threads;
  ort_options.allow_spinning = config.onnxruntime.allow_spinning;
  engine::EngineOptions o;
  ASSIGN_OR_RETURN(auto ort, ort::OrtBackend::Create(ort_options));
  o.backends.push_back(std::move(ort));
  AddRemoteBackend(&o);
  o.model_repository = config.model_repository;
  o.poll_secs = config.model_control_mode == config::ModelControlMode::kPoll ? config.repository_poll_secs : 0;
  o.model_control.allow_load_unload = config.model_control_mode != config::ModelControlMode::kNone;
  o.shared_memory = config.shared_memory.enabled;
  o.max_shared_memory_regions = config.shared_memory.max_regions;
  o.shared_memory_key_prefix = config.shared_memory.key_prefix;
  o.parse_config = &config::ParseModelConfigFile;
  return o;
}

core::StatusOr<std::unique_ptr<net::TlsContext>> MakeTls(const config::TlsConfig& c, const char* frontend,
                                                        const char* alpn, engine::Engine& e) {
  if (!c.enabled()) return std::unique_ptr<net::TlsContext>();
  net::TlsOptions o;
  o.frontend = frontend;
  o.files = net::TlsFiles{c.cert_file, c.key_file, c.client_ca_file};
  o.alpn = alpn;
  o.alpn_required = o.alpn == "h2";  // gRPC is HTTP/2 only
  return net::TlsContext::Create(std::move(o), &e.metrics());
}

core::StatusOr<std::unique_ptr<engine::Frontend>> MakeHttp(const config::HttpConfig& c, engine::Engine& e,
                                                           net::TlsContext* tls, double handshake_secs,
                                                           const auth::Policy* policy, http::RepositoryOrigin origin) {
  http::HttpOptions o;
  o.address = c.address;
  o.port = c.port;
  o.io_threads = c.io_threads;
  o.max_body_bytes = static_cast<size_t>(c.max_body_bytes);
  o.max_header_bytes = static_cast<size_t>(c.max_header_bytes);
  o.max_elements_per_tensor = c.max_elements_per_tensor;
  o.idle_timeout_secs = c.idle_timeout_secs;
  o.request_timeout_secs = c.request_timeout_secs;
  o.max_connections = static_cast<size_t>(c.max_connections);
  o.decode_offload_bytes = static_cast<size_t>(c.decode_offload_bytes);
  o.max_queued_decodes = static_cast<size_t>(c.max_queued_decodes);
  o.server_version = INFERGATE_VERSION;
  o.tls_handshake_timeout = core::SecsToMillis(handshake_secs);
  http::HttpDeps d;
  d.tls = tls;
  d.inference = &e.inference();
  d.repository = &e.repository();
  d.metrics = &e.metrics();
  d.statistics = &e.statistics();
  d.devices = &e.devices();
  d.shared_memory = e.shared_memory();
  d.model_control = &e.model_control();
  d.ready = e.ready_flag();
  d.policy = policy;
  d.origin = std::move(origin);
  return AsFrontend(http::HttpServer::Create(std::move(o), d));
}

core::StatusOr<std::unique_ptr<engine::Frontend>> MakeGrpc(const config::GrpcConfig& c, engine::Engine& e,
                                                           net::TlsContext* tls, double handshake_secs,
                                                           const auth::Policy* policy) {
  grpc_frontend::GrpcFrontendOptions o;
  o.address = c.address;
  o.port = c.port;
  o.io_threads = c.io_threads;
  o.max_message_bytes = c.max_message_bytes;
  o.max_tensor_elements = c.max_tensor_elements;
  o.max_stream_in_flight = c.max_stream_in_flight;
  o.max_connections = static_cast<size_t>(c.max_connections);
  o.idle_timeout_secs = c.idle_timeout_secs;
  o.max_connection_buffer_bytes = c.max_connection_buffer_bytes;
  o.max_buffered_bytes = c.max_buffered_bytes;
  o.max_connection_unsent_bytes = c.max_connection_unsent_bytes;
  o.write_timeout_secs = c.write_timeout_secs;
  o.stall_timeout_secs = c.stall_timeout_secs;
  o.server_version = INFERGATE_VERSION;
  o.tls_handshake_timeout = core::SecsToMillis(handshake_secs);
  grpc_frontend::GrpcFrontendDeps d;
  d.tls = tls;
  d.repository = &e.repository();
  d.inference = &e.inference();
  d.metrics = &e.metrics();
  d.clock = &e.clock();
  d.shared_memory = e.shared_memory();
  d.model_control = &e.model_control();
  d.ready = e.ready_flag();
  d.statistics = &e.statistics();
  d.policy = policy;
  return AsFrontend(grpc_frontend::GrpcFrontend::Create(std::move(o), d));
}

// The inbox journal and the outbox live in the state directory unless
// mqtt.inbox.path / mqtt.outbox.path name a file.
core::StatusOr<std::unique_ptr<mqtt::MqttFrontend>> MakeMqtt(config::MqttConfig c,
                                                             const std::filesystem::path& state_dir, engine::Engine& e) {
  if (c.inbox.enabled && c.inbox.path.empty() && !state_dir.empty()) {
    c.inbox.path = (state_dir / "mqtt-inbox.db").string();
  }
  if (c.outbox.enabled && c.outbox.path.empty() && !state_dir.empty()) {
    c.outbox.path = (state_dir / "mqtt-outbox.db").string();
  }
  return mqtt::MqttFrontend::Create(c, &e.inference(), &e.devices(), &e.metrics(), &e.clock());
}

bool IsLoopback(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1" || address == "localhost";
}

// Says who can reach a socket frontend: a hint to open it on loopback, a
// warning when it is open to other hosts with nothing guarding it (tokens
// or mutual TLS authenticate clients; TLS alone only encrypts).
void LogExposure(std::string_view frontend, const std::string& address, const net::TlsContext* tls, bool auth) {
  if (IsLoopback(address)) {
    spdlog::info("{0}: loopback only; --{0}-address 0.0.0.0 ({0}.address) serves other hosts", frontend);
  } else if (auth || (tls && tls->mutual())) {
    return;
  } else {
    spdlog::warn("{}: listening on {} without {}: anyone who can reach this address can run models "
                 "(repository control and shared memory stay loopback-only)", frontend, address,
                 tls ? "authentication (TLS, no client certificates or tokens)" : "TLS or authentication");
  }
}

core::StatusOr<std::unique_ptr<auth::Policy>> MakePolicy(const config::AuthConfig& c, core::MetricsRegistry* m) {
  auth::Policy::Options o;
  o.tokens_file = c.tokens_file;
  o.load = &config::ParseTokensFile;
  return auth::Policy::Create(std::move(o), m);
}

constexpr std::chrono::seconds kTokensPollInterval{2};
// How long a stopping uplink waits for the cloud broker's acknowledgements
// (what is left stays in its outbox file for the next run).
constexpr std::chrono::seconds kUplinkFlush{1};

// systemd's watchdog (WatchdogSec): WATCHDOG=1 every half WATCHDOG_USEC from
// a thread of its own, while the server starts (loading models; systemd
// bounds that with TimeoutStartSec), while the engine is ready, and while it
// drains; a server that lost readiness otherwise, or whose ticker thread
// stops, is restarted by systemd. Null when systemd asked for no watchdog.
std::unique_ptr<core::Ticker> StartWatchdog(SystemdNotifier& notifier, const engine::Engine& engine,
                                            const std::atomic<bool>& starting_or_stopping) {
  if (!notifier.enabled() || notifier.watchdog_interval().count() == 0) return nullptr;
  spdlog::info("systemd watchdog: pinging every {} ms", notifier.watchdog_interval().count());
  return std::make_unique<core::Ticker>(notifier.watchdog_interval(), [&notifier, &engine, &starting_or_stopping] {
    if (engine.ready_flag()->load() || starting_or_stopping.load()) notifier.Notify("WATCHDOG=1");
  });
}

}  // namespace

core::StatusOr<std::unique_ptr<Server>> Server::Create(config::ServerConfig config) {
  RETURN_IF_ERROR(config::ValidateServerConfig(config));
  ASSIGN_OR_RETURN(auto options, MakeEngineOptions(config));
  ASSIGN_OR_RETURN(auto engine, engine::Engine::Create(std::move(options)));
  std::unique_ptr<Server> server(new Server(std::move(config), std::move(engine)));
  RETURN_IF_ERROR(server->LoadTls());
  ASSIGN_OR_RETURN(server->policy_, MakePolicy(server->config_.auth, &server->engine_->metrics()));
  RETURN_IF_ERROR(server->AddFrontends());
  RETURN_IF_ERROR(server->OpenUplink());
  RETURN_IF_ERROR(server->CreateModelSync());
  return server;
}

Server::Server(config::ServerConfig config, std::unique_ptr<engine::Engine> engine)
    : config_(std::move(config)), uplink_(std::make_unique<UplinkSlot>()), engine_(std::move(engine)) {
  RegisterProcessMetrics(&engine_->metrics(), &engine_->repository());
}

Server::~Server() { Stop(); }

core::Status Server::LoadTls() {
  const config::TlsConfig http = config::TlsFor(config_.tls, config_.http.tls);
  const config::TlsConfig grpc = config::TlsFor(config_.tls, config_.grpc.tls);
  if (config_.http.enabled) {
    ASSIGN_OR_RETURN(http_tls_, MakeTls(http, "http", "http/1.1", *engine_));
  }
  if (config_.grpc.enabled) {
    ASSIGN_OR_RETURN(grpc_tls_, MakeTls(grpc, "grpc", "h2", *engine_));
  }
  std::vector<net::TlsContext*> watched;
  for (auto* tls : {http_tls_.get(), grpc_tls_.get()}) {
    if (tls) watched.push_back(tls);
  }
  if (!watched.empty() && config_.tls.reload_check_secs > 0) {
    const auto interval = std::max(core::SecsToMillis(config_.tls.reload_check_secs), std::chrono::milliseconds(1));
    tls_watch_ = std::make_unique<core::Ticker>(interval, [watched = std::move(watched)] {
      for (net::TlsContext* tls : watched) tls->ReloadIfChanged();
    });
  }
  return core::Status::Ok();
}

void Server::ReloadTls() {
  for (auto* tls : {http_tls_.get(), grpc_tls_.get()}) {
    if (tls) (void)tls->Reload();  // a failure is logged and counted; the old certificate stays
  }
}

core::Status Server::AddFrontends() {
  const double handshake_secs = config_.tls.handshake_timeout_secs;
  if (config_.http.enabled) {
    ASSIGN_OR_RETURN(auto http,
                     MakeHttp(config_.http, *engine_, http_tls_.get(), handshake_secs, policy_.get(), MakeOrigin()));
    frontends_.push_back(std::move(http));
  }
  if (config_.grpc.enabled) {
    ASSIGN_OR_RETURN(auto grpc, MakeGrpc(config_.grpc, *engine_, grpc_tls_.get(), handshake_secs, policy_.get()));
    frontends_.push_back(std::move(grpc));
  }
  if (!config_.mqtt.broker.empty()) {
    ASSIGN_OR_RETURN(auto mqtt, MakeMqtt(config_.mqtt, config_.state_dir, *engine_));
    mqtt_ = mqtt.get();
    frontends_.push_back(std::move(mqtt));
  }
  return core::Status::Ok();
}

core::Status Server::Start() {
  spdlog::info("model repository {} (model control mode: {})", config_.model_repository.string(),
               config::ModelControlModeName(config_.model_control_mode));
  started_ = true;
  RETURN_IF_ERROR(engine_->Start());
  if (uplink_->get()) uplink_->get()->Start();
  StartModelSync();
  for (auto& f : frontends_) RETURN_IF_ERROR(f->Start());
  const bool auth = policy_->enabled();
  if (config_.http.enabled) LogExposure("http", config_.http.address, http_tls_.get(), auth);
  if (config_.grpc.enabled) LogExposure("grpc", config_.grpc.address, grpc_tls_.get(), auth);
  if (policy_->enabled()) {
    spdlog::info("auth: on (tokens file {}, re-read on change and on SIGHUP)", config_.auth.tokens_file.string());
    token_watch_ = std::make_unique<core::Ticker>(kTokensPollInterval, [this] { policy_->ReloadIfChanged(); });
  }
  engine_->SetReady(true);
  return core::Status::Ok();
}

void Server::Stop() {
  if (stopped_) return;
  stopped_ = true;
  StopModelSync();
  token_watch_.reset();
  engine_->SetReady(false);
  if (started_) {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<core::Duration>(std::chrono::duration<double>(config_.drain_secs));
    spdlog::info("draining (up to {} s)", config_.drain_secs);
    // All at once: every frontend stops taking work at the same moment.
    std::vector<std::thread> drains;
    for (auto& f : frontends_) {
      drains.emplace_back([&f, deadline, secs = config_.drain_secs] {
        if (!f->Drain(deadline)) spdlog::warn("{}: requests still in flight after {} s", f->name(), secs);
      });
    }
    for (auto& t : drains) t.join();
  }
  for (auto& f : frontends_) f->Stop();
  engine_->Stop();
  // After the frontends and the engine: their last results are forwarded too.
  if (auto uplink = uplink_->Take(false)) uplink->Stop(kUplinkFlush);
  tls_watch_.reset();
}

void Server::Reload(const core::StatusOr<config::ServerConfig>& fresh) {
  spdlog::info("SIGHUP: reloading");
  ReloadTls();
  ReloadTokens();
  if (!fresh.ok()) {
    spdlog::error("SIGHUP: the config was not reloaded: {}", fresh.status().message());
    return;
  }
  ApplyConfig(*fresh);
}

core::Status Server::OpenUplink() {
  ASSIGN_OR_RETURN(auto uplink, MakeUplink(config_, *engine_));
  uplink_->Put(std::move(uplink));
  engine_->devices().SetResultObserver(uplink_.get());
  return core::Status::Ok();
}

core::Status Server::ReloadUplink(const config::UplinkConfig& uplink) {
  if (uplink == config_.uplink) return core::Status::Ok();
  if (auto old = uplink_->Take(true)) old->Stop(kUplinkFlush);  // frees its outbox file
  config::ServerConfig next = config_;
  next.uplink = uplink;
  auto made = MakeUplink(next, *engine_);
  const core::Status status = made.status();
  if (status.ok()) {
    config_.uplink = uplink;
    spdlog::info("SIGHUP: uplink {}", uplink.enabled() ? "now " + uplink.broker + " under " + uplink.topic_prefix
                                                       : std::string("off"));
  } else {
    made = MakeUplink(config_, *engine_);  // the previous one goes on (the caller logs the error)
    if (!made.ok()) spdlog::error("uplink: {}", made.status().message());
  }
  std::unique_ptr<edge::Uplink> running = made.ok() ? std::move(*made) : nullptr;
  if (running && started_ && !stopped_) running->Start();
  uplink_->Put(std::move(running));
  return status;
}

void Server::ReloadTokens() {
  if (policy_->enabled()) policy_->Reload().IgnoreError();  // logged and counted by the policy
}

int RunServe(config::ServerConfig config,
             std::function<core::StatusOr<config::ServerConfig>()> read_config) {
  // Block the stop and reload signals before any thread starts so that only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Type=notify under systemd: READY=1 once every frontend listens and the
  // models are loaded, STOPPING=1 when the drain starts, WATCHDOG=1 pings.
  SystemdNotifier notifier(std::getenv("NOTIFY_SOCKET"), std::getenv("WATCHDOG_USEC"));
  auto server = Server::Create(std::move(config));
  if (!server.ok()) {
    spdlog::error("{}", server.status().message());
    return 2;
  }
  std::atomic<bool> starting_or_stopping{true};
  auto watchdog = StartWatchdog(notifier, (*server)->engine(), starting_or_stopping);
  if (auto st = (*server)->Start(); !st.ok()) {
    spdlog::error("{}", st.message());
    return 1;
  }
  spdlog::info("infergate ready");
  notifier.Notify("READY=1\nSTATUS=serving");
  starting_or_stopping.store(false);
  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) (*server)->Reload(read_config());
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  starting_or_stopping.store(true);
  notifier.Notify("STOPPING=1\nSTATUS=draining");
  (*server)->Stop();
  watchdog.reset();
  spdlog::info("infergate stopped");
  return 0;
}

}  // namespace infergate::server
