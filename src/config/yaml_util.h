// Small helpers for reading typed values out of yaml-cpp nodes with errors
// that name the origin, line and key. Used by every YAML adapter in src/config.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace infergate::config {

// Parses `text` into a node tree. INVALID_ARGUMENT naming `origin` and the
// line for text that is not YAML, and for nesting deeper than yaml-cpp
// allows (its parser is recursive and stops at about 500 levels with a
// DeepRecursion exception, caught here like every other yaml-cpp exception).
core::StatusOr<YAML::Node> LoadYaml(std::string_view text, std::string_view origin);

class YamlReader {
 public:
  explicit YamlReader(std::string_view origin) : origin_(origin) {}

  // "<origin>: line N: key 'k': <what>"
  core::Status Error(const YAML::Node& node, std::string_view key, std::string_view what) const;

  // Fails on keys of the map `node` that are not in `known`, naming them and the known ones.
  core::Status CheckKeys(const YAML::Node& node, std::string_view where,
                         std::initializer_list<std::string_view> known) const;

  core::StatusOr<std::string> String(const YAML::Node& node, std::string_view key) const;
  core::StatusOr<int64_t> Int(const YAML::Node& node, std::string_view key, int64_t min,
                              int64_t max) const;
  core::StatusOr<double> Double(const YAML::Node& node, std::string_view key) const;
  core::StatusOr<bool> Bool(const YAML::Node& node, std::string_view key) const;
  core::StatusOr<std::vector<int64_t>> IntList(const YAML::Node& node, std::string_view key,
                                               int64_t min, int64_t max) const;

 private:
  std::string origin_;
};

}  // namespace infergate::config
