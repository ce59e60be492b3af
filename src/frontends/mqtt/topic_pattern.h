// Topic filters with named captures, and reply-topic templates.
//
//   filter   "plant/+device/vibration"   subscribes to plant/+/vibration and
//                                         captures the second level as `device`
//            "site/#rest"                 `#` may capture the remaining levels
//   template "plant/{device}/anomaly"     expands captures (and {model})
//
// Thread-safety: immutable after Parse; Match/Expand may run on any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace infergate::mqtt {

// Capture name -> value, in the order the filter declares them.
using Captures = std::vector<std::pair<std::string, std::string>>;

// Returns the value of `name` in `captures`, or null.
const std::string* FindCapture(const Captures& captures, std::string_view name);

class TopicPattern {
 public:
  // Errors name what is wrong (a wildcard inside a level, '#' not last, a
  // capture name used twice).
  static core::StatusOr<TopicPattern> Parse(std::string_view pattern);

  // The plain MQTT filter to subscribe to ("plant/+/vibration").
  const std::string& filter() const { return filter_; }
  const std::string& pattern() const { return pattern_; }
  // Names of the captures, in order.
  std::vector<std::string> capture_names() const;

  // The captures when `topic` matches the filter, else nullopt. Topics
  // starting with '$' never match a filter starting with a wildcard (MQTT rule).
  std::optional<Captures> Match(std::string_view topic) const;

 private:
  struct Level {
    enum class Kind { kLiteral, kPlus, kHash } kind;
    std::string text;  // literal text or capture name ("" = not captured)
  };
  std::string pattern_;
  std::string filter_;
  std::vector<Level> levels_;
};

class TopicTemplate {
 public:
  // `known` lists the names a template may use; others are an error.
  static core::StatusOr<TopicTemplate> Parse(std::string_view text,
                                             const std::vector<std::string>& known);

  // Substitutes every {name}; a name missing from `values` expands to "".
  std::string Expand(const Captures& values) const;
  const std::string& text() const { return text_; }

 private:
  struct Part {
    bool is_name;
    std::string text;
  };
  std::string text_;
  std::vector<Part> parts_;
};

}  // namespace infergate::mqtt
