#include "config/yaml_util.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <sstream>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

namespace infergate::config {

using core::StatusOr;

namespace {

std::string At(std::string_view origin, const YAML::Mark& mark) {
  std::string m(origin);
  if (mark.line >= 0) m += ": line " + std::to_string(mark.line + 1);
  return m;
}

// Finds the first key that appears twice in one mapping, from the parser's
// events: aliases arrive as one event (never expanded), so the work is linear
// in the text, and the stack is as deep as the nesting the parser allows.
class DuplicateKeyFinder : public YAML::EventHandler {
 public:
  // "line N: key 'k': ..." for the first duplicate; empty when there is none.
  const std::string& error() const { return error_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Item(mark, nullptr); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Item(mark, nullptr); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string& value) override {
    Item(mark, &value);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Item(mark, nullptr);
    frames_.push_back({false, true, {}});
  }
  void OnSequenceEnd() override { frames_.pop_back(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Item(mark, nullptr);
    frames_.push_back({true, true, {}});
  }
  void OnMapEnd() override { frames_.pop_back(); }

 private:
  struct Frame {
    bool is_map;
    bool expect_key;
    std::map<std::string, int> key_lines;  // scalar key -> line (0-based)
  };

  // A node begins in the current container: in a mapping, keys and values
  // alternate; scalar keys are remembered.
  void Item(const YAML::Mark& mark, const std::string* scalar) {
    if (frames_.empty() || !frames_.back().is_map) return;
    Frame& f = frames_.back();
    if (f.expect_key && scalar && error_.empty()) {
      auto [it, inserted] = f.key_lines.emplace(*scalar, mark.line);
      if (!inserted) {
        error_ = "line " + std::to_string(mark.line + 1) + ": key '" + *scalar +
                 "': appears twice in the same mapping (first on line " +
                 std::to_string(it->second + 1) + ")";
      }
    }
    f.expect_key = !f.expect_key;
  }

  std::vector<Frame> frames_;
  std::string error_;
};

}  // namespace

StatusOr<YAML::Node> LoadYaml(std::string_view text, std::string_view origin) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    // The text parsed, so parsing it again for its events cannot fail.
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    DuplicateKeyFinder finder;
    parser.HandleNextDocument(finder);
    if (!finder.error().empty()) {
      return core::InvalidArgument(std::string(origin) + ": " + finder.error());
    }
    return root;
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
