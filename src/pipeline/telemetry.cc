#include "pipeline/telemetry.h"

namespace infergate::pipeline {

std::string DescribeValue(const Telemetry::Value& value) {
  if (std::holds_alternative<double>(value)) return "a number";
  if (const auto* a = std::get_if<std::vector<double>>(&value))
    return "an array of " + std::to_string(a->size()) + " numbers";
  return "a string";
}

}  // namespace infergate::pipeline
