// The device-contract path without a transport: what infergate spends per
// telemetry message between the wire and the scheduler, for 10,000 devices
// with count windows of 32 (the figure the MQTT telemetry benchmark builds on).
//
//   DecodeTelemetry   - the JSON codec alone, one message {"v": x, "ts": t}
//   Accept            - ContractRunner::Accept on decoded telemetry: device
//                       lookup, checks, the window, and every 32nd message
//                       the request's tensors
//   DecodeAndAccept   - both, as a frontend runs them per message
//   Interpret         - a response to a result (top-2 of 4 classes, on: change)
//
// Devices are visited round-robin so every lookup misses the caches as a
// large fleet would. Counters: msgs/s, and bytes held per device once every
// device's window is full: what the memory gauge accounts, and (in
// MemoryPerDevice, run first) how much the process's resident set grew.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "config/model_config_yaml.h"
#include "pipeline/contract_runner.h"
#include "pipeline/tensor_values.h"
#include "protocol/telemetry_json.h"

namespace infergate {
namespace {

constexpr int kDevices = 10000;

const char* kContract = R"(
max_batch_size: 64
input: [{name: v, data_type: FP32, dims: [32]}]
output: [{name: probs, data_type: FP32, dims: [4]}]
device:
  max_devices: 20000
  inputs: [{name: v, fields: [{name: v, unit: g}]}]
  window: {count: 32, hop: 32}
  result: {labels: [normal, wear, heat, imbalance], top_k: 2, alert_labels: [wear, heat, imbalance], on: change}
)";

struct Fleet {
  core::ManualClock clock;
  std::unique_ptr<pipeline::ContractRunner> runner;
  std::vector<std::string> ids;
  std::vector<std::string> bodies;  // one message per device
  Fleet() {
    auto config = config::ParseModelConfig(kContract, "bench", "m");
    runner = std::move(*pipeline::ContractRunner::Create(*config, 1, {&clock, nullptr}));
    for (int d = 0; d < kDevices; ++d) {
      ids.push_back("device-" + std::to_string(d));
      bodies.push_back("{\"v\": " + std::to_string(0.001 * d) +
                       ", \"ts\": " + std::to_string(1000 + d) + "}");
    }
  }
};

void Report(benchmark::State& state, const Fleet& fleet) {
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_per_device"] = static_cast<double>(fleet.runner->memory_bytes()) /
                                       static_cast<double>(fleet.runner->device_count());
}

// Resident set size of this process, in bytes.
double RssBytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

// What the pipeline accounts per device against what the process really
// grew by, with every device's window full (31 of 32 readings).
void BM_MemoryPerDevice(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    Fleet fleet;
    std::vector<pipeline::Telemetry> decoded;
    for (const auto& b : fleet.bodies) decoded.push_back(*protocol::DecodeTelemetry(b));
    const double before = RssBytes();
    state.ResumeTiming();
    for (int i = 0; i < 31; ++i) {
      for (int d = 0; d < kDevices; ++d)
        benchmark::DoNotOptimize(fleet.runner->Accept(fleet.ids[d], decoded[d]));
    }
    state.PauseTiming();
    state.counters["rss_bytes_per_device"] = (RssBytes() - before) / kDevices;
    state.counters["accounted_bytes_per_device"] =
        static_cast<double>(fleet.runner->memory_bytes()) / kDevices;
    state.ResumeTiming();
  }
}

void BM_DecodeTelemetry(benchmark::State& state) {
  Fleet fleet;
  protocol::TelemetryDecoder decoder;
  pipeline::Telemetry t;
  size_t d = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(decoder.Decode(fleet.bodies[d], &t));
    d = d + 1 == fleet.bodies.size() ? 0 : d + 1;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Accept(benchmark::State& state) {
  Fleet fleet;
  std::vector<pipeline::Telemetry> decoded;
  for (const auto& b : fleet.bodies) decoded.push_back(*protocol::DecodeTelemetry(b));
  size_t d = 0;
  for (auto _ : state) {
    auto requests = fleet.runner->Accept(fleet.ids[d], decoded[d]);
    benchmark::DoNotOptimize(requests);
    d = d + 1 == decoded.size() ? 0 : d + 1;
  }
  Report(state, fleet);
}

void BM_DecodeAndAccept(benchmark::State& state) {
  Fleet fleet;
  protocol::TelemetryDecoder decoder;
  pipeline::Telemetry t;
  size_t d = 0;
  for (auto _ : state) {
    if (decoder.Decode(fleet.bodies[d], &t).ok()) {
      auto requests = fleet.runner->Accept(fleet.ids[d], t);
      benchmark::DoNotOptimize(requests);
    }
    d = d + 1 == fleet.bodies.size() ? 0 : d + 1;
  }
  Report(state, fleet);
}

void BM_Interpret(benchmark::State& state) {
  Fleet fleet;
  core::InferResponse response;
  response.model_name = "m";
  response.outputs.push_back(
      {"probs",
       pipeline::ToTensor(core::DataType::kFp32, {1, 4}, std::vector<double>{0.7, 0.1, 0.15, 0.05}),
       {}});
  size_t d = 0;
  for (auto _ : state) {
    auto outcome = fleet.runner->Interpret(fleet.ids[d], response);
    benchmark::DoNotOptimize(outcome);
    d = d + 1 == fleet.ids.size() ? 0 : d + 1;
  }
  state.SetItemsProcessed(state.iterations());
}

// First, so that the heap the others free does not hide the process's growth.
BENCHMARK(BM_MemoryPerDevice)->Iterations(1)->Repetitions(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeTelemetry);
BENCHMARK(BM_Accept);
BENCHMARK(BM_DecodeAndAccept);
BENCHMARK(BM_Interpret);

}  // namespace
}  // namespace infergate

BENCHMARK_MAIN();
