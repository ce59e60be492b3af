// A model's configuration: what config.yaml says, completed from the model
// file. Field names follow Triton's model configuration where the concept is
// the same. The YAML parsing lives in src/config; this is the typed result and
// the rules that complete and check it against the model's signature.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/datatype.h"
#include "core/device_contract.h"
#include "core/model.h"
#include "core/shape.h"
#include "core/status.h"

namespace infergate::core {

// Which version directories are served.
struct VersionPolicy {
  enum class Kind { kLatest, kAll, kSpecific };
  Kind kind = Kind::kLatest;
  int64_t latest = 1;              // kLatest: how many of the highest versions
  std::vector<int64_t> specific;   // kSpecific: exactly these

  // The versions to serve out of those present on disk (any order in, ascending out).
  std::vector<int64_t> Select(std::vector<int64_t> available) const;
  std::string ToString() const;    // "latest: 1", "all", "specific: [1, 3]"
};

struct TensorConfig {
  std::string name;
  DataType dtype = DataType::kInvalid;
  // Per-request dims. With max_batch_size > 0 they exclude the batch
  // dimension, as in Triton. -1 for any size.
  Shape dims;
};

// Triton's dynamic_batching block (used by the scheduler).
struct DynamicBatchingConfig {
  std::vector<int64_t> preferred_batch_size;
  int64_t max_queue_delay_microseconds = 0;
  int64_t max_queue_size = 0;                // 0: the server default
  int64_t default_timeout_microseconds = 0;  // 0: no deadline
};

// The `remote:` section of a model served by another KServe v2 server
// (backend: remote). Parsed and checked by src/config; used by
// src/backends/remote.
struct RemoteModelConfig {
  std::string url;      // grpc://host:port, grpcs://, http:// or https://host:port
  std::string model;    // the remote's model name; src/config defaults it to the folder's name
  std::string version;  // "" lets the remote choose; else a positive integer
  int64_t timeout_ms = 1000;  // per remote call (metadata at load, each inference)
  std::string token_file;     // bearer token sent to the remote; "" for none
  std::string ca_file;        // tls.ca_file: the CA that signed the remote's certificate

  // The version this server lists the model under when its folder has no
  // version folders: the pinned remote version, else 1.
  int64_t LocalVersion() const;
};

// The `escalate:` section: when the local model's answer is doubtful, the
// same inputs go to another model of the repository (usually backend:
// remote) and its answer replaces the local one if it comes within
// timeout_ms. Parsed by src/config, run by src/engine (escalation.h).
struct EscalationConfig {
  enum class When { kAlways, kScoreBelow, kLabelIn };
  std::string to;  // a model of this repository, resolved per request
  When when = When::kAlways;
  // kScoreBelow: escalate when a batch item's score (its highest value in
  // the first output) is below this.
  double score_below = 0;
  // kLabelIn: escalate when a batch item's top label (device contract
  // labels, argmax of the first output) is one of these.
  std::vector<std::string> label_in;
  int64_t timeout_ms = 300;
  // Circuit breaker on the target: after `breaker_failures` consecutive
  // timeouts or failures it stays open for `breaker_open_secs` (escalations
  // skipped at once), then one probe decides.
  int64_t breaker_failures = 3;
  double breaker_open_secs = 10;
};

// Whether `config`'s escalation rule can be evaluated on its outputs (the
// first output numeric; label_in needs device contract labels). OK without
// escalation. Errors name the key.
Status CheckEscalation(const ModelConfig& config);

inline constexpr int64_t kUnsetBatchSize = -1;
// max_batch_size when config.yaml does not set it and the model's first
// dimension is dynamic in every input and output.
inline constexpr int64_t kDefaultMaxBatchSize = 32;

struct ModelConfig {
  std::string name;
  // Triton's keys; "" until the repository chooses the backend
  // (core::BackendRegistry), which fills both in.
  std::string platform;
  std::string backend;
  std::string default_model_filename = "model.onnx";
  int64_t max_batch_size = kUnsetBatchSize;  // 0: no batching
  VersionPolicy version_policy;
  int instance_count = 1;
  std::vector<TensorConfig> inputs;
  std::vector<TensorConfig> outputs;
  bool has_dynamic_batching = false;
  DynamicBatchingConfig dynamic_batching;
  RuntimeOptions runtime;
  std::string description;
  // The `device:` section: how telemetry becomes inputs and what the outputs
  // mean. Checked against the model by src/pipeline when a version loads.
  std::optional<DeviceContract> device;
  // Set for backend: remote (the model is another server's).
  std::optional<RemoteModelConfig> remote;
  // Set when answers may escalate to another model.
  std::optional<EscalationConfig> escalate;
  // Top-level keys filled in from the model file rather than config.yaml
  // ("max_batch_size", "input", "output", "input.x.dims", ...).
  std::set<std::string> autofilled;
};

// Fills what the config leaves open from the model's signature and checks
// that what it does say agrees with the model (names, types, dims, batching).
// Errors name the key and the model file's view.
Status CompleteConfig(const ModelSignature& signature, ModelConfig* config);

// The specs a single request is checked against: config dims with a leading
// -1 batch dimension when max_batch_size > 0.
std::vector<TensorSpec> RequestInputSpecs(const ModelConfig& config);

}  // namespace infergate::core
