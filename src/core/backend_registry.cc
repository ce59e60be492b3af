#include "core/backend_registry.h"

#include <filesystem>

namespace infergate::core {
namespace {

std::string Keys(const std::map<std::string, Backend*>& m) {
  std::string out;
  for (const auto& [key, backend] : m) out += (out.empty() ? "" : ", ") + key;
  return out.empty() ? "none" : out;
}

}  // namespace

Status BackendRegistry::Add(Backend* backend) {
  if (!backend) return InvalidArgument("no backend to register");
  const std::string name(backend->name());
  if (backends_.count(name)) return AlreadyExists("backend '" + name + "' is registered twice");
  for (const auto& p : backend->platforms()) {
    if (platforms_.count(p)) return AlreadyExists("platform '" + p + "' has two backends");
  }
  for (const auto& e : backend->file_extensions()) {
    if (extensions_.count(e)) return AlreadyExists("model files '*" + e + "' have two backends");
  }
  backends_[name] = backend;
  for (const auto& p : backend->platforms()) platforms_[p] = backend;
  for (const auto& e : backend->file_extensions()) extensions_[e] = backend;
  return Status::Ok();
}

StatusOr<Backend*> BackendRegistry::Choose(ModelConfig* config) const {
  Backend* chosen = nullptr;
  if (!config->backend.empty()) {
    auto it = backends_.find(config->backend);
    if (it == backends_.end()) {
      return FailedPrecondition("no backend '" + config->backend + "' in this server; available: " +
                                Names());
    }
    chosen = it->second;
  }
  if (!config->platform.empty()) {
    auto it = platforms_.find(config->platform);
    if (it == platforms_.end()) {
      return FailedPrecondition("no backend for platform '" + config->platform +
                                "' in this server; available: " + Keys(platforms_));
    }
    if (chosen && it->second != chosen) {
      return FailedPrecondition("backend '" + config->backend + "' does not serve platform '" +
                                config->platform + "'");
    }
    chosen = it->second;
  }
  if (!chosen) {
    const std::string ext = std::filesystem::path(config->default_model_filename).extension().string();
    auto it = extensions_.find(ext);
    if (it == extensions_.end()) {
      return FailedPrecondition("no backend loads '" + config->default_model_filename +
                                "' (name one with backend: or platform:); available: " + Names() +
                                " for " + Keys(extensions_));
    }
    chosen = it->second;
  }
  config->backend = std::string(chosen->name());
  if (config->platform.empty() && !chosen->platforms().empty()) {
    config->platform = chosen->platforms().front();
  }
  return chosen;
}

std::string BackendRegistry::Names() const { return Keys(backends_); }

}  // namespace infergate::core
