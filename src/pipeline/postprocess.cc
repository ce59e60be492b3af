#include "pipeline/postprocess.h"

#include <algorithm>
#include <numeric>
#include <utility>
#include <variant>

#include "pipeline/tensor_values.h"

namespace infergate::pipeline {
namespace {

using core::DeviceResult;

void Score(const DeviceResult& spec, double score, Result* out) {
  out->score = score;
  if (!spec.threshold) {
    out->label = spec.normal_label;
    return;
  }
  out->alert = spec.below ? score < *spec.threshold : score > *spec.threshold;
  out->label = out->alert ? spec.alert_label : spec.normal_label;
}

void Classes(const DeviceResult& spec, const std::vector<double>& scores, Result* out) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  const size_t k = std::min<size_t>(static_cast<size_t>(spec.top_k), order.size());
  // Highest score first; the lower index wins a tie (as argmax does).
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](size_t a, size_t b) {
    return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
  });
  auto name = [&](size_t i) { return i < spec.labels.size() ? spec.labels[i] : std::to_string(i); };
  for (size_t i = 0; i < k; ++i) out->top_k.push_back({name(order[i]), scores[order[i]]});
  out->label = name(order[0]);
  out->score = scores[order[0]];
  const bool alert_label = std::find(spec.alert_labels.begin(), spec.alert_labels.end(),
                                     out->label) != spec.alert_labels.end();
  out->alert = alert_label && (!spec.threshold || out->score >= *spec.threshold);
}

}  // namespace

namespace {

void CopyTier(const core::Parameters& parameters, Result* out) {
  for (auto [key, field] : {std::pair{"tier", &out->tier}, std::pair{"escalation", &out->escalation}}) {
    auto it = parameters.find(key);
    if (it != parameters.end() && std::holds_alternative<std::string>(it->second)) {
      *field = std::get<std::string>(it->second);
    }
  }
}

}  // namespace

core::StatusOr<Result> Postprocess(const ContractPlan& plan, const core::InferResponse& response) {
  const DeviceResult& spec = plan.contract.result;
  const core::InferOutput* output = nullptr;
  for (const auto& o : response.outputs) {
    if (o.name == spec.output) output = &o;
  }
  if (!output) return core::Internal("the response has no output '" + spec.output + "'");
  ASSIGN_OR_RETURN(auto values, ToDoubles(output->tensor, "output '" + spec.output + "'"));
  Result out;
  out.model_name = response.model_name;
  out.model_version = response.model_version;
  out.fields = spec.fields;
  CopyTier(response.parameters, &out);
  if (values.empty()) return core::Internal("output '" + spec.output + "' is empty");
  if (spec.kind == DeviceResult::Kind::kScore) {
    if (values.size() != 1) {
      return core::Internal("output '" + spec.output + "' holds " + std::to_string(values.size()) +
                            " values; kind score reads one");
    }
    Score(spec, values[0], &out);
  } else {
    if (!spec.labels.empty() && values.size() != spec.labels.size()) {
      return core::Internal("output '" + spec.output + "' holds " + std::to_string(values.size()) +
                            " scores for " + std::to_string(spec.labels.size()) + " labels");
    }
    Classes(spec, values, &out);
  }
  return out;
}

bool ShouldSend(DeviceResult::On on, const Result& result, const std::string* previous_label) {
  switch (on) {
    case DeviceResult::On::kAlways:
      return true;
    case DeviceResult::On::kChange:
      return previous_label == nullptr || *previous_label != result.label;
    case DeviceResult::On::kThreshold:
      return result.alert;
  }
  return true;
}

}  // namespace infergate::pipeline
