#include "core/model_name.h"

#include <cstdio>

namespace infergate::core {
namespace {

constexpr size_t kShownBytes = 64;

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

std::string Hex(unsigned char c) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "\\x%02x", c);
  return buf;
}

}  // namespace

std::string EscapeModelName(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size() && i < kShownBytes; ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (IsControl(c) || c == '\\') {
      out += Hex(c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (name.size() > kShownBytes) out += "...";
  return out;
}

Status ValidateModelName(std::string_view name) {
  auto invalid = [&](const std::string& why) {
    return InvalidArgument("invalid model name '" + EscapeModelName(name) + "': " + why +
                           " (a model name is a folder name of the model repository)");
  };
  if (name.empty()) return InvalidArgument("the model name is empty");
  if (name.size() > kMaxModelNameBytes) {
    return invalid("it is " + std::to_string(name.size()) + " bytes long, more than " +
                   std::to_string(kMaxModelNameBytes));
  }
  if (name == "." || name == "..") return invalid("'.' and '..' are not model folders");
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsControl(c)) return invalid("it contains the control character " + Hex(c));
    if (c == '/') return invalid("it contains '/'");
  }
  return Status::Ok();
}

}  // namespace infergate::core
