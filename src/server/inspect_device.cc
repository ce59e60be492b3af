// `infergate inspect` for a model's device contract: example telemetry in,
// tensors, reply out.
#include <algorithm>

#include "pipeline/contract_runner.h"
#include "pipeline/example.h"
#include "protocol/telemetry_json.h"
#include "server/inspect.h"

namespace infergate::server {
namespace {

// Readings fed at most before giving up on a window (a time window of more
// slots than this is shown without its tensors).
constexpr int64_t kMaxExampleReadings = 1 << 16;

void RunExample(const pipeline::ContractRunner& runner, core::ModelInstance& instance,
                const pipeline::Window& window, DeviceView* view) {
  const core::InferRequest& request = *window.request;
  std::vector<std::string> names;
  for (const auto& o : request.outputs) names.push_back(o.name);
  core::InferResponse response;
  response.model_name = request.model_name;
  response.model_version = request.model_version;
  if (auto st = instance.Run(request.inputs, names, &response.outputs); !st.ok()) {
    view->run_error = st.message();
    return;
  }
  auto result = pipeline::Postprocess(runner.plan(), response);
  if (!result.ok()) {
    view->run_error = result.status().message();
    return;
  }
  result->device_id = "device-1";
  result->seq = window.stamp.seq;
  result->ts = window.stamp.ts;
  view->reply_json = protocol::EncodeResult(*result);
  view->reply_sent = pipeline::ShouldSend(runner.plan().contract.result.on, *result, nullptr);
}

}  // namespace

DeviceView InspectDevice(const core::ModelConfig& config, int64_t version,
                         core::ModelInstance* instance) {
  DeviceView view;
  core::ManualClock clock;
  auto runner = pipeline::ContractRunner::Create(config, version, {&clock, nullptr});
  if (!runner.ok()) {
    view.error = runner.status().message();
    return view;
  }
  const auto& contract = (*runner)->plan().contract;
  const double period =
      contract.window.kind == core::DeviceWindow::Kind::kTime ? contract.window.period_secs : 1.0;
  const int64_t limit = std::min<int64_t>(kMaxExampleReadings, (*runner)->plan().rows + 1);
  view.telemetry_json =
      protocol::EncodeTelemetry(pipeline::ExampleReading(contract, "device-1", 0));
  for (int64_t i = 0; i < limit; ++i) {
    auto accepted =
        (*runner)->Accept("device-1", pipeline::ExampleReading(contract, "device-1", i * period));
    if (!accepted.ok()) {
      view.error = "the example reading is refused: " + accepted.status().message();
      return view;
    }
    if (accepted->run.empty()) continue;
    view.messages = i + 1;
    view.inputs = accepted->run.front().request->inputs;
    for (const auto& k : contract.constants) view.constants.push_back(k.input);
    if (instance) RunExample(**runner, *instance, accepted->run.front(), &view);
    return view;
  }
  return view;
}

}  // namespace infergate::server
