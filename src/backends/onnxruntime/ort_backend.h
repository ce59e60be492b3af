// The ONNX Runtime backend: loads .onnx files into ORT sessions behind the
// core::Backend and core::ModelInstance interfaces.
//
// This is the only header of the module meant for the rest of the project.
// It exposes core types and a factory, nothing of ONNX Runtime, so no other
// module includes ORT headers or depends on ORT's ABI.
//
// Threads: ORT allows one environment per process. All backends created
// while one is alive share it (and its global intra-op thread pool), and the
// options of the first apply; sessions run on that shared pool unless a
// model's RuntimeOptions.intra_op_threads gives it a pool of its own. Nothing
// else in the process may create an Ort::Env.
//
// Ownership: the factory returns the backend as a unique_ptr. Instances it
// loads, and output tensors they return, keep the environment alive on their
// own, so they may outlive the backend object.
//
// Thread-safety: Create, Load and ModelInstance::Run may be called from any
// thread, concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "core/model.h"
#include "core/status.h"

namespace infergate::ort {

enum class OrtLogSeverity { kVerbose, kInfo, kWarning, kError, kFatal };

// Receives ONNX Runtime's log messages at or above OrtBackendOptions::log_severity.
// Called from whichever thread ORT logs on (loading or inference threads);
// it must be thread-safe and must not block.
using OrtLogSink = std::function<void(OrtLogSeverity severity, std::string_view message)>;

struct OrtBackendOptions {
  // Threads of the shared intra-op pool; 0: one per hardware thread.
  int intra_op_threads = 0;
  // Threads of the shared inter-op pool (used only by parallel execution
  // mode, which infergate does not enable); 0: ORT's default.
  int inter_op_threads = 1;
  // Idle pool threads spin before sleeping: lower latency, but on a small
  // box a spinning pool burns the cores other threads need. Off by default.
  bool allow_spinning = false;
  OrtLogSeverity log_severity = OrtLogSeverity::kWarning;
  // Null: messages go to stderr.
  OrtLogSink log_sink;
  // ORT expands sparse initializers (and sparse Constant values) to dense
  // tensors while it loads a model, before it checks their sizes, so a
  // file of a few hundred bytes can make it allocate gigabytes. Files whose
  // sparse tensors together would be bigger than this when dense are
  // refused before ORT sees them. 0: no limit.
  uint64_t max_sparse_dense_bytes = uint64_t{1} << 30;
};

class OrtBackend {
 public:
  OrtBackend() = delete;

  // Creates the backend, or joins the process's ORT environment when one
  // exists. Errors: InvalidArgument for negative thread counts, Internal
  // when ORT cannot create its environment.
  //
  // Load() of the returned backend: the error names the file and the reason
  // (NotFound: no such file; InvalidArgument: not a valid ONNX model, an
  // unsupported operator or type, a bad RuntimeOptions value;
  // ResourceExhausted: over max_sparse_dense_bytes). version() is
  // "onnxruntime <version of the loaded library>".
  static core::StatusOr<std::unique_ptr<core::Backend>> Create(const OrtBackendOptions& options);
};

}  // namespace infergate::ort
