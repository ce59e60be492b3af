// Meaning out: a model's output tensors -> a transport-neutral Result
// (label, score, top-k, alert), and the `on:` decision whether anyone is told.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/device_contract.h"
#include "core/infer.h"
#include "core/status.h"
#include "pipeline/plan.h"

namespace infergate::pipeline {

struct ScoredLabel {
  std::string label;
  double score = 0;
};

// What a device or a dashboard is told. A codec writes each value under the
// name in `fields` and leaves out those whose name is empty.
struct Result {
  std::string device_id;
  std::string model_name;
  int64_t model_version = 0;
  std::string label;
  double score = 0;
  bool alert = false;
  std::vector<ScoredLabel> top_k;  // kClasses: the best `top_k` classes, best first
  // The reading that completed the window (ContractRunner's ReadingStamp):
  // its sequence number and its time in seconds.
  int64_t seq = 0;
  double ts = 0;
  // For a model with `escalate:` (the response's "tier" and "escalation"
  // parameters): "edge" or "cloud", and "timeout" or "unavailable" when the
  // edge answered because escalating failed. Empty otherwise (not encoded).
  std::string tier;
  std::string escalation;
  core::ReplyFieldNames fields;
};

// Reads plan.contract.result.output from `response` (which must be OK).
// INTERNAL when the output is missing or has the wrong number of values.
core::StatusOr<Result> Postprocess(const ContractPlan& plan, const core::InferResponse& response);

// The `on:` rule: always; change (the label differs from `previous_label`,
// null before the device's first result); threshold (the result is an alert).
bool ShouldSend(core::DeviceResult::On on, const Result& result, const std::string* previous_label);

}  // namespace infergate::pipeline
