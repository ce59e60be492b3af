// Shared pieces of the ONNX Runtime backend tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "backends/onnxruntime/ort_backend.h"
#include "core/model.h"

namespace infergate::testing {

inline std::string ModelPath(const std::string& file) {
  return std::string(INFERGATE_TEST_MODELS_DIR) + "/" + file;
}

// One backend for the whole test program (ORT has one environment per
// process anyway). Two intra-op threads, so parallel kernels are exercised.
inline core::Backend& OrtTestBackend() {
  static std::unique_ptr<core::Backend> backend = [] {
    ort::OrtBackendOptions options;
    options.intra_op_threads = 2;
    auto created = ort::OrtBackend::Create(options);
    if (!created.ok()) {
      std::fprintf(stderr, "cannot create the ORT backend: %s\n",
                   created.status().ToString().c_str());
      std::abort();
    }
    return std::move(created).value();
  }();
  return *backend;
}

inline std::unique_ptr<core::ModelInstance> LoadOrDie(const std::string& file,
                                                      const core::RuntimeOptions& options = {}) {
  auto loaded = OrtTestBackend().Load(ModelPath(file), options);
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  return loaded.ok() ? std::move(loaded).value() : nullptr;
}

inline core::InferInput Input(std::string name, core::Tensor tensor) {
  return core::InferInput{std::move(name), std::move(tensor), {}};
}

}  // namespace infergate::testing
