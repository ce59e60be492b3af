// OrtInstance: one ORT session behind core::ModelInstance. Internal to the
// backend (created by OrtBackend's Load).
//
// Zero-copy both ways for fixed-size types: inputs are wrapped in ORT values
// over the caller's buffers, and outputs are core::Tensor::Borrow views of
// ORT's output buffers, owned by a shared holder that keeps the values (and
// the session and environment) alive as long as any output tensor. BYTES
// inputs and outputs are copied (ORT holds a std::string per element).
//
// Everything that can be prepared once is prepared at load: output name
// arrays, the CPU MemoryInfo, RunOptions. A Run adds to ORT's own Session::Run
// the input validation, one ORT value per input and one holder allocation.
//
// Thread-safety: Run may be called from any number of threads at once (ORT's
// Session::Run is thread-safe; the members read here are immutable after
// construction). Output tensors may be read from any thread and may outlive
// the instance.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backends/onnxruntime/ort_env.h"
#include "core/model.h"

namespace infergate::ort {

class OrtInstance final : public core::ModelInstance {
 public:
  // Takes the session. `file` names the model in errors. Never throws.
  static core::StatusOr<std::unique_ptr<core::ModelInstance>> Create(
      std::shared_ptr<OrtEnvironment> env, std::string file, Ort::Session session,
      core::ModelSignature signature);

  const core::ModelSignature& signature() const override { return signature_; }

  // On error `outputs` is left empty. Errors: InvalidArgument (from
  // core::ValidateInputs, or two sizes for one symbolic dim) naming the input;
  // NotFound "unknown output 'x'"; otherwise ORT's error prefixed with the
  // model file (InvalidArgument for inputs the graph rejects, Internal for
  // engine failures, ResourceExhausted when memory runs out).
  core::Status Run(const std::vector<core::InferInput>& inputs,
                   const std::vector<std::string>& output_names,
                   std::vector<core::InferOutput>* outputs) override;

 private:
  // The session and what it needs to stay valid; shared with output holders.
  struct Engine {
    std::shared_ptr<OrtEnvironment> env;
    Ort::Session session;
  };
  struct OutputHolder;

  OrtInstance(std::shared_ptr<OrtEnvironment> env, std::string file, Ort::Session session,
              core::ModelSignature signature);
  void Init();  // may throw

  // Maps requested names to indices into signature_.outputs.
  core::Status ResolveOutputs(const std::vector<std::string>& names,
                              std::vector<const char*>* c_names,
                              std::vector<size_t>* indices) const;
  // The part of Run that may throw; called inside CallGuarded.
  core::Status RunValidated(const std::vector<core::InferInput>& inputs,
                            const std::vector<std::string>& output_names,
                            std::vector<core::InferOutput>* outputs);
  Ort::Value MakeInputValue(const core::Tensor& tensor) const;
  // Appends output k of `holder` as a core tensor (a view for fixed-size
  // types, a copy for BYTES).
  core::Status AppendOutput(const core::TensorSpec& spec,
                            const std::shared_ptr<OutputHolder>& holder, size_t k,
                            const std::vector<core::InferInput>& inputs,
                            std::vector<core::InferOutput>* outputs) const;
  // InvalidArgument when a request gives one symbolic dim two sizes.
  core::Status CheckTiedDims(const std::vector<core::InferInput>& inputs) const;

  // A symbolic dim name used by more than one input dim ("batch" in INPUT0
  // and INPUT1 of a two-input model). The graph needs one size for it; ORT
  // would find a mismatch only inside a kernel, as an engine error.
  struct TiedDim {
    std::string name;
    std::vector<std::pair<size_t, size_t>> uses;  // (index into signature_.inputs, dim index)
  };

  const std::string file_;
  const core::ModelSignature signature_;
  const std::shared_ptr<Engine> engine_;
  Ort::MemoryInfo memory_info_{nullptr};    // CPU, for wrapping caller buffers
  Ort::RunOptions run_options_{nullptr};    // shared read-only by concurrent runs
  Ort::AllocatorWithDefaultOptions allocator_{nullptr};  // for BYTES inputs
  std::vector<const char*> all_output_names_;  // point into signature_.outputs
  std::vector<size_t> all_output_indices_;     // 0, 1, ..., n-1
  std::vector<TiedDim> tied_dims_;             // empty for most models
};

}  // namespace infergate::ort
