// Fleet model sync, wired: the repository published as an origin, and the
// sync that follows repository_origin (src/edge, docs/fleet-sync.md).
#include <spdlog/spdlog.h>

#include <fstream>

#include "edge/http_fetch.h"
#include "edge/manifest_publisher.h"
#include "edge/model_sync.h"
#include "frontends/http/http_types.h"
#include "server/server.h"

namespace infergate::server {
namespace {

// The first line of `file`, trimmed.
core::StatusOr<std::string> ReadToken(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return core::InvalidArgument("repository_origin.token_file " + file + " cannot be read");
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
  if (line.empty()) return core::InvalidArgument("repository_origin.token_file " + file + " is empty");
  return line;
}

}  // namespace

http::RepositoryOrigin Server::MakeOrigin() {
  // Only READY versions are published: one still being copied in is not.
  core::ModelRepository* repository = &engine_->repository();
  publisher_ = std::make_unique<edge::ManifestPublisher>(
      repository->root(), [repository](const std::string& model, int64_t version) {
        return repository->Get(model, version).ok();
      });
  edge::ManifestPublisher* publisher = publisher_.get();
  http::RepositoryOrigin origin;
  origin.manifest = [publisher](const std::function<bool(const std::string&)>& include)
      -> core::StatusOr<std::string> {
    ASSIGN_OR_RETURN(edge::Manifest manifest, publisher->Build("files/"));
    std::erase_if(manifest.models, [&include](const edge::ManifestModel& m) { return !include(m.name); });
    return edge::ManifestJson(manifest);
  };
  origin.file = [publisher](const std::string& model, const std::string& path) {
    return publisher->File(model, path);
  };
  return origin;
}

core::Status Server::CreateModelSync() {
  const config::RepositoryOriginConfig& c = config_.repository_origin;
  if (!c.enabled()) return core::Status::Ok();
  edge::HttpFetcherOptions fetch;
  fetch.token = c.token;
  if (!c.token_file.empty()) {
    ASSIGN_OR_RETURN(fetch.token, ReadToken(c.token_file));
  }
  fetch.ca_file = c.ca_file;
  fetch.timeout = core::SecsToMillis(c.timeout_secs);
  fetch.user_agent = std::string("infergate/") + INFERGATE_VERSION;
  ASSIGN_OR_RETURN(auto fetcher, edge::HttpFetcher::Create(std::move(fetch)));
  edge::ModelSyncOptions o;
  o.url = c.url;
  o.repository = config_.model_repository;
  o.staging = c.staging_dir;
  o.interval = core::SecsToMillis(c.poll_secs);
  o.prune = c.prune;
  o.clock = &engine_->clock();
  engine::Engine* engine = engine_.get();
  o.check_loads = [engine](const std::string& model, const std::filesystem::path& config_file,
                           const std::filesystem::path& version_dir) {
    return engine->CheckLoads(model, config_file, version_dir);
  };
  // Poll mode: the repository's own poll picks the new files up. Explicit:
  // the model is loaded through the repository API. None: at the next start.
  if (config_.model_control_mode == config::ModelControlMode::kExplicit) {
    o.installed = [engine](const std::string& model) {
      core::Status queued = engine->model_control().Load(model, [model](core::Status st) {
        if (!st.ok()) spdlog::warn("model sync: loading model {} failed: {}", model, st.message());
      });
      if (!queued.ok()) spdlog::warn("model sync: model {} not loaded: {}", model, queued.message());
    };
  } else if (config_.model_control_mode == config::ModelControlMode::kNone) {
    o.installed = [](const std::string& model) {
      spdlog::info("model sync: model {} is on disk; model_control_mode none loads it at the next start", model);
    };
  }
  ASSIGN_OR_RETURN(model_sync_, edge::ModelSync::Create(std::move(o), std::move(fetcher), &engine_->metrics()));
  return core::Status::Ok();
}

void Server::StartModelSync() {
  if (model_sync_) model_sync_->Start();
}

void Server::StopModelSync() {
  if (model_sync_) model_sync_->Stop();
}

}  // namespace infergate::server
