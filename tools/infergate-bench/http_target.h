// The http target: KServe v2 infer requests (JSON or the binary tensor
// extension) over HTTP/1.1 keep-alive connections, all driven by one
// Boost.Asio io_context on one thread (not a thread per connection).
//
// With security.tls() every connection is HTTPS (the server verified
// against the CA, the host name checked); with security.token every request
// carries the bearer token.
//
// Requests wait in the client's queue until a connection is free, so with
// the open loop the time spent waiting counts as latency. A connection the
// server closes (Connection: close, errors) is reopened.
//
// Threading: Start/Stop from the driver thread; Submit from any thread;
// outcomes are delivered on the io_context thread. Boost exceptions stop here.
#pragma once

#include <memory>
#include <string>

#include "client_security.h"
#include "payload.h"
#include "target.h"

namespace infergate::bench {

struct HttpOptions {
  std::string host = "127.0.0.1";
  std::string port = "8000";
  std::string path;       // e.g. /v2/models/mlp16/infer
  int connections = 1;
  Nanos timeout = std::chrono::seconds(10);  // connect, and each request/reply
  ClientSecurity security;
};

// Splits "http://HOST:PORT[/...]" (or https://) into host and port; the path
// is ignored.
core::Status ParseHttpUrl(const std::string& url, std::string* host, std::string* port);

// `payloads` must outlive the target.
std::unique_ptr<Target> MakeHttpTarget(const HttpOptions& options, const PayloadSet* payloads);

}  // namespace infergate::bench
