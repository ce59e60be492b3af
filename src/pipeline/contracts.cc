#include "pipeline/contracts.h"

namespace infergate::pipeline {

DeviceContracts::DeviceContracts(core::ModelRepository* repository, ContractRunner::Options options)
    : options_(options) {
  repository->AddListener([this](const core::RepositoryEvent& e) { OnEvent(e); });
}

void DeviceContracts::OnEvent(const core::RepositoryEvent& event) {
  const auto& v = *event.version;
  if (event.kind == core::RepositoryEvent::Kind::kVersionRemoved) {
    std::lock_guard lock(mu_);
    auto it = runners_.find(v.name());
    if (it == runners_.end()) return;
    it->second.erase(v.version());
    if (it->second.empty()) runners_.erase(it);
    return;
  }
  std::shared_ptr<ContractRunner> runner;
  if (v.config().device) {
    // The repository checked the contract when the version loaded, so this succeeds.
    auto created = ContractRunner::Create(v.config(), v.version(), options_);
    if (created.ok()) runner = std::move(*created);
  }
  std::lock_guard lock(mu_);
  runners_[v.name()][v.version()] = std::move(runner);
}

core::StatusOr<std::shared_ptr<ContractRunner>> DeviceContracts::Get(
    const std::string& model) const {
  return Get(model, core::kLatestVersion);
}

core::StatusOr<std::shared_ptr<ContractRunner>> DeviceContracts::Get(const std::string& model,
                                                                     int64_t version) const {
  std::lock_guard lock(mu_);
  auto it = runners_.find(model);
  if (it == runners_.end() || it->second.empty())
    return core::NotFound("no loaded model '" + model + "'");
  auto found = version == core::kLatestVersion ? std::prev(it->second.end())
                                               : it->second.find(version);
  if (found == it->second.end()) {
    return core::NotFound("model '" + model + "' has no loaded version " + std::to_string(version));
  }
  const auto& newest = found->second;
  if (!newest) {
    return core::FailedPrecondition("model '" + model +
                                    "' has no device section in its config.yaml; "
                                    "telemetry needs one (docs/configuration.md)");
  }
  return newest;
}

size_t DeviceContracts::EvictIdle() {
  std::vector<std::shared_ptr<ContractRunner>> all;
  {
    std::lock_guard lock(mu_);
    for (const auto& [model, versions] : runners_) {
      for (const auto& [version, runner] : versions) {
        if (runner) all.push_back(runner);
      }
    }
  }
  size_t n = 0;
  for (const auto& r : all) n += r->EvictIdle();
  return n;
}

}  // namespace infergate::pipeline
