#include "config/yaml_util.h"

#include <algorithm>
#include <charconv>

#include <yaml-cpp/depthguard.h>

namespace infergate::config {

using core::StatusOr;

namespace {

std::string At(std::string_view origin, const YAML::Mark& mark) {
  std::string m(origin);
  if (mark.line >= 0) m += ": line " + std::to_string(mark.line + 1);
  return m;
}

}  // namespace

StatusOr<YAML::Node> LoadYaml(std::string_view text, std::string_view origin) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own message for this one is unhelpful ("bad file").
    return core::InvalidArgument(At(origin, e.mark) +
                                 ": nested deeper than the YAML parser allows (about 500 levels)");
  } catch (const YAML::Exception& e) {
    return core::InvalidArgument(At(origin, e.mark) + ": " + e.msg);
  }
}

core::Status YamlReader::Error(const YAML::Node& node, std::string_view key,
                               std::string_view what) const {
  std::string m = origin_;
  if (node.Mark().line >= 0) m += ": line " + std::to_string(node.Mark().line + 1);
  if (!key.empty()) m += ": key '" + std::string(key) + "'";
  m += ": ";
  m += what;
  return core::InvalidArgument(std::move(m));
}

core::Status YamlReader::CheckKeys(const YAML::Node& node, std::string_view where,
                                   std::initializer_list<std::string_view> known) const {
  if (!node.IsMap()) return Error(node, where, "expected a mapping");
  for (const auto& kv : node) {
    std::string k = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), k) != known.end()) continue;
    std::string list;
    for (auto n : known) list += (list.empty() ? "" : ", ") + std::string(n);
    return Error(kv.first, k, "unknown key in " + std::string(where) + "; known keys: " + list);
  }
  return core::Status::Ok();
}

StatusOr<std::string> YamlReader::String(const YAML::Node& node, std::string_view key) const {
  if (!node.IsScalar()) return Error(node, key, "expected a string");
  return node.Scalar();
}

StatusOr<int64_t> YamlReader::Int(const YAML::Node& node, std::string_view key, int64_t min,
                                  int64_t max) const {
  if (!node.IsScalar()) return Error(node, key, "expected an integer");
  const std::string& s = node.Scalar();
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return Error(node, key, "expected an integer, got '" + s + "'");
  }
  if (v < min || v > max) {
    return Error(node, key, "expected an integer from " + std::to_string(min) + " to " +
                                std::to_string(max) + ", got " + s);
  }
  return v;
}

StatusOr<double> YamlReader::Double(const YAML::Node& node, std::string_view key) const {
  if (!node.IsScalar()) return Error(node, key, "expected a number");
  try {
    return node.as<double>();
  } catch (const YAML::Exception&) {
    return Error(node, key, "expected a number, got '" + node.Scalar() + "'");
  }
}

StatusOr<bool> YamlReader::Bool(const YAML::Node& node, std::string_view key) const {
  if (!node.IsScalar()) return Error(node, key, "expected true or false");
  try {
    return node.as<bool>();
  } catch (const YAML::Exception&) {
    return Error(node, key, "expected true or false, got '" + node.Scalar() + "'");
  }
}

StatusOr<std::vector<int64_t>> YamlReader::IntList(const YAML::Node& node, std::string_view key,
                                                   int64_t min, int64_t max) const {
  if (!node.IsSequence()) return Error(node, key, "expected a list of integers");
  std::vector<int64_t> out;
  for (const auto& item : node) {
    ASSIGN_OR_RETURN(int64_t v, Int(item, key, min, max));
    out.push_back(v);
  }
  return out;
}

}  // namespace infergate::config
