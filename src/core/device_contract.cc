#include "core/device_contract.h"

#include <cmath>

namespace infergate::core {

int64_t DeviceWindow::rows() const {
  switch (kind) {
    case Kind::kNone:
      return 1;
    case Kind::kCount:
      return count;
    case Kind::kTime:
      return period_secs > 0 ? static_cast<int64_t>(std::llround(length_secs / period_secs)) : 0;
  }
  return 1;
}

std::string_view MissingPolicyName(MissingPolicy policy) {
  switch (policy) {
    case MissingPolicy::kReject:
      return "reject";
    case MissingPolicy::kDefault:
      return "default";
    case MissingPolicy::kLast:
      return "last";
  }
  return "?";
}

std::string_view WindowKindName(DeviceWindow::Kind kind) {
  switch (kind) {
    case DeviceWindow::Kind::kNone:
      return "none";
    case DeviceWindow::Kind::kCount:
      return "count";
    case DeviceWindow::Kind::kTime:
      return "time";
  }
  return "?";
}

std::string_view ResultOnName(DeviceResult::On on) {
  switch (on) {
    case DeviceResult::On::kAlways:
      return "always";
    case DeviceResult::On::kChange:
      return "change";
    case DeviceResult::On::kThreshold:
      return "threshold";
  }
  return "?";
}

}  // namespace infergate::core
