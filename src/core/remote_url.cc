#include "core/remote_url.h"

#include <charconv>

namespace infergate::core {
namespace {

Status UrlError(std::string_view url, std::string_view what) {
  return InvalidArgument("remote.url '" + std::string(url) + "': " + std::string(what));
}

struct Scheme {
  std::string_view prefix;
  RemoteUrl::Protocol protocol;
  bool tls;
  int default_port;  // 0: the port is required
};

constexpr Scheme kSchemes[] = {
    {"grpc://", RemoteUrl::Protocol::kGrpc, false, 0},
    {"grpcs://", RemoteUrl::Protocol::kGrpc, true, 0},
    {"http://", RemoteUrl::Protocol::kHttp, false, 80},
    {"https://", RemoteUrl::Protocol::kHttp, true, 443},
};

}  // namespace

std::string RemoteUrl::Authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

StatusOr<RemoteUrl> ParseRemoteUrl(std::string_view url) {
  const Scheme* scheme = nullptr;
  for (const Scheme& s : kSchemes) {
    if (url.substr(0, s.prefix.size()) == s.prefix) scheme = &s;
  }
  if (!scheme) return UrlError(url, "expected grpc://, grpcs://, http:// or https://");
  RemoteUrl out;
  out.protocol = scheme->protocol;
  out.tls = scheme->tls;
  std::string_view rest = url.substr(scheme->prefix.size());
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::string_view path = rest.substr(authority.size());
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (!path.empty() && out.protocol == RemoteUrl::Protocol::kGrpc) return UrlError(url, "a gRPC URL has no path");
  if (path.find_first_of("?#") != std::string_view::npos) return UrlError(url, "no query or fragment allowed");
  out.prefix = std::string(path);
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return UrlError(url, "unclosed '[' in the host");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return UrlError(url, "expected ':port' after ']'");
    if (!after.empty()) port = after.substr(1);
  } else {
    size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    if (out.host.find(':') != std::string::npos) return UrlError(url, "write an IPv6 host in brackets");
  }
  if (out.host.empty()) return UrlError(url, "no host");
  if (out.host.find('@') != std::string::npos) return UrlError(url, "no user info allowed (use token_file)");
  if (port.empty()) {
    if (scheme->default_port == 0) return UrlError(url, "a gRPC URL needs a port (grpc://host:8001)");
    out.port = scheme->default_port;
    return out;
  }
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
  if (ec != std::errc() || end != port.data() + port.size() || out.port < 1 || out.port > 65535) {
    return UrlError(url, "the port must be 1..65535");
  }
  return out;
}

}  // namespace infergate::core
