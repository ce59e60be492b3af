// What the ONNX Runtime backend adds to a bare ORT Session::Run.
//
// Both sides run mlp16.onnx (FP32 [batch,16] -> [batch,4]) on sessions made
// with the same environment and session options, at batch 1, 8 and 32:
//   BareOrt  - session.Run over input values created once, outside the loop;
//   BareOrtPerCallValues - the same, but the input value is created for each
//              call and the output's shape is read, as any zero-copy wrapper
//              of fresh caller buffers must (the ORT API share of the
//              backend's overhead);
//   Backend  - ModelInstance::Run with core tensors created once: input
//              validation, wrapping the caller's buffer, the run, and
//              wrapping ORT's output as core tensors (and freeing the
//              previous iteration's outputs).
// They are registered interleaved (all three for batch 1, then for 8, ...)
// so that a run measures them side by side. docs/benchmarks.md has the results.
//
// RawOrt is the in-process ceiling the load generator's figures are compared
// with (bench/run): BareOrt's loop from 1 and 2 caller threads at once, each
// with its own input, reporting requests (Run calls) per second over wall
// time as items_per_second.
#include <benchmark/benchmark.h>
#include <onnxruntime_cxx_api.h>

#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/onnxruntime/ort_backend.h"
#include "backends/onnxruntime/ort_env.h"
#include "core/model.h"

namespace infergate {
namespace {

constexpr const char* kModel = INFERGATE_TEST_MODELS_DIR "/mlp16.onnx";
constexpr int kFeatures = 16;

// The backend, an instance of mlp16 and a bare session of the same file with
// the same settings. Built once; bench functions only read it (or call Run,
// which is thread-safe).
struct Setup {
  std::unique_ptr<core::Backend> backend;
  std::unique_ptr<core::ModelInstance> instance;
  std::shared_ptr<ort::OrtEnvironment> env;
  Ort::Session session{nullptr};
  Ort::MemoryInfo memory_info{nullptr};
  Ort::RunOptions run_options{nullptr};
  std::string error;  // non-empty: the benchmarks are skipped with it
};

Setup* MakeSetup() {
  auto* s = new Setup;
  ort::OrtBackendOptions options;  // the server's defaults
  auto backend = ort::OrtBackend::Create(options);
  if (!backend.ok()) return s->error = backend.status().ToString(), s;
  s->backend = std::move(backend).value();
  auto instance = s->backend->Load(kModel, core::RuntimeOptions{});
  if (!instance.ok()) return s->error = instance.status().ToString(), s;
  s->instance = std::move(instance).value();
  // The backend's environment (the live one, so `options` changes nothing).
  auto env = ort::OrtEnvironment::Acquire(options);
  if (!env.ok()) return s->error = env.status().ToString(), s;
  s->env = std::move(env).value();
  auto session_options = s->env->MakeSessionOptions(core::RuntimeOptions{});
  if (!session_options.ok()) return s->error = session_options.status().ToString(), s;
  try {
    s->session = Ort::Session(s->env->env(), kModel, *session_options);
    s->memory_info = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    s->run_options = Ort::RunOptions();
  } catch (const Ort::Exception& e) {
    s->error = e.what();
  }
  return s;
}

Setup& GetSetup() {
  static Setup* setup = MakeSetup();  // lives until exit
  return *setup;
}

std::vector<float> Rows(int64_t batch) {
  std::mt19937 rng(static_cast<unsigned>(batch));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(batch * kFeatures));
  for (float& x : v) x = normal(rng);
  return v;
}

// session.Run in a loop on an input value built once; `seed` varies the
// values (each thread of a threaded run gets its own input).
void BareOrtLoop(benchmark::State& state, int seed) {
  Setup& s = GetSetup();
  if (!s.error.empty()) return state.SkipWithError(s.error.c_str());
  const int64_t batch = state.range(0);
  std::vector<float> rows = Rows(batch + seed);
  const int64_t shape[] = {batch, kFeatures};
  Ort::Value input = Ort::Value::CreateTensor<float>(s.memory_info, rows.data(), rows.size(), shape, 2);
  const char* input_names[] = {"input"};
  const char* output_names[] = {"probabilities"};
  try {
    for (auto _ : state) {
      std::vector<Ort::Value> out =
          s.session.Run(s.run_options, input_names, &input, 1, output_names, 1);
      benchmark::DoNotOptimize(out.front().GetTensorRawData());
    }
  } catch (const Ort::Exception& e) {
    state.SkipWithError(e.what());
  }
}

void BM_BareOrt(benchmark::State& state) { BareOrtLoop(state, 0); }

void BM_RawOrt(benchmark::State& state) {
  BareOrtLoop(state, state.thread_index());
  state.SetItemsProcessed(state.iterations());
}

void BM_BareOrtPerCallValues(benchmark::State& state) {
  Setup& s = GetSetup();
  if (!s.error.empty()) return state.SkipWithError(s.error.c_str());
  const int64_t batch = state.range(0);
  std::vector<float> rows = Rows(batch);
  const int64_t shape[] = {batch, kFeatures};
  const char* input_names[] = {"input"};
  const char* output_names[] = {"probabilities"};
  try {
    for (auto _ : state) {
      Ort::Value input =
          Ort::Value::CreateTensor<float>(s.memory_info, rows.data(), rows.size(), shape, 2);
      std::vector<Ort::Value> out =
          s.session.Run(s.run_options, input_names, &input, 1, output_names, 1);
      std::vector<int64_t> out_shape = out.front().GetTensorTypeAndShapeInfo().GetShape();
      benchmark::DoNotOptimize(out_shape.data());
      benchmark::DoNotOptimize(out.front().GetTensorRawData());
    }
  } catch (const Ort::Exception& e) {
    state.SkipWithError(e.what());
  }
}

void BM_Backend(benchmark::State& state) {
  Setup& s = GetSetup();
  if (!s.error.empty()) return state.SkipWithError(s.error.c_str());
  const int64_t batch = state.range(0);
  const std::vector<core::InferInput> inputs = {
      {"input", core::Tensor::FromValues<float>(core::DataType::kFp32, {batch, kFeatures}, Rows(batch)), {}}};
  const std::vector<std::string> all_outputs;
  std::vector<core::InferOutput> outputs;
  for (auto _ : state) {
    core::Status status = s.instance->Run(inputs, all_outputs, &outputs);
    if (!status.ok()) return state.SkipWithError(status.ToString().c_str());
    benchmark::DoNotOptimize(outputs.front().tensor.data());
  }
}

// Interleaved: the three variants of one batch size run one after the other.
BENCHMARK(BM_BareOrt)->Arg(1);
BENCHMARK(BM_BareOrtPerCallValues)->Arg(1);
BENCHMARK(BM_Backend)->Arg(1);
BENCHMARK(BM_BareOrt)->Arg(8);
BENCHMARK(BM_BareOrtPerCallValues)->Arg(8);
BENCHMARK(BM_Backend)->Arg(8);
BENCHMARK(BM_BareOrt)->Arg(32);
BENCHMARK(BM_BareOrtPerCallValues)->Arg(32);
BENCHMARK(BM_Backend)->Arg(32);

// The in-process ceiling for bench/run: batch 1, 8, 32 from 1 and 2 threads.
BENCHMARK(BM_RawOrt)->Arg(1)->Arg(8)->Arg(32)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace infergate

BENCHMARK_MAIN();
