// DeviceContracts: the ContractRunner of every loaded model that has a device
// section, kept in step with the model repository. Frontends look a model's
// runner up per message; a new version of a model gets a new runner (its
// devices start with empty windows and fresh state), and a version's runner
// goes when the version is unloaded (requests built by it still complete:
// callers hold a shared_ptr).
//
// Thread-safety: Get and EvictIdle may be called from any thread; the
// repository calls the listener from its polling thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/model_repository.h"
#include "core/status.h"
#include "pipeline/contract_runner.h"

namespace infergate::pipeline {

class DeviceContracts {
 public:
  // Registers itself as a listener of `repository`: construct before its
  // first Poll. `repository` and what `options` points to outlive this.
  DeviceContracts(core::ModelRepository* repository, ContractRunner::Options options);

  // The runner of the newest READY version of `model`. NOT_FOUND when no
  // version is loaded; FAILED_PRECONDITION when its config.yaml has no
  // device section.
  core::StatusOr<std::shared_ptr<ContractRunner>> Get(const std::string& model) const;
  // The runner of `version` of `model` (core::kLatestVersion: as Get(model)).
  // NOT_FOUND when that version is not loaded; FAILED_PRECONDITION as above.
  core::StatusOr<std::shared_ptr<ContractRunner>> Get(const std::string& model,
                                                      int64_t version) const;

  // Evicts idle devices of every model; returns how many.
  size_t EvictIdle();

 private:
  void OnEvent(const core::RepositoryEvent& event);

  ContractRunner::Options options_;
  mutable std::mutex mu_;
  // model -> version -> runner (null: the version has no device section).
  std::map<std::string, std::map<int64_t, std::shared_ptr<ContractRunner>>>
      runners_;  // GUARDED_BY(mu_)
};

}  // namespace infergate::pipeline
