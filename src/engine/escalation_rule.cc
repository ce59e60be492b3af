#include "engine/escalation_rule.h"

#include <algorithm>
#include <string>

#include "pipeline/tensor_values.h"

namespace infergate::engine {
namespace {

using When = core::EscalationConfig::When;

const core::InferOutput* ScoredOutput(const core::ModelConfig& config, const core::InferResponse& response) {
  if (response.outputs.empty()) return nullptr;
  std::string name = config.device ? config.device->result.output
                                   : (config.outputs.empty() ? "" : config.outputs.front().name);
  for (const auto& o : response.outputs) {
    if (o.name == name) return &o;
  }
  return &response.outputs.front();
}

std::string LabelOf(const core::ModelConfig& config, size_t index) {
  if (config.device && index < config.device->result.labels.size()) {
    return config.device->result.labels[index];
  }
  return std::to_string(index);
}

bool RowFires(const core::ModelConfig& config, const double* begin, const double* end) {
  const core::EscalationConfig& e = *config.escalate;
  const double* top = std::max_element(begin, end);
  if (e.when == When::kScoreBelow) return *top < e.score_below;
  std::string label = LabelOf(config, static_cast<size_t>(top - begin));
  return std::find(e.label_in.begin(), e.label_in.end(), label) != e.label_in.end();
}

}  // namespace

bool ShouldEscalate(const core::ModelConfig& config, const core::InferResponse& response) {
  if (config.escalate->when == When::kAlways) return true;
  const core::InferOutput* output = ScoredOutput(config, response);
  if (output == nullptr) return false;
  auto values = pipeline::ToDoubles(output->tensor, output->name);
  if (!values.ok() || values->empty()) return false;
  const auto& dims = output->tensor.shape();
  size_t rows = config.max_batch_size > 0 && !dims.empty() && dims[0] > 0 ? static_cast<size_t>(dims[0]) : 1;
  if (values->size() % rows != 0) return false;
  size_t per_row = values->size() / rows;
  if (per_row == 0) return false;
  for (size_t r = 0; r < rows; ++r) {
    const double* begin = values->data() + r * per_row;
    if (RowFires(config, begin, begin + per_row)) return true;
  }
  return false;
}

}  // namespace infergate::engine
