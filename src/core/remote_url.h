// The URL of a remote KServe v2 server (a model's `remote.url`), parsed.
//
//   grpc://host:port     gRPC (plain, or TLS when a CA file is configured)
//   grpcs://host:port    gRPC over TLS
//   http://host[:port][/prefix]   REST (port 80 by default)
//   https://host[:port][/prefix]  REST over TLS (port 443 by default)
//
// The host may be a name, an IPv4 address or a bracketed IPv6 address.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace infergate::core {

struct RemoteUrl {
  enum class Protocol { kGrpc, kHttp };
  Protocol protocol = Protocol::kGrpc;
  bool tls = false;     // grpcs:// and https://
  std::string host;     // without brackets
  int port = 0;
  std::string prefix;   // HTTP only: a path the /v2 routes follow ("" or "/serving"), no trailing '/'

  // "host:port" ("[::1]:8001" for IPv6), as gRPC and an HTTP Host header want it.
  std::string Authority() const;
};

// INVALID_ARGUMENT naming what is wrong ("remote.url 'x': ...").
StatusOr<RemoteUrl> ParseRemoteUrl(std::string_view url);

}  // namespace infergate::core
