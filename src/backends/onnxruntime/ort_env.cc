#include "backends/onnxruntime/ort_env.h"

#include <onnxruntime_session_options_config_keys.h>

#include <iostream>
#include <mutex>
#include <thread>

#include "backends/onnxruntime/ort_status.h"

namespace infergate::ort {
namespace {

OrtLoggingLevel ToOrtLevel(OrtLogSeverity severity) {
  switch (severity) {
    case OrtLogSeverity::kVerbose: return ORT_LOGGING_LEVEL_VERBOSE;
    case OrtLogSeverity::kInfo: return ORT_LOGGING_LEVEL_INFO;
    case OrtLogSeverity::kWarning: return ORT_LOGGING_LEVEL_WARNING;
    case OrtLogSeverity::kError: return ORT_LOGGING_LEVEL_ERROR;
    case OrtLogSeverity::kFatal: return ORT_LOGGING_LEVEL_FATAL;
  }
  return ORT_LOGGING_LEVEL_WARNING;
}

OrtLogSeverity FromOrtLevel(OrtLoggingLevel level) {
  switch (level) {
    case ORT_LOGGING_LEVEL_VERBOSE: return OrtLogSeverity::kVerbose;
    case ORT_LOGGING_LEVEL_INFO: return OrtLogSeverity::kInfo;
    case ORT_LOGGING_LEVEL_WARNING: return OrtLogSeverity::kWarning;
    case ORT_LOGGING_LEVEL_ERROR: return OrtLogSeverity::kError;
    case ORT_LOGGING_LEVEL_FATAL: return OrtLogSeverity::kFatal;
  }
  return OrtLogSeverity::kError;
}

const char* SeverityName(OrtLogSeverity severity) {
  switch (severity) {
    case OrtLogSeverity::kVerbose: return "verbose";
    case OrtLogSeverity::kInfo: return "info";
    case OrtLogSeverity::kWarning: return "warning";
    case OrtLogSeverity::kError: return "error";
    case OrtLogSeverity::kFatal: return "fatal";
  }
  return "?";
}

int DefaultIntraOpThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

}  // namespace

core::StatusOr<std::shared_ptr<OrtEnvironment>> OrtEnvironment::Acquire(
    const OrtBackendOptions& options) {
  if (options.intra_op_threads < 0 || options.inter_op_threads < 0) {
    return core::InvalidArgument("onnxruntime: thread counts must be >= 0 (intra_op_threads " +
                                 std::to_string(options.intra_op_threads) + ", inter_op_threads " +
                                 std::to_string(options.inter_op_threads) + ")");
  }
  // ORT's environment is a process singleton; so is this registry of it.
  // The deleter takes the registry's lock, so a new environment is never
  // created while the last one is still being released (ORT would hand back
  // the dying one, whose log callback points at freed memory).
  static std::mutex mutex;
  static std::weak_ptr<OrtEnvironment> current;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto live = current.lock()) return live;
  std::unique_ptr<OrtEnvironment> fresh(new OrtEnvironment(options));
  RETURN_IF_ERROR(fresh->Init());  // on failure `fresh` is freed without the lock
  std::shared_ptr<OrtEnvironment> env(fresh.release(), [](OrtEnvironment* e) {
    std::lock_guard<std::mutex> release_lock(mutex);
    delete e;
  });
  current = env;
  return env;
}

OrtEnvironment::OrtEnvironment(const OrtBackendOptions& options) : options_(options) {
  if (options_.intra_op_threads == 0) options_.intra_op_threads = DefaultIntraOpThreads();
}

OrtEnvironment::~OrtEnvironment() = default;

core::Status OrtEnvironment::Init() {
  return CallGuarded("onnxruntime environment", OrtPhase::kLoad, [&] {
    Ort::ThreadingOptions threading;
    threading.SetGlobalIntraOpNumThreads(options_.intra_op_threads);
    threading.SetGlobalInterOpNumThreads(options_.inter_op_threads);
    threading.SetGlobalSpinControl(options_.allow_spinning ? 1 : 0);
    env_ = Ort::Env(threading, &OrtEnvironment::Log, this, ToOrtLevel(options_.log_severity),
                    "infergate");
    return core::Status::Ok();
  });
}

void OrtEnvironment::Log(void* param, OrtLoggingLevel severity, const char* /*category*/,
                         const char* /*logid*/, const char* code_location, const char* message) {
  // Called by ORT from any of its threads; nothing may escape into ORT.
  try {
    const auto* self = static_cast<const OrtEnvironment*>(param);
    OrtLogSeverity level = FromOrtLevel(severity);
    if (self->options_.log_sink) {
      self->options_.log_sink(level, message);
    } else {
      std::cerr << "onnxruntime " << SeverityName(level) << ": " << message << " ("
                << code_location << ")\n";
    }
  } catch (...) {
  }
}

core::StatusOr<Ort::SessionOptions> OrtEnvironment::MakeSessionOptions(
    const core::RuntimeOptions& runtime) const {
  ASSIGN_OR_RETURN(GraphOptimizationLevel level,
                   ParseGraphOptimizationLevel(runtime.graph_optimization_level));
  if (runtime.intra_op_threads < 0) {
    return core::InvalidArgument("intra_op_threads must be >= 0, got " +
                                 std::to_string(runtime.intra_op_threads));
  }
  Ort::SessionOptions session_options{nullptr};
  RETURN_IF_ERROR(CallGuarded("onnxruntime session options", OrtPhase::kLoad, [&] {
    session_options = Ort::SessionOptions();
    session_options.SetGraphOptimizationLevel(level);
    session_options.SetExecutionMode(ORT_SEQUENTIAL);
    // Only ONNX files, even when the bytes look like ORT's own format.
    session_options.AddConfigEntry(kOrtSessionOptionsConfigLoadModelFormat, "ONNX");
    if (runtime.intra_op_threads == 0) {
      session_options.DisablePerSessionThreads();
    } else {
      session_options.SetIntraOpNumThreads(runtime.intra_op_threads);
      session_options.SetInterOpNumThreads(1);
      session_options.AddConfigEntry(kOrtSessionOptionsConfigAllowIntraOpSpinning,
                                     options_.allow_spinning ? "1" : "0");
    }
    return core::Status::Ok();
  }));
  return session_options;
}

core::StatusOr<GraphOptimizationLevel> ParseGraphOptimizationLevel(std::string_view level) {
  if (level == "disable") return ORT_DISABLE_ALL;
  if (level == "basic") return ORT_ENABLE_BASIC;
  if (level == "extended") return ORT_ENABLE_EXTENDED;
  if (level == "all") return ORT_ENABLE_ALL;
  return core::InvalidArgument("unknown graph_optimization_level '" + std::string(level) +
                               "'; expected disable, basic, extended or all");
}

}  // namespace infergate::ort
