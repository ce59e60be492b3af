#include "backends/remote/remote_backend.h"

#include <fstream>
#include <sstream>

#include "backends/remote/grpc_client.h"
#include "backends/remote/http_client.h"
#include "backends/remote/remote_instance.h"
#include "backends/remote/remote_status.h"
#include "core/model_config.h"

namespace infergate::remote {
namespace {

using core::Status;
using core::StatusOr;

constexpr size_t kMaxFileBytes = 1 << 20;

// A CA file; UNAVAILABLE when it cannot be read (it may appear
// before the next poll).
StatusOr<std::string> ReadSmallFile(const std::string& path, const char* key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::Unavailable(std::string(key) + " '" + path + "' cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > kMaxFileBytes) return core::Unavailable(std::string(key) + " '" + path + "' is larger than 1 MiB");
  return text.str();
}

StatusOr<RemoteTarget> MakeTarget(const core::RemoteModelConfig& c) {
  RemoteTarget t;
  t.url_text = c.url;
  ASSIGN_OR_RETURN(t.url, core::ParseRemoteUrl(c.url));
  t.model = c.model;
  t.version = c.version;
  t.timeout = std::chrono::milliseconds(c.timeout_ms);
  if (!c.token_file.empty()) {
    ASSIGN_OR_RETURN(t.token, TokenFile::Open(c.token_file));
  }
  if (!c.ca_file.empty()) {
    ASSIGN_OR_RETURN(t.ca_pem, ReadSmallFile(c.ca_file, "remote.tls.ca_file"));
    // grpc:// with a CA file speaks TLS (gRPC has no separate scheme in
    // common use); http:// with one is refused by the config parser.
    t.url.tls = true;
  }
  return t;
}

// Every load failure is UNAVAILABLE, so that the repository retries it: a
// remote that is down, or does not have the model yet, may be fine at the
// next poll. The remote's own code stays in the message.
Status AsLoadFailure(const Status& status) {
  if (status.code() == core::StatusCode::kUnavailable) return status;
  return core::Unavailable(std::string(core::StatusCodeName(status.code())) + ": " + std::string(status.message()));
}

}  // namespace

RemoteBackend::RemoteBackend() : channels_(std::make_unique<GrpcChannels>()), pools_(std::make_unique<HttpPools>()) {}
RemoteBackend::~RemoteBackend() = default;

StatusOr<std::unique_ptr<core::ModelInstance>> RemoteBackend::Load(const std::filesystem::path& file,
                                                                   const core::RuntimeOptions&) {
  return core::FailedPrecondition("backend: remote loads no model file ('" + file.string() +
                                  "'); it needs config.yaml's remote: section");
}

StatusOr<std::unique_ptr<core::ModelInstance>> RemoteBackend::LoadModel(const core::ModelConfig& config,
                                                                        const std::filesystem::path&) {
  if (!config.remote) return core::FailedPrecondition("backend: remote needs a remote: section in config.yaml");
  const core::RemoteModelConfig& c = *config.remote;
  auto target = MakeTarget(c);
  if (!target.ok()) return NameRemote(AsLoadFailure(target.status()), c.url, c.model);
  std::shared_ptr<RemoteClient> client;
  if (target->url.protocol == core::RemoteUrl::Protocol::kGrpc) {
    auto channel = channels_->Get(*target);
    client = MakeGrpcClient(*target, std::move(channel));
  } else {
    auto pool = pools_->Get(*target);
    auto made = MakeHttpClient(*target, std::move(pool));
    if (!made.ok()) return NameRemote(AsLoadFailure(made.status()), c.url, c.model);
    client = std::move(*made);
  }
  auto signature = client->Metadata();
  if (!signature.ok()) return NameRemote(AsLoadFailure(signature.status()), c.url, c.model);
  return std::make_unique<RemoteInstance>(std::move(client), std::move(*signature), c.url, c.model, config.name,
                                          metrics_);
}

}  // namespace infergate::remote
