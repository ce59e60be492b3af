#include "server/cli.h"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "config/server_config.h"
#include "server/inspect.h"
#include "server/server.h"
#include "server/token_command.h"

namespace infergate::server {
namespace {

struct ServeFlags {
  std::string config_file;
  std::string model_repository;
  std::string model_control_mode;
  double repository_poll_secs = 0;
  std::string log_level;
  std::string mqtt_broker;
  std::string state_dir;
  std::string mqtt_client_id;
  std::string mqtt_topic_prefix;
  std::string mqtt_share_group;
  int grpc_port = -1;  // -1: not given
  std::string grpc_address;
  int http_port = -1;  // -1: not given
  std::string http_address;
  int http_threads = 0;  // 0: not given
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  std::string auth_tokens;
};

// --tls-*: both frontends (the top-level tls block and any per-frontend one).
void ApplyTlsFlags(const ServeFlags& f, config::TlsConfig* tls) {
  if (!f.tls_cert.empty()) tls->cert_file = f.tls_cert;
  if (!f.tls_key.empty()) tls->key_file = f.tls_key;
  if (!f.tls_client_ca.empty()) tls->client_ca_file = f.tls_client_ca;
}
void ApplyTlsFlags(const ServeFlags& f, config::ServerConfig* c) {
  ApplyTlsFlags(f, &c->tls);
  for (std::optional<config::TlsConfig>* own : {&c->http.tls, &c->grpc.tls}) {
    if (*own) ApplyTlsFlags(f, &**own);
  }
}

// File first, then flags on top.
core::StatusOr<config::ServerConfig> BuildServerConfig(const ServeFlags& f) {
  config::ServerConfig c;
  if (!f.config_file.empty()) {
    ASSIGN_OR_RETURN(c, config::ParseServerConfigFile(f.config_file));
  }
  if (!f.model_repository.empty()) c.model_repository = f.model_repository;
  if (!f.model_control_mode.empty()) {
    ASSIGN_OR_RETURN(c.model_control_mode, config::ParseModelControlMode(f.model_control_mode));
  }
  if (f.repository_poll_secs > 0) c.repository_poll_secs = f.repository_poll_secs;
  if (!f.log_level.empty()) c.log_level = f.log_level;
  if (!f.state_dir.empty()) c.state_dir = f.state_dir;
  if (!f.mqtt_broker.empty()) c.mqtt.broker = f.mqtt_broker;
  if (!f.mqtt_client_id.empty()) c.mqtt.client_id = f.mqtt_client_id;
  if (!f.mqtt_topic_prefix.empty()) c.mqtt.topic_prefix = f.mqtt_topic_prefix;
  if (!f.mqtt_share_group.empty()) c.mqtt.share_group = f.mqtt_share_group;
  if (f.grpc_port >= 0) c.grpc.port = f.grpc_port;
  if (!f.grpc_address.empty()) c.grpc.address = f.grpc_address;
  if (f.http_port >= 0) c.http.port = f.http_port;
  if (!f.http_address.empty()) c.http.address = f.http_address;
  if (f.http_threads > 0) c.http.io_threads = f.http_threads;
  ApplyTlsFlags(f, &c);
  if (!f.auth_tokens.empty()) c.auth.tokens_file = f.auth_tokens;
  RETURN_IF_ERROR(config::ValidateServerConfig(c));
  return c;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"infergate: an ML inference server for IoT (ONNX models over MQTT, HTTP and gRPC)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("infergate ") + INFERGATE_VERSION);

  ServeFlags serve;
  auto* serve_cmd = app.add_subcommand("serve", "Serve a model repository until SIGINT/SIGTERM");
  serve_cmd->add_option("--config", serve.config_file, "Server config file (YAML); flags override it")
      ->check(CLI::ExistingFile);
  serve_cmd->add_option("--model-repository", serve.model_repository, "Model repository folder");
  serve_cmd->add_option("--model-control-mode", serve.model_control_mode,
                        "none | poll | explicit (default poll)");
  serve_cmd->add_option("--repository-poll-secs", serve.repository_poll_secs,
                        "Seconds between repository scans in poll mode (default 2)");
  serve_cmd->add_option("--log-level", serve.log_level, "trace | debug | info | warn | error");
  serve_cmd->add_option("--state-dir", serve.state_dir,
                        "Folder for what must outlive a crash (the MQTT inbox journal); created if missing");
  serve_cmd->add_option("--mqtt-broker", serve.mqtt_broker,
                        "MQTT broker, mqtt://host:port or mqtts://host:port (default: MQTT off)");
  serve_cmd->add_option("--mqtt-client-id", serve.mqtt_client_id,
                        "MQTT client id (default infergate-<hostname>-<pid>)");
  serve_cmd->add_option("--mqtt-topic-prefix", serve.mqtt_topic_prefix,
                        "Prefix of the default route and status topics (default infergate)");
  serve_cmd->add_option("--mqtt-share-group", serve.mqtt_share_group,
                        "Subscribe as $share/NAME/... so instances split the load");
  serve_cmd->add_option("--grpc-port", serve.grpc_port, "gRPC port (default 8001; 0 = any free port, logged)")
      ->check(CLI::Range(0, 65535));
  serve_cmd->add_option("--grpc-address", serve.grpc_address, "gRPC listen address (default 127.0.0.1: this host only; 0.0.0.0 for every interface)");
  serve_cmd->add_option("--http-port", serve.http_port, "HTTP port (default 8000; 0 = any free port, logged)")
      ->check(CLI::Range(0, 65535));
  serve_cmd->add_option("--http-address", serve.http_address, "HTTP listen address (default 127.0.0.1: this host only; 0.0.0.0 for every interface)");
  serve_cmd->add_option("--http-threads", serve.http_threads, "HTTP IO threads (default 1)")
      ->check(CLI::Range(1, 256));
  serve_cmd->add_option("--tls-cert", serve.tls_cert, "TLS certificate chain (PEM) for HTTP and gRPC; with --tls-key");
  serve_cmd->add_option("--tls-key", serve.tls_key, "TLS private key (PEM) of --tls-cert");
  serve_cmd->add_option("--tls-client-ca", serve.tls_client_ca,
                        "CA (PEM) that must have signed every client's certificate (mutual TLS)");

  serve_cmd->add_option("--auth-tokens", serve.auth_tokens,
                        "Tokens file (YAML): requests need 'Authorization: Bearer <token>' (default: auth off)")
      ->check(CLI::ExistingFile);

  TokenNewFlags token_new;
  auto* token_cmd = app.add_subcommand("token", "Manage bearer tokens");
  token_cmd->require_subcommand(1);
  auto* token_new_cmd = token_cmd->add_subcommand("new", "Print a fresh token and its tokens file entry");
  token_new_cmd->add_option("--name", token_new.name, "The entry's name (letters, digits, '-', '_', '.')")->required();
  token_new_cmd->add_option("--scopes", token_new.scopes, "infer,read,admin (any of them)")->required();
  token_new_cmd->add_option("--models", token_new.models, "Model globs, e.g. 'vib*,pump_*' (default: every model)");

  std::string inspect_path;
  bool inspect_json = false;
  auto* inspect_cmd = app.add_subcommand(
      "inspect", "Show a model's signature, effective config and whether it loads");
  inspect_cmd->add_option("path", inspect_path, ".onnx file, model folder or repository")->required();
  inspect_cmd->add_flag("--json", inspect_json, "Print JSON instead of text");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (*token_new_cmd) return RunTokenNew(token_new, std::cout, std::cerr);
  if (*inspect_cmd) {
    spdlog::set_level(spdlog::level::warn);
    return RunInspect(inspect_path, inspect_json);
  }
  auto config = BuildServerConfig(serve);
  if (!config.ok()) {
    std::cerr << "infergate serve: " << config.status().message() << "\n";
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(config->log_level));
  return RunServe(std::move(*config), [serve] { return BuildServerConfig(serve); });
}

}  // namespace infergate::server
