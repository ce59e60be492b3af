// Broker addresses as given on the command line: mqtt://host[:port] (plain TCP,
// port 1883 by default) or mqtts://host[:port] (TLS, port 8883 by default).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace infergate::mqtt {

struct BrokerUrl {
  std::string host;
  int port = 1883;
  bool tls = false;

  std::string ToString() const;  // "mqtt://host:port"
};

core::StatusOr<BrokerUrl> ParseBrokerUrl(std::string_view url);

}  // namespace infergate::mqtt
