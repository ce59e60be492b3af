// Raw ONNX Runtime throughput of one model file: the in-process ceiling the
// server is measured against (bench/scheduler.sh).
//
//   ort_throughput MODEL.onnx [--batch N] [--callers K] [--seconds S]
//                  [--intra-op-threads T] [--csv]
//
// Builds one bare Ort::Session with exactly the server's thread settings (the
// process-wide ORT environment and shared intra-op pool from
// backends/onnxruntime, server defaults; with --intra-op-threads T > 0 the
// session gets a pool of its own of T threads, as a model whose config.yaml
// sets `onnxruntime: {intra_op_threads: T}` does in the server), fills every FP32 input with random
// values (dimension 0 = batch when dynamic, other dynamic dimensions 1), and
// lets K threads call Session::Run back to back for S seconds after a short
// warm-up. Prints inferences (rows) per second and the median run time.
#include <onnxruntime_cxx_api.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "backends/onnxruntime/ort_env.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string model;
  int64_t batch = 1;
  int callers = 1;
  double seconds = 5;
  int intra_op_threads = 0;  // 0: the shared pool
  bool csv = false;
};

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--csv") {
      o->csv = true;
    } else if (a == "--batch" && (v = next())) {
      o->batch = std::atoll(v);
    } else if (a == "--callers" && (v = next())) {
      o->callers = std::atoi(v);
    } else if (a == "--intra-op-threads" && (v = next())) {
      o->intra_op_threads = std::atoi(v);
    } else if (a == "--seconds" && (v = next())) {
      o->seconds = std::atof(v);
    } else if (a.rfind("--", 0) != 0 && o->model.empty()) {
      o->model = a;
    } else {
      return false;
    }
  }
  return !o->model.empty() && o->batch > 0 && o->callers > 0 && o->seconds > 0 && o->intra_op_threads >= 0;
}

// One caller's inputs: owned buffers and the Ort::Values that view them.
struct Inputs {
  std::vector<std::vector<float>> buffers;
  std::vector<Ort::Value> values;
};

Inputs MakeInputs(Ort::Session& session, int64_t batch, unsigned seed) {
  Inputs in;
  Ort::MemoryInfo memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (size_t i = 0; i < session.GetInputCount(); ++i) {
    Ort::TypeInfo type_info = session.GetInputTypeInfo(i);  // owns what `info` views
    auto info = type_info.GetTensorTypeAndShapeInfo();
    if (info.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
      throw Ort::Exception("only FP32 inputs are supported", ORT_INVALID_ARGUMENT);
    }
    std::vector<int64_t> shape = info.GetShape();
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] < 0) shape[d] = d == 0 ? batch : 1;
    }
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    auto& buffer = in.buffers.emplace_back(static_cast<size_t>(count));
    for (float& x : buffer) x = normal(rng);
    in.values.push_back(
        Ort::Value::CreateTensor<float>(memory, buffer.data(), buffer.size(), shape.data(), shape.size()));
  }
  return in;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: ort_throughput MODEL.onnx [--batch N] [--callers K] [--seconds S]"
                 " [--intra-op-threads T] [--csv]\n");
    return 2;
  }
  infergate::ort::OrtBackendOptions backend_options;  // the server's defaults
  auto env = infergate::ort::OrtEnvironment::Acquire(backend_options);
  if (!env.ok()) return std::fprintf(stderr, "%s\n", env.status().ToString().c_str()), 1;
  infergate::core::RuntimeOptions runtime;
  runtime.intra_op_threads = o.intra_op_threads;
  auto session_options = (*env)->MakeSessionOptions(runtime);
  if (!session_options.ok()) return std::fprintf(stderr, "%s\n", session_options.status().ToString().c_str()), 1;
  try {
    Ort::Session session((*env)->env(), o.model.c_str(), *session_options);
    Ort::AllocatorWithDefaultOptions allocator;
    std::vector<std::string> in_names, out_names;
    for (size_t i = 0; i < session.GetInputCount(); ++i) {
      in_names.push_back(session.GetInputNameAllocated(i, allocator).get());
    }
    for (size_t i = 0; i < session.GetOutputCount(); ++i) {
      out_names.push_back(session.GetOutputNameAllocated(i, allocator).get());
    }
    std::vector<const char*> in_ptrs, out_ptrs;
    for (auto& n : in_names) in_ptrs.push_back(n.c_str());
    for (auto& n : out_names) out_ptrs.push_back(n.c_str());

    std::atomic<bool> measuring{false}, stop{false};
    std::vector<std::vector<double>> times(static_cast<size_t>(o.callers));
    std::vector<Inputs> inputs;
    for (int c = 0; c < o.callers; ++c) {
      inputs.push_back(MakeInputs(session, o.batch, static_cast<unsigned>(c + 1)));
    }
    std::vector<std::thread> threads;
    for (int c = 0; c < o.callers; ++c) {
      threads.emplace_back([&, c] {
        Inputs& in = inputs[static_cast<size_t>(c)];
        Ort::RunOptions run_options;
        try {
          while (!stop.load()) {
            const auto start = Clock::now();
            auto out = session.Run(run_options, in_ptrs.data(), in.values.data(), in.values.size(),
                                   out_ptrs.data(), out_ptrs.size());
            const double took = std::chrono::duration<double>(Clock::now() - start).count();
            if (measuring.load()) times[static_cast<size_t>(c)].push_back(took);
          }
        } catch (const Ort::Exception& e) {
          std::fprintf(stderr, "ort_throughput: run failed: %s\n", e.what());
          std::_Exit(1);
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(1.0, o.seconds / 5)));  // warm-up
    const auto begin = Clock::now();
    measuring = true;
    std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
    measuring = false;
    const double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
    stop = true;
    for (auto& t : threads) t.join();
    std::vector<double> all;
    for (auto& v : times) all.insert(all.end(), v.begin(), v.end());
    std::sort(all.begin(), all.end());
    const double runs_per_s = static_cast<double>(all.size()) / elapsed;
    const double p50_ms = all.empty() ? 0 : all[all.size() / 2] * 1e3;
    if (o.csv) {
      std::printf("model,batch,callers,runs_per_s,inferences_per_s,p50_ms\n%s,%lld,%d,%.1f,%.1f,%.3f\n",
                  o.model.c_str(), static_cast<long long>(o.batch), o.callers, runs_per_s,
                  runs_per_s * static_cast<double>(o.batch), p50_ms);
    } else {
      std::printf("%s batch %lld, %d caller(s): %.1f runs/s, %.1f inferences/s, median run %.3f ms\n",
                  o.model.c_str(), static_cast<long long>(o.batch), o.callers, runs_per_s,
                  runs_per_s * static_cast<double>(o.batch), p50_ms);
    }
  } catch (const Ort::Exception& e) {
    std::fprintf(stderr, "ort_throughput: %s: %s\n", o.model.c_str(), e.what());
    return 1;
  }
  return 0;
}
