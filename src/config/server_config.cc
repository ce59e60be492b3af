#include "config/server_config.h"

#include <tuple>

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "config/mqtt_changes.h"
#include "config/yaml_util.h"

namespace infergate::config {
namespace {

using core::Status;
using core::StatusOr;

Status ParseOrt(const YamlReader& r, const YAML::Node& node, OrtConfig* out) {
  RETURN_IF_ERROR(r.CheckKeys(node, "onnxruntime", {"intra_op_threads", "inter_op_threads", "allow_spinning"}));
  if (node["intra_op_threads"]) {
    ASSIGN_OR_RETURN(int64_t n, r.Int(node["intra_op_threads"], "intra_op_threads", 0, 1024));
    out->intra_op_threads = static_cast<int>(n);
  }
  if (node["inter_op_threads"]) {
    ASSIGN_OR_RETURN(int64_t n, r.Int(node["inter_op_threads"], "inter_op_threads", 1, 1024));
    out->inter_op_threads = static_cast<int>(n);
  }
  if (node["allow_spinning"]) {
    ASSIGN_OR_RETURN(out->allow_spinning, r.Bool(node["allow_spinning"], "allow_spinning"));
  }
  return Status::Ok();
}

// The keys bounding what one client can make the gRPC frontend hold.
Status ParseGrpcLimits(const YamlReader& r, const YAML::Node& node, GrpcConfig* out) {
  constexpr int64_t kMaxBytes = int64_t{1} << 40;
  for (auto [key, field, min] : {std::tuple{"max_connection_buffer_bytes", &out->max_connection_buffer_bytes, 1 << 16},
                                 std::tuple{"max_buffered_bytes", &out->max_buffered_bytes, 0},
                                 std::tuple{"max_connection_unsent_bytes", &out->max_connection_unsent_bytes, 1 << 16}}) {
    if (!node[key]) continue;
    ASSIGN_OR_RETURN(*field, r.Int(node[key], key, min, kMaxBytes));
  }
  for (auto [key, field] : {std::pair{"write_timeout_secs", &out->write_timeout_secs},
                            std::pair{"stall_timeout_secs", &out->stall_timeout_secs}}) {
    if (!node[key]) continue;
    ASSIGN_OR_RETURN(*field, r.Double(node[key], key));
    if (*field < 0) return r.Error(node[key], key, "must be >= 0");
  }
  return Status::Ok();
}

Status ParseGrpc(const YamlReader& r, const YAML::Node& node, GrpcConfig* out) {
  RETURN_IF_ERROR(r.CheckKeys(node, "grpc",
                              {"enabled", "address", "port", "io_threads", "max_message_bytes",
                               "max_tensor_elements", "max_stream_in_flight", "drain_secs", "max_connections",
                               "idle_timeout_secs", "tls", "max_connection_buffer_bytes", "max_buffered_bytes",
                               "max_connection_unsent_bytes", "write_timeout_secs", "stall_timeout_secs"}));
  if (node["enabled"]) {
    ASSIGN_OR_RETURN(out->enabled, r.Bool(node["enabled"], "enabled"));
  }
  if (node["address"]) {
    ASSIGN_OR_RETURN(out->address, r.String(node["address"], "address"));
  }
  if (node["port"]) {
    ASSIGN_OR_RETURN(int64_t n, r.Int(node["port"], "port", 0, 65535));
    out->port = static_cast<int>(n);
  }
  if (node["io_threads"]) {
    ASSIGN_OR_RETURN(int64_t n, r.Int(node["io_threads"], "io_threads", 1, 256));
    out->io_threads = static_cast<int>(n);
  }
  if (node["max_message_bytes"]) {
    ASSIGN_OR_RETURN(out->max_message_bytes,
                     r.Int(node["max_message_bytes"], "max_message_bytes", 1024, 2147483647));
  }
  if (node["max_tensor_elements"]) {
    ASSIGN_OR_RETURN(out->max_tensor_elements,
                     r.Int(node["max_tensor_elements"], "max_tensor_elements", 1, int64_t{1} << 40));
  }
  if (node["max_stream_in_flight"]) {
    ASSIGN_OR_RETURN(int64_t n, r.Int(node["max_stream_in_flight"], "max_stream_in_flight", 1, 65536));
    out->max_stream_in_flight = static_cast<int>(n);
  }
  if (node["drain_secs"]) {
    ASSIGN_OR_RETURN(out->drain_secs, r.Double(node["drain_secs"], "drain_secs"));
    if (out->drain_secs < 0) return r.Error(node["drain_secs"], "drain_secs", "must be >= 0");
  }
  if (node["max_connections"]) {
    ASSIGN_OR_RETURN(out->max_connections, r.Int(node["max_connections"], "max_connections", 0, 1 << 20));
  }
  if (node["idle_timeout_secs"]) {
    ASSIGN_OR_RETURN(out->idle_timeout_secs, r.Double(node["idle_timeout_secs"], "idle_timeout_secs"));
    if (out->idle_timeout_secs < 0) return r.Error(node["idle_timeout_secs"], "idle_timeout_secs", "must be >= 0");
  }
  if (node["tls"]) RETURN_IF_ERROR(ParseTlsConfig(r, node["tls"], false, &out->tls.emplace()));
  return ParseGrpcLimits(r, node, out);
}

Status ParseHttp(const YamlReader& r, const YAML::Node& node, HttpConfig* out) {
  RETURN_IF_ERROR(r.CheckKeys(node, "http",
                              {"enabled", "address", "port", "io_threads", "max_body_bytes",
                               "max_header_bytes", "max_elements_per_tensor", "idle_timeout_secs",
                               "request_timeout_secs", "max_connections", "tls", "decode_offload_bytes",
                               "max_queued_decodes"}));
  if (node["enabled"]) {
    ASSIGN_OR_RETURN(out->enabled, r.Bool(node["enabled"], "enabled"));
  }
  if (node["address"]) {
    ASSIGN_OR_RETURN(out->address, r.String(node["address"], "address"));
  }
  if (node["port"]) {
    ASSIGN_OR_RETURN(int64_t port, r.Int(node["port"], "port", 0, 65535));
    out->port = static_cast<int>(port);
  }
  if (node["io_threads"]) {
    ASSIGN_OR_RETURN(int64_t n, r.Int(node["io_threads"], "io_threads", 1, 256));
    out->io_threads = static_cast<int>(n);
  }
  constexpr int64_t kMax = int64_t{1} << 40;
  if (node["max_body_bytes"]) {
    ASSIGN_OR_RETURN(out->max_body_bytes, r.Int(node["max_body_bytes"], "max_body_bytes", 1, kMax));
  }
  if (node["max_header_bytes"]) {
    ASSIGN_OR_RETURN(out->max_header_bytes,
                     r.Int(node["max_header_bytes"], "max_header_bytes", 256, 1 << 30));
  }
  if (node["max_elements_per_tensor"]) {
    ASSIGN_OR_RETURN(out->max_elements_per_tensor,
                     r.Int(node["max_elements_per_tensor"], "max_elements_per_tensor", 1, kMax));
  }
  if (node["idle_timeout_secs"]) {
    ASSIGN_OR_RETURN(out->idle_timeout_secs, r.Double(node["idle_timeout_secs"], "idle_timeout_secs"));
  }
  if (node["request_timeout_secs"]) {
    ASSIGN_OR_RETURN(out->request_timeout_secs,
                     r.Double(node["request_timeout_secs"], "request_timeout_secs"));
  }
  if (node["max_connections"]) {
    ASSIGN_OR_RETURN(out->max_connections, r.Int(node["max_connections"], "max_connections", 0, 1 << 20));
  }
  if (node["tls"]) RETURN_IF_ERROR(ParseTlsConfig(r, node["tls"], false, &out->tls.emplace()));
  if (node["decode_offload_bytes"]) {
    ASSIGN_OR_RETURN(out->decode_offload_bytes, r.Int(node["decode_offload_bytes"], "decode_offload_bytes", 0, kMax));
  }
  if (node["max_queued_decodes"]) {
    ASSIGN_OR_RETURN(out->max_queued_decodes, r.Int(node["max_queued_decodes"], "max_queued_decodes", 1, 4096));
  }
  return Status::Ok();
}

Status ParseSharedMemory(const YamlReader& r, const YAML::Node& node, SharedMemoryConfig* out) {
  RETURN_IF_ERROR(r.CheckKeys(node, "shared_memory", {"enabled", "max_regions", "key_prefix"}));
  if (node["key_prefix"]) {
    ASSIGN_OR_RETURN(out->key_prefix, r.String(node["key_prefix"], "key_prefix"));
    if (out->key_prefix.size() < 2 || out->key_prefix[0] != '/' || out->key_prefix.find('/', 1) != std::string::npos) {
      return r.Error(node["key_prefix"], "key_prefix", "must be '/' and at least one more character, with no other '/'");
    }
  }
  if (node["enabled"]) {
    ASSIGN_OR_RETURN(out->enabled, r.Bool(node["enabled"], "enabled"));
  }
  if (node["max_regions"]) {
    ASSIGN_OR_RETURN(int64_t n, r.Int(node["max_regions"], "max_regions", 1, 65536));
    out->max_regions = static_cast<int>(n);
  }
  return Status::Ok();
}

Status ParseAuth(const YamlReader& r, const YAML::Node& node, AuthConfig* out) {
  RETURN_IF_ERROR(r.CheckKeys(node, "auth", {"tokens_file"}));
  if (node["tokens_file"]) {
    ASSIGN_OR_RETURN(std::string file, r.String(node["tokens_file"], "tokens_file"));
    if (file.empty()) return r.Error(node["tokens_file"], "tokens_file", "must not be empty (leave it out for no authentication)");
    out->tokens_file = file;
  }
  return Status::Ok();
}

Status ParseRoot(const YamlReader& r, const YAML::Node& root, ServerConfig* c) {
  RETURN_IF_ERROR(r.CheckKeys(root, "the server config",
                              {"model_repository", "model_control_mode", "repository_poll_secs",
                               "drain_secs", "log_level", "onnxruntime", "http", "grpc", "mqtt",
                               "shared_memory", "tls", "auth", "state_dir", "uplink", "repository_origin"}));
  if (root["model_repository"]) {
    ASSIGN_OR_RETURN(std::string p, r.String(root["model_repository"], "model_repository"));
    c->model_repository = p;
  }
  if (root["model_control_mode"]) {
    ASSIGN_OR_RETURN(std::string m, r.String(root["model_control_mode"], "model_control_mode"));
    auto mode = ParseModelControlMode(m);
    if (!mode.ok()) return r.Error(root["model_control_mode"], "model_control_mode", mode.status().message());
    c->model_control_mode = *mode;
  }
  if (root["repository_poll_secs"]) {
    ASSIGN_OR_RETURN(c->repository_poll_secs, r.Double(root["repository_poll_secs"], "repository_poll_secs"));
  }
  if (root["log_level"]) {
    ASSIGN_OR_RETURN(c->log_level, r.String(root["log_level"], "log_level"));
  }
  if (root["state_dir"]) {
    ASSIGN_OR_RETURN(std::string dir, r.String(root["state_dir"], "state_dir"));
    c->state_dir = dir;
  }
  if (root["onnxruntime"]) RETURN_IF_ERROR(ParseOrt(r, root["onnxruntime"], &c->onnxruntime));
  if (root["mqtt"]) RETURN_IF_ERROR(ParseMqttConfig(r, root["mqtt"], &c->mqtt));
  if (root["http"]) RETURN_IF_ERROR(ParseHttp(r, root["http"], &c->http));
  if (root["grpc"]) RETURN_IF_ERROR(ParseGrpc(r, root["grpc"], &c->grpc));
  if (root["drain_secs"]) {
    ASSIGN_OR_RETURN(c->drain_secs, r.Double(root["drain_secs"], "drain_secs"));
    if (c->drain_secs < 0) return r.Error(root["drain_secs"], "drain_secs", "must be >= 0");
  } else if (root["grpc"] && root["grpc"]["drain_secs"]) {
    c->drain_secs = c->grpc.drain_secs;  // the older spelling
  }
  if (root["shared_memory"]) {
    RETURN_IF_ERROR(ParseSharedMemory(r, root["shared_memory"], &c->shared_memory));
  }
  if (root["tls"]) RETURN_IF_ERROR(ParseTlsConfig(r, root["tls"], true, &c->tls));
  if (root["auth"]) RETURN_IF_ERROR(ParseAuth(r, root["auth"], &c->auth));
  if (root["uplink"]) RETURN_IF_ERROR(ParseUplinkConfig(r, root["uplink"], &c->uplink));
  if (root["repository_origin"]) {
    RETURN_IF_ERROR(ParseRepositoryOrigin(r, root["repository_origin"], &c->repository_origin));
  }
  return Status::Ok();
}

void ResolveConfigTlsPaths(const std::filesystem::path& base, ServerConfig* c) {
  ResolveTlsPaths(base, &c->tls);
  if (c->http.tls) ResolveTlsPaths(base, &*c->http.tls);
  if (c->grpc.tls) ResolveTlsPaths(base, &*c->grpc.tls);
}

Status ValidateTls(const ServerConfig& c) {
  RETURN_IF_ERROR(ValidateTlsConfig(c.tls, "tls"));
  if (c.http.tls) RETURN_IF_ERROR(ValidateTlsConfig(*c.http.tls, "http.tls"));
  if (c.grpc.tls) RETURN_IF_ERROR(ValidateTlsConfig(*c.grpc.tls, "grpc.tls"));
  return Status::Ok();
}

}  // namespace

std::string_view ModelControlModeName(ModelControlMode mode) {
  switch (mode) {
    case ModelControlMode::kNone: return "none";
    case ModelControlMode::kPoll: return "poll";
    case ModelControlMode::kExplicit: return "explicit";
  }
  return "poll";
}

StatusOr<ModelControlMode> ParseModelControlMode(std::string_view name) {
  if (name == "none") return ModelControlMode::kNone;
  if (name == "poll") return ModelControlMode::kPoll;
  if (name == "explicit") return ModelControlMode::kExplicit;
  return core::InvalidArgument("model control mode must be none, poll or explicit, got '" +
                               std::string(name) + "'");
}

StatusOr<ServerConfig> ParseServerConfig(std::string_view yaml, std::string_view origin) {
  ServerConfig config;
  RETURN_IF_ERROR(ParseYamlDocument(yaml, origin, &config, &ParseRoot));
  return config;
}

StatusOr<ServerConfig> ParseServerConfigFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return core::NotFound(file.string() + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  ASSIGN_OR_RETURN(ServerConfig config, ParseServerConfig(text.str(), file.string()));
  // Relative paths in the file are relative to the file's folder.
  if (!config.model_repository.empty() && config.model_repository.is_relative()) {
    config.model_repository = file.parent_path() / config.model_repository;
  }
  ResolveConfigTlsPaths(file.parent_path(), &config);
  if (!config.auth.tokens_file.empty() && config.auth.tokens_file.is_relative()) {
    config.auth.tokens_file = file.parent_path() / config.auth.tokens_file;
  }
  if (!config.state_dir.empty() && config.state_dir.is_relative()) {
    config.state_dir = file.parent_path() / config.state_dir;
  }
  ResolveRepositoryOriginPaths(file.parent_path(), &config.repository_origin);
  if (!config.mqtt.inbox.path.empty() && std::filesystem::path(config.mqtt.inbox.path).is_relative()) {
    config.mqtt.inbox.path = (file.parent_path() / config.mqtt.inbox.path).string();
  }
  if (!config.uplink.outbox.path.empty() && std::filesystem::path(config.uplink.outbox.path).is_relative()) {
    config.uplink.outbox.path = (file.parent_path() / config.uplink.outbox.path).string();
  }
  return config;
}

Status ValidateServerConfig(const ServerConfig& c) {
  if (c.model_repository.empty()) {
    return core::InvalidArgument("no model repository: give --model-repository DIR or model_repository in the config file");
  }
  if (c.repository_poll_secs <= 0) {
    return core::InvalidArgument("repository_poll_secs must be > 0, got " + std::to_string(c.repository_poll_secs));
  }
  if (c.http.port < 0 || c.http.port > 65535) {
    return core::InvalidArgument("http port must be from 0 to 65535, got " + std::to_string(c.http.port));
  }
  if (c.http.io_threads < 1) {
    return core::InvalidArgument("http io_threads must be >= 1, got " + std::to_string(c.http.io_threads));
  }
  if (c.http.idle_timeout_secs <= 0 || c.http.request_timeout_secs <= 0) {
    return core::InvalidArgument("http idle_timeout_secs and request_timeout_secs must be > 0");
  }
  static constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error"};
  bool known = false;
  for (auto l : kLevels) known = known || l == c.log_level;
  if (!known) return core::InvalidArgument("log_level must be trace, debug, info, warn or error, got '" + c.log_level + "'");
  RETURN_IF_ERROR(ValidateMqttConfig(c.mqtt));
  RETURN_IF_ERROR(ValidateUplinkConfig(c.uplink, !c.state_dir.empty()));
  if (c.grpc.port < 0 || c.grpc.port > 65535) {
    return core::InvalidArgument("grpc port must be from 0 to 65535, got " + std::to_string(c.grpc.port));
  }
  if (c.grpc.enabled && c.grpc.address.empty()) return core::InvalidArgument("grpc address is empty");
  RETURN_IF_ERROR(ValidateTls(c));
  RETURN_IF_ERROR(ValidateRepositoryOrigin(c.repository_origin));
  if (c.grpc.max_connection_buffer_bytes < c.grpc.max_message_bytes ||
      (c.grpc.max_buffered_bytes > 0 && c.grpc.max_buffered_bytes < c.grpc.max_connection_buffer_bytes)) {
    return core::InvalidArgument(
        "grpc max_connection_buffer_bytes must be >= max_message_bytes, and max_buffered_bytes (unless 0) >= "
        "max_connection_buffer_bytes");
  }
  return Status::Ok();
}

std::vector<std::string> ChangedKeys(const ServerConfig& a, const ServerConfig& b) {
  std::vector<std::string> out;
  auto check = [&out](bool same, const char* key) {
    if (!same) out.emplace_back(key);
  };
  check(a.model_repository == b.model_repository, "model_repository");
  check(a.model_control_mode == b.model_control_mode, "model_control_mode");
  check(a.repository_poll_secs == b.repository_poll_secs, "repository_poll_secs");
  check(a.drain_secs == b.drain_secs, "drain_secs");
  check(a.log_level == b.log_level, "log_level");
  check(a.state_dir == b.state_dir, "state_dir");
  check(a.onnxruntime == b.onnxruntime, "onnxruntime");
  for (auto& key : ChangedMqttKeys(a.mqtt, b.mqtt)) out.push_back(std::move(key));
  check(a.http == b.http, "http");
  check(a.grpc == b.grpc, "grpc");
  check(a.shared_memory == b.shared_memory, "shared_memory");
  check(a.tls == b.tls, "tls");
  check(a.auth == b.auth, "auth");
  check(a.uplink == b.uplink, "uplink");
  check(a.repository_origin == b.repository_origin, "repository_origin");
  return out;
}

}  // namespace infergate::config
