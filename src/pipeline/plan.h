// ContractPlan: a model's device contract resolved against its effective
// config: which model input each field fills, at which offset of a reading's
// row, the tensor shapes the model sees, the state tensors and the output
// the result is read from. Built once per model version; CheckContract is
// what the repository runs when a version loads, so a contract that does not
// fit its model leaves the version UNAVAILABLE with a reason naming the key.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/datatype.h"
#include "core/device_contract.h"
#include "core/model_config.h"
#include "core/shape.h"
#include "core/status.h"

namespace infergate::pipeline {

struct InputPlan {
  std::string name;  // model input
  core::DataType dtype = core::DataType::kInvalid;
  core::Shape shape;   // of one request, with the batch dimension of 1 when the model batches
  int64_t offset = 0;  // first value of this input in a reading's row
  int64_t width = 0;   // values per reading
};

struct StatePlan {
  std::string input;
  std::string output;
  core::DataType dtype = core::DataType::kInvalid;
  core::Shape shape;     // of one request, as InputPlan::shape
  int64_t elements = 0;  // per device
  double initial = 0;
};

// A model input fed the same values with every window (device.constants).
struct ConstantPlan {
  std::string input;
  core::DataType dtype = core::DataType::kInvalid;
  core::Shape shape;  // of one request, as InputPlan::shape
  std::vector<double> values;
};

struct ContractPlan {
  std::string model_name;
  int64_t model_version = 0;      // requests name this version
  core::DeviceContract contract;  // result.output and kind filled in
  std::vector<InputPlan> inputs;
  int64_t row_width = 0;  // values per reading, all inputs together
  int64_t rows = 1;       // readings per inference
  std::vector<StatePlan> state;
  std::vector<ConstantPlan> constants;
  core::DataType result_dtype = core::DataType::kInvalid;
  int64_t result_elements = -1;  // per request; -1 when the model leaves it open
};

// Resolves config.device against config (completed from the model file).
// Errors (INVALID_ARGUMENT) name the key, e.g. "device.inputs.accel: a
// window of 4 readings x 1 value gives 4 values, but input 'accel' takes
// [64] (64 values)". Precondition: config.device is set.
core::StatusOr<ContractPlan> PlanContract(const core::ModelConfig& config, int64_t version);

// OK when config has no device section or its contract fits the model.
core::Status CheckContract(const core::ModelConfig& config);

// True for the element types a contract can fill from numbers.
bool IsNumeric(core::DataType type);

}  // namespace infergate::pipeline
