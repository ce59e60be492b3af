// The Backend and ModelInstance interfaces: the only way core reaches an
// execution engine. Small on purpose, so tests can fake them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/datatype.h"
#include "core/infer.h"
#include "core/shape.h"
#include "core/status.h"

namespace infergate::core {

struct ModelConfig;
class MetricsRegistry;

// One input or output as the model file declares it.
struct TensorSpec {
  std::string name;
  DataType dtype = DataType::kInvalid;
  Shape shape;                         // -1 for a dynamic dimension
  std::vector<std::string> dim_names;  // symbolic names ("batch"), "" where none; same length as shape
  std::string doc;
};

// What a model file says about itself.
struct ModelSignature {
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  std::map<std::string, int64_t> opsets;  // domain ("" is ai.onnx) -> version
  std::string producer_name;
  std::string producer_version;
  std::string graph_name;
  std::string domain;
  std::string description;
  int64_t model_version = 0;  // the file's own version field
  std::map<std::string, std::string> metadata;  // custom metadata_props
  // The largest batch the model itself accepts when it says so (a remote
  // server's model configuration); -1 when it does not. CompleteConfig
  // takes it as the default max_batch_size.
  int64_t max_batch_size = -1;
};

// Engine settings a model's config may set; the backend maps them.
struct RuntimeOptions {
  // 0: run on the process-wide thread pool shared by all models (default).
  // N > 0: this model gets its own pool of N threads.
  int intra_op_threads = 0;
  // "disable", "basic", "extended" or "all".
  std::string graph_optimization_level = "all";
};

// One loaded copy of a model (an ORT session).
//
// Thread-safety: Run may be called from several threads at once.
class ModelInstance {
 public:
  virtual ~ModelInstance() = default;

  virtual const ModelSignature& signature() const = 0;

  // Runs the model once. `inputs` must name every model input once with the
  // declared type and a fitting shape; an error names the offending input.
  // `output_names` empty means all outputs, in signature order. On success
  // `outputs` holds one tensor per requested output; their bytes may be owned
  // by the engine and are kept alive by the tensors.
  virtual Status Run(const std::vector<InferInput>& inputs,
                     const std::vector<std::string>& output_names,
                     std::vector<InferOutput>* outputs) = 0;
};

// Loads model files. name() is the `backend` a model's config.yaml names it
// by (Triton's names, e.g. "onnxruntime"); core::BackendRegistry chooses one
// per model. Thread-safety: Load may be called from several threads.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  // Runtime name and version, e.g. "onnxruntime 1.30.0".
  virtual std::string version() const = 0;
  // Triton's `platform` names this backend serves ("onnxruntime_onnx"),
  // the first being its own; may be empty.
  virtual std::vector<std::string> platforms() const { return {}; }
  // Model file extensions it loads when a config names neither backend nor
  // platform (".onnx").
  virtual std::vector<std::string> file_extensions() const { return {}; }
  // Loads `file`; the error names the file and what was wrong with it.
  virtual StatusOr<std::unique_ptr<ModelInstance>> Load(const std::filesystem::path& file,
                                                        const RuntimeOptions& options) = 0;
  // False for a backend whose models have no file (backend: remote): their
  // version folders may be absent or empty (see ModelRepository).
  virtual bool uses_model_file() const { return true; }
  // Loads one instance of a model version: `file` (empty when
  // uses_model_file() is false) with the model's parsed `config`. The
  // repository calls this; the default is Load(file, config.runtime).
  virtual StatusOr<std::unique_ptr<ModelInstance>> LoadModel(const ModelConfig& config,
                                                             const std::filesystem::path& file);
  // Where the backend counts what it does (e.g. remote calls); called once,
  // by the engine, before any load. `metrics` outlives the backend.
  virtual void SetMetrics(MetricsRegistry* metrics) { (void)metrics; }
};

// Checks `inputs` against `specs`: every spec present exactly once, no
// unknown names, matching dtype and shape, and bytes that agree with the
// shape. Errors name the input.
Status ValidateInputs(const std::vector<TensorSpec>& specs, const std::vector<InferInput>& inputs);

}  // namespace infergate::core
