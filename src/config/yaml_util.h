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
// A key that appears twice in one mapping is refused too, naming the line and
// the key (yaml-cpp would keep both and lookups would see only one).
core::StatusOr<YAML::Node> LoadYaml(std::string_view text, std::string_view origin);

class YamlReader;

// Parses the YAML document `text` and hands its root to `parse_root` (a
// function of (const YamlReader&, const YAML::Node&, Config*) returning a
// Status). An empty document leaves `*out` as it is (all defaults). A
// yaml-cpp exception thrown while reading values is caught here, the one
// adapter, and named by origin and line.
template <typename Config, typename ParseRoot>
core::Status ParseYamlDocument(std::string_view text, std::string_view origin, Config* out,
                               ParseRoot parse_root);

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

template <typename Config, typename ParseRoot>
core::Status ParseYamlDocument(std::string_view text, std::string_view origin, Config* out,
                               ParseRoot parse_root) {
  YamlReader reader(origin);
  ASSIGN_OR_RETURN(YAML::Node root, LoadYaml(text, origin));
  if (root.IsNull()) return core::Status::Ok();
  try {
    return parse_root(reader, root, out);
  } catch (const YAML::Exception& e) {
    return core::InvalidArgument(std::string(origin) + ": line " + std::to_string(e.mark.line + 1) + ": " +
                                 e.msg);
  }
}

}  // namespace infergate::config
