#include "frontends/mqtt/topic_pattern.h"

#include <algorithm>

namespace infergate::mqtt {
namespace {

std::vector<std::string_view> SplitLevels(std::string_view topic) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t slash = topic.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(topic.substr(start));
      return out;
    }
    out.push_back(topic.substr(start, slash - start));
    start = slash + 1;
  }
}

core::Status PatternError(std::string_view pattern, std::string_view why) {
  return core::InvalidArgument("topic filter '" + std::string(pattern) + "': " + std::string(why));
}

}  // namespace

const std::string* FindCapture(const Captures& captures, std::string_view name) {
  for (const auto& [k, v] : captures) {
    if (k == name) return &v;
  }
  return nullptr;
}

core::StatusOr<TopicPattern> TopicPattern::Parse(std::string_view pattern) {
  if (pattern.empty()) return PatternError(pattern, "empty");
  TopicPattern out;
  out.pattern_ = std::string(pattern);
  auto levels = SplitLevels(pattern);
  std::vector<std::string> names;
  for (size_t i = 0; i < levels.size(); ++i) {
    std::string_view level = levels[i];
    Level l{Level::Kind::kLiteral, std::string(level)};
    if (!level.empty() && (level[0] == '+' || level[0] == '#')) {
      l.kind = level[0] == '+' ? Level::Kind::kPlus : Level::Kind::kHash;
      l.text = std::string(level.substr(1));
      if (l.kind == Level::Kind::kHash && i + 1 != levels.size()) {
        return PatternError(pattern, "'#' must be the last level");
      }
      if (!l.text.empty()) {
        if (std::find(names.begin(), names.end(), l.text) != names.end()) {
          return PatternError(pattern, "capture '" + l.text + "' is used twice");
        }
        names.push_back(l.text);
      }
    }
    if (l.text.find_first_of("+#") != std::string::npos) {
      return PatternError(pattern, "a wildcard must start a level ('" + std::string(level) + "')");
    }
    if (l.kind != Level::Kind::kLiteral && l.text.find_first_of("{}") != std::string::npos) {
      return PatternError(pattern, "capture names may not contain braces");
    }
    out.filter_ += (i ? "/" : "");
    out.filter_ += l.kind == Level::Kind::kPlus ? "+" : l.kind == Level::Kind::kHash ? "#" : l.text;
    out.levels_.push_back(std::move(l));
  }
  return out;
}

std::vector<std::string> TopicPattern::capture_names() const {
  std::vector<std::string> out;
  for (const auto& l : levels_) {
    if (l.kind != Level::Kind::kLiteral && !l.text.empty()) out.push_back(l.text);
  }
  return out;
}

std::optional<Captures> TopicPattern::Match(std::string_view topic) const {
  if (!topic.empty() && topic[0] == '$' && !levels_.empty() &&
      levels_[0].kind != Level::Kind::kLiteral) {
    return std::nullopt;
  }
  auto parts = SplitLevels(topic);
  Captures captures;
  for (size_t i = 0; i < levels_.size(); ++i) {
    const Level& l = levels_[i];
    if (l.kind == Level::Kind::kHash) {
      // '#' also matches the parent level itself ("a/#" matches "a").
      std::string rest;
      for (size_t j = i; j < parts.size(); ++j) rest += (j > i ? "/" : "") + std::string(parts[j]);
      if (!l.text.empty()) captures.emplace_back(l.text, std::move(rest));
      return captures;
    }
    if (i >= parts.size()) return std::nullopt;
    if (l.kind == Level::Kind::kLiteral) {
      if (parts[i] != l.text) return std::nullopt;
    } else if (!l.text.empty()) {
      captures.emplace_back(l.text, std::string(parts[i]));
    }
  }
  if (parts.size() != levels_.size()) return std::nullopt;
  return captures;
}

core::StatusOr<TopicTemplate> TopicTemplate::Parse(std::string_view text,
                                                   const std::vector<std::string>& known) {
  auto error = [&](std::string_view why) {
    return core::InvalidArgument("reply topic '" + std::string(text) + "': " + std::string(why));
  };
  if (text.empty()) return error("empty");
  if (text.find_first_of("+#") != std::string_view::npos) return error("wildcards are not allowed");
  TopicTemplate out;
  out.text_ = std::string(text);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find('{', pos);
    size_t close_stray = text.find('}', pos);
    if (close_stray < open) return error("'}' without '{'");
    if (open == std::string_view::npos) {
      out.parts_.push_back({false, std::string(text.substr(pos))});
      break;
    }
    if (open > pos) out.parts_.push_back({false, std::string(text.substr(pos, open - pos))});
    size_t close = text.find('}', open);
    if (close == std::string_view::npos) return error("'{' without '}'");
    std::string name(text.substr(open + 1, close - open - 1));
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      return error("unknown name {" + name + "}; the route offers: " + list);
    }
    out.parts_.push_back({true, std::move(name)});
    pos = close + 1;
  }
  return out;
}

std::string TopicTemplate::Expand(const Captures& values) const {
  std::string out;
  for (const auto& p : parts_) {
    if (!p.is_name) {
      out += p.text;
    } else if (const std::string* v = FindCapture(values, p.text)) {
      out += *v;
    }
  }
  return out;
}

}  // namespace infergate::mqtt
