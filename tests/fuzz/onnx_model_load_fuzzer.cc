// ONNX model files as the ONNX Runtime backend loads them: the backend's own
// pre-scan of the protobuf bytes (onnx_scan.h, which refuses files whose
// sparse tensors would expand past the limit) and then, through
// core::Backend::Load, the scan of the file and ORT's session creation for
// what the scan lets through.
//
// ONNX Runtime is a prebuilt library: not instrumented, so only our code is
// coverage-guided, but a crash inside ORT on a file the scan let through is
// reported like any other (and is a finding to record).
//
// Input: the model file's bytes, written to one temporary file per process.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "backends/onnxruntime/onnx_scan.h"
#include "backends/onnxruntime/ort_backend.h"
#include "fuzz/fuzz_input.h"

namespace infergate::fuzz {
namespace {

struct Loader {
  std::unique_ptr<core::Backend> backend;
  std::filesystem::path file;
};

Loader* loader = nullptr;  // made by the first input

void RemoveFile() {
  std::error_code ignored;
  std::filesystem::remove(loader->file, ignored);
}

Loader* MakeLoader() {
  ort::OrtBackendOptions options;
  options.intra_op_threads = 1;
  options.log_severity = ort::OrtLogSeverity::kFatal;
  options.log_sink = [](ort::OrtLogSeverity, std::string_view) {};
  // Small enough that the fuzzer reaches it (the server's default is 1 GiB).
  options.max_sparse_dense_bytes = 64 << 20;
  auto backend = ort::OrtBackend::Create(options);
  if (!backend.ok()) __builtin_trap();
  auto* made = new Loader{std::move(*backend), {}};
  char name[] = "/tmp/infergate-onnx-fuzz-XXXXXX";
  const int fd = mkstemp(name);
  if (fd < 0) __builtin_trap();
  close(fd);
  made->file = std::string(name) + ".onnx";
  std::filesystem::rename(name, made->file);
  return made;
}

void Run(std::string_view in) {
  if (!loader) {
    loader = MakeLoader();
    std::atexit(RemoveFile);
  }
  (void)ort::ScanOnnxModel(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(in.data()), in.size()));
  {
    std::ofstream out(loader->file, std::ios::binary | std::ios::trunc);
    out.write(in.data(), static_cast<std::streamsize>(in.size()));
  }
  core::RuntimeOptions runtime;
  (void)loader->backend->Load(loader->file, runtime);
}

}  // namespace
}  // namespace infergate::fuzz

INFERGATE_FUZZ_TARGET(infergate::fuzz::Run)
