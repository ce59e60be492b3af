#include "frontends/mqtt/broker_url.h"

#include <charconv>

namespace infergate::mqtt {

std::string BrokerUrl::ToString() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return std::string(tls ? "mqtts://" : "mqtt://") + h + ":" + std::to_string(port);
}

core::StatusOr<BrokerUrl> ParseBrokerUrl(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return core::InvalidArgument("broker '" + std::string(url) + "': " + std::string(why) +
                                 " (expected mqtt://host:port or mqtts://host:port)");
  };
  BrokerUrl out;
  std::string_view rest = url;
  if (rest.starts_with("mqtt://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("mqtts://")) {
    rest.remove_prefix(8);
    out.tls = true;
    out.port = 8883;
  } else {
    return bad("unknown scheme");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string_view port;
  if (rest.starts_with("[")) {  // [ipv6]:port
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("unterminated '['");
    out.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("expected ':' after ']'");
      port = rest.substr(1);
    }
  } else {
    size_t colon = rest.rfind(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (out.host.empty()) return bad("no host");
  if (out.host.find_first_of("/@?") != std::string::npos) return bad("paths, user info and queries are not supported");
  if (!port.empty()) {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) {
      return bad("port must be 1..65535");
    }
    out.port = p;
  }
  return out;
}

}  // namespace infergate::mqtt
