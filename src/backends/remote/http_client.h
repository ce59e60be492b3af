// The HTTP/REST RemoteClient (KServe v2 JSON: GET /v2/models/{m}[/versions/
// {v}], GET .../config, POST .../infer), on Boost.Beast, over plain TCP or
// TLS (https://, verified against the configured CA or the system's).
//
// Requests use Triton's binary tensor extension when the remote's server
// metadata (GET /v2, read at load) lists `binary_tensor_data` (infergate,
// Triton): input and output bytes after the JSON; else plain v2 JSON
// ("data" arrays, which every v2 server reads). Replies may be either. Connections are
// kept alive in an HttpPool per remote, shared by every model and version
// naming it: a call takes an idle connection or opens one (at most
// kMaxConnections per remote; a call that finds none free waits for one
// within its timeout) and gives it back when the exchange completed cleanly.
// Each exchange runs on the calling thread with the call's deadline; a
// connection that timed out or failed is closed, never reused.
//
// Thread-safety: HttpPools, the pools and the clients may be used from any
// thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "backends/remote/remote_client.h"

namespace infergate::remote {

class HttpPool;

class HttpPools {
 public:
  static constexpr int kMaxConnections = 64;
  // The pool for `target`'s server and TLS settings, made on first use and
  // shared while any client holds it.
  std::shared_ptr<HttpPool> Get(const RemoteTarget& target);

 private:
  std::mutex mu_;
  std::map<std::string, std::weak_ptr<HttpPool>> pools_;  // GUARDED_BY(mu_)
};

core::StatusOr<std::unique_ptr<RemoteClient>> MakeHttpClient(RemoteTarget target, std::shared_ptr<HttpPool> pool);

}  // namespace infergate::remote
