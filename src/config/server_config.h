// The server's own configuration (infergate.yaml), as typed structs. Command
// line flags override the file; both are validated here, once.
// docs/configuration.md and examples/infergate.yaml list every key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>
#include <string_view>

#include "config/mqtt_config.h"
#include "config/repository_origin_config.h"
#include "config/tls_config.h"
#include "config/uplink_config.h"
#include "core/status.h"

namespace infergate::config {

enum class ModelControlMode {
  kNone,      // load the repository at start-up only
  kPoll,      // also re-scan it every repository_poll_secs
  kExplicit,  // load what is there at start-up; then only the repository API loads/unloads
};
std::string_view ModelControlModeName(ModelControlMode mode);
core::StatusOr<ModelControlMode> ParseModelControlMode(std::string_view name);

struct OrtConfig {
  int intra_op_threads = 0;   // 0: one per core
  int inter_op_threads = 1;
  bool allow_spinning = false;

  bool operator==(const OrtConfig&) const = default;
};

// The `grpc:` section: the KServe v2 gRPC frontend.
struct GrpcConfig {
  bool enabled = true;
  std::string address = "127.0.0.1";  // loopback until configured
  int port = 8001;                                   // 0: any free port, logged
  int io_threads = 1;                                // threads running the connections
  int64_t max_message_bytes = 64 * 1024 * 1024;      // largest request or response
  int64_t max_tensor_elements = 16 * 1024 * 1024;    // per input tensor
  int max_stream_in_flight = 64;                     // per ModelStreamInfer call
  double drain_secs = 5.0;                           // older spelling of the top-level drain_secs
  int64_t max_connections = 1024;                    // open at once; more are closed on accept; 0: no cap
  double idle_timeout_secs = 300;                    // no call, no traffic this long: GOAWAY; 0: never
  std::optional<TlsConfig> tls;                      // set: replaces the top-level tls for gRPC
  // What one client can make the server hold (docs/grpc.md, "Limits").
  int64_t max_connection_buffer_bytes = 128 << 20;  // request bytes one connection holds, credit included
  int64_t max_buffered_bytes = int64_t{1} << 30;    // all connections; then new calls: RESOURCE_EXHAUSTED; 0: none
  int64_t max_connection_unsent_bytes = 16 << 20;   // replies waiting; over it no new request is taken
  double write_timeout_secs = 30;                   // replies wait, nothing written this long: closed; 0: never
  double stall_timeout_secs = 30;                   // part of a message held, nothing moves this long: closed; 0: never

  bool operator==(const GrpcConfig&) const = default;
};

// The KServe v2 HTTP/REST frontend (`http:` in the file).
struct HttpConfig {
  bool enabled = true;
  std::string address = "127.0.0.1";  // loopback until configured
  int port = 8000;                              // 0: any free port, logged at start-up
  int io_threads = 1;
  int64_t max_body_bytes = 64 * 1024 * 1024;
  int64_t max_header_bytes = 16 * 1024;
  int64_t max_elements_per_tensor = 16 * 1024 * 1024;
  double idle_timeout_secs = 60;                // keep-alive connections idle this long are closed
  double request_timeout_secs = 30;             // time to receive one whole request (and to send its reply)
  int64_t max_connections = 1024;               // open at once; more are closed on accept; 0: no cap
  std::optional<TlsConfig> tls;                 // set: replaces the top-level tls for HTTP
  int64_t decode_offload_bytes = 1 << 20;       // /infer JSON larger than this: decoded off the IO threads; 0: never
  int64_t max_queued_decodes = 8;               // large bodies waiting to be decoded; one more gets 503

  bool operator==(const HttpConfig&) const = default;
};

// `shared_memory:`: Triton's system shared memory extension on HTTP and
// gRPC. Off by default: clients then name POSIX shared memory objects that
// the server opens as its own user, so turn it on only where the ports are
// reachable by trusted processes on the same host.
struct SharedMemoryConfig {
  bool enabled = false;
  int max_regions = 64;  // registered at once
  // Object names (keys) clients may register must start with this; the
  // object must also belong to the server's user.
  std::string key_prefix = "/infergate_";

  bool operator==(const SharedMemoryConfig&) const = default;
};

// `auth:`: bearer tokens with scopes (src/auth/policy.h, docs/security.md).
// No tokens file: authentication is off.
struct AuthConfig {
  std::filesystem::path tokens_file;  // or --auth-tokens FILE; relative: to the config file's folder

  bool operator==(const AuthConfig&) const = default;
};

struct ServerConfig {
  std::filesystem::path model_repository;
  ModelControlMode model_control_mode = ModelControlMode::kPoll;
  double repository_poll_secs = 2.0;
  // At SIGINT/SIGTERM: how long every frontend may take to answer what it
  // accepted (readiness is withdrawn and new work refused meanwhile).
  double drain_secs = 5.0;
  std::string log_level = "info";  // trace, debug, info, warn, error
  // What must outlive a crash (the MQTT inbox journal) lives here; created
  // when missing. Empty: nothing is kept on disk.
  std::filesystem::path state_dir;
  OrtConfig onnxruntime;
  MqttConfig mqtt;  // the MQTT frontend; off while mqtt.broker is empty
  HttpConfig http;
  GrpcConfig grpc;
  SharedMemoryConfig shared_memory;
  TlsConfig tls;  // HTTP and gRPC (http.tls / grpc.tls replace it for one); off while empty
  AuthConfig auth;
  // The uplink to the cloud broker (src/edge/uplink.h); off while uplink.broker is empty.
  UplinkConfig uplink;
  // Fleet model sync: the repository follows this origin; off while its url is empty.
  RepositoryOriginConfig repository_origin;

  bool operator==(const ServerConfig&) const = default;
};

// Parses YAML text; `origin` names it in errors. Keys not given keep the
// defaults above.
core::StatusOr<ServerConfig> ParseServerConfig(std::string_view yaml, std::string_view origin);
core::StatusOr<ServerConfig> ParseServerConfigFile(const std::filesystem::path& file);

// Checks cross-field rules after flags were applied.
core::Status ValidateServerConfig(const ServerConfig& config);

// The top-level keys whose values differ between `a` and `b`
// ("log_level", "http", ...), in the order of the config file's reference;
// the `mqtt:` section key by key ("mqtt.routes", ...: ChangedMqttKeys).
std::vector<std::string> ChangedKeys(const ServerConfig& a, const ServerConfig& b);

}  // namespace infergate::config
