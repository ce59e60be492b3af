// Device telemetry JSON as the MQTT and HTTP frontends decode it
// (protocol::TelemetryDecoder), run through a model's device contract
// (pipeline::ContractRunner: device id, readings, windows, state), with the
// windows' responses interpreted and the results encoded.
//
// Input: byte 0 picks one of the contracts below (bits 0-1) and how far the
// clocks move before each message (1 + 7 * (byte 0 >> 2) seconds, so idle
// devices get evicted too); the rest is up to 16 telemetry messages
// separated by '\n', all from the same run (one device table).
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "config/model_config_yaml.h"
#include "fuzz/fuzz_input.h"
#include "pipeline/contract_runner.h"
#include "pipeline/tensor_values.h"
#include "protocol/telemetry_json.h"

namespace infergate::fuzz {
namespace {

// The contracts, from the model_config_yaml seed corpus: normalisation,
// missing policies, integer fields, labels and top-k (classifier); a count
// window with state and a small device table (stateful); a time window
// (time_window); array fields with id, timestamp and reset fields (arrays).
constexpr const char* kContracts[] = {"classifier.yaml", "stateful.yaml", "time_window.yaml", "arrays.yaml"};

std::vector<core::ModelConfig> LoadContracts() {
  std::vector<core::ModelConfig> out;
  for (const char* name : kContracts) {
    auto c = config::ParseModelConfigFile(std::string(INFERGATE_FUZZ_CORPUS_DIR "/model_config_yaml/") + name, "m");
    if (!c.ok()) {  // the fuzzer's own contracts must parse
      std::fprintf(stderr, "%s\n", c.status().ToString().c_str());
      __builtin_trap();
    }
    out.push_back(std::move(*c));
  }
  return out;
}

// A response to `request` with every output of the model, values made up
// from `seed` (so results vary with the messages).
std::unique_ptr<core::InferResponse> Respond(const core::ModelConfig& config,
                                             const core::InferRequest& request, double seed) {
  auto response = std::make_unique<core::InferResponse>();
  response->model_name = request.model_name;
  response->model_version = request.model_version;
  for (const auto& spec : config.outputs) {
    core::Shape shape;
    if (config.max_batch_size > 0) shape.push_back(1);
    int64_t n = 1;
    for (int64_t d : spec.dims) {
      shape.push_back(d < 0 ? 1 : d);
      n *= d < 0 ? 1 : d;
    }
    std::vector<double> values(static_cast<size_t>(n));
    for (size_t i = 0; i < values.size(); ++i) values[i] = seed * 0.37 + static_cast<double>(i) * 0.11;
    response->outputs.push_back({spec.name, pipeline::ToTensor(spec.dtype, shape, values), {}});
  }
  return response;
}

void Run(std::string_view in) {
  static const std::vector<core::ModelConfig> contracts = LoadContracts();
  const uint8_t selector = TakeByte(&in);
  const core::ModelConfig& config = contracts[selector % contracts.size()];
  const std::chrono::seconds step(1 + 7 * (selector >> 2));
  core::ManualClock clock;
  core::ManualWallClock wall{core::WallTime(std::chrono::seconds(1732540000))};
  auto runner = pipeline::ContractRunner::Create(config, 1, {&clock, nullptr, &wall});
  if (!runner.ok()) __builtin_trap();

  static protocol::TelemetryDecoder decoder;
  pipeline::Telemetry telemetry;
  double seed = 0;
  for (std::string_view message : Split(in, '\n', 16)) {
    clock.Advance(step);
    wall.Advance(step);
    if (!decoder.Decode(message, &telemetry).ok()) continue;
    (void)protocol::EncodeTelemetry(telemetry);
    auto id = (*runner)->DeviceId("route-device", telemetry);
    if (!id.ok()) continue;
    auto requests = (*runner)->Accept(*id, telemetry);
    if (!requests.ok()) continue;
    std::vector<pipeline::Window> queue = std::move(requests->run);
    for (size_t i = 0; i < queue.size() && i < 64; ++i) {
      auto response = Respond(config, *queue[i].request, seed += 1);
      auto outcome = (*runner)->Interpret(*id, *response);
      if (outcome.result) (void)protocol::EncodeResult(*outcome.result);
      if (outcome.next) queue.push_back(std::move(*outcome.next));
    }
    (void)(*runner)->WindowProgress(*id);
  }
  (void)(*runner)->EvictIdle();
}

}  // namespace
}  // namespace infergate::fuzz

INFERGATE_FUZZ_TARGET(infergate::fuzz::Run)
