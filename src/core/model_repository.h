// ModelRepository: the model directory on disk, loaded.
//
//   <root>/<model>/config.yaml          optional, parsed by the injected ConfigParser
//   <root>/<model>/<version>/model.onnx  version = a positive integer folder name
//
// A model whose backend uses no file (backend: remote) needs no version
// folder: without one it is served as a single version (its
// remote.version when that is a number, else 1); empty version folders,
// when present, name its versions instead (as Triton's ensembles do).
//
// The repository scans the folder, loads the versions each model's
// version_policy selects, and keeps them in step with the disk when Poll() is
// called (by the server's poll thread, or by the repository API): versions that
// appear are loaded, versions whose files change are reloaded and swapped in,
// versions that disappear are unloaded. Requests in flight hold a
// shared_ptr<const ModelVersion>, so a swap or an unload never drops them: the
// old version is destroyed when its last request completes. One broken model
// or version never stops the others; every version has a state and a reason.
//
// Thread-safety: every public method may be called from any thread. Poll(),
// Load() and Unload() serialise among themselves (loading happens on the
// calling thread, outside the lookup lock, so Get() never waits for a load).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/backend_registry.h"
#include "core/model.h"
#include "core/metrics.h"
#include "core/model_config.h"
#include "core/status.h"

namespace infergate::core {

enum class ModelState { kLoading, kReady, kUnavailable };
std::string_view ModelStateName(ModelState state);  // "LOADING", "READY", "UNAVAILABLE"

// A loaded, immutable model version with its instances (sessions).
class ModelVersion {
 public:
  ModelVersion(ModelConfig config, int64_t version, std::filesystem::path file,
               std::vector<std::unique_ptr<ModelInstance>> instances);

  const std::string& name() const { return config_.name; }
  int64_t version() const { return version_; }
  const ModelConfig& config() const { return config_; }
  const ModelSignature& signature() const { return instances_.front()->signature(); }
  const std::filesystem::path& file() const { return file_; }
  size_t instance_count() const { return instances_.size(); }
  // Precondition: i < instance_count().
  ModelInstance& instance(size_t i) const { return *instances_[i]; }

 private:
  ModelConfig config_;
  int64_t version_;
  std::filesystem::path file_;
  std::vector<std::unique_ptr<ModelInstance>> instances_;
};

struct VersionStatus {
  int64_t version = 0;
  ModelState state = ModelState::kUnavailable;
  std::string reason;  // why it is not READY; empty when READY
};

struct ModelStatus {
  std::string name;
  std::string reason;  // a model-level problem (bad config.yaml, no versions)
  std::vector<VersionStatus> versions;  // ascending
};

// Parses <model dir>/config.yaml (which may be absent: `file` does not exist)
// into a config whose name defaults to `model_name`.
using ConfigParser =
    std::function<StatusOr<ModelConfig>(const std::filesystem::path& file, const std::string& model_name)>;

// Checks a version's completed config further (e.g. the device contract
// against the model's inputs and outputs); an error leaves the version
// UNAVAILABLE with that reason. Called from the thread that loads.
using ConfigChecker = std::function<Status(const ModelConfig& config)>;

// Called from the thread that polled: kVersionReady just before Get() can
// return the version, kVersionRemoved just after Get() stopped returning it.
// Listeners must not call back into the repository's Poll/Load/Unload.
struct RepositoryEvent {
  enum class Kind { kVersionReady, kVersionRemoved };
  Kind kind;
  std::shared_ptr<const ModelVersion> version;
};
using RepositoryListener = std::function<void(const RepositoryEvent&)>;

class ModelRepository {
 public:
  struct Options {
    std::filesystem::path root;
    // Chosen per model by config.yaml's backend / platform or the model
    // file's extension; the backends are not owned and outlive the repository.
    BackendRegistry backends;
    ConfigParser parse_config;
    ConfigChecker check_config;  // may be empty
    // Told once per folder whose name is not a model name
    // (ValidateModelName): Poll skips it, it never reaches the index. Called
    // again only if the folder goes and comes back. May be empty.
    std::function<void(const std::string& warning)> warn;
  };

  static StatusOr<std::unique_ptr<ModelRepository>> Create(Options options);

  // Brings the loaded set in line with the disk. Models unloaded through
  // Unload() stay unloaded until Load(). When the repository folder or a
  // model's folder cannot be listed (e.g. no file descriptor is left), what
  // was loaded from it stays loaded and scan_error() says why.
  void Poll();
  // Why the last Poll could not list the repository or a model folder;
  // empty when it could. Any thread.
  std::string scan_error() const;
  // Counts the polls that met a scan error in
  // infergate_repository_scan_errors_total. Call before the first Poll;
  // `metrics` outlives the repository.
  void SetMetrics(MetricsRegistry* metrics);
  // Loads (or reloads) one model from disk now; INVALID_ARGUMENT if `model`
  // is not a valid folder name (ValidateModelName), NotFound if the folder
  // is missing (no index entry is left behind), the load error if no
  // version became READY.
  Status Load(const std::string& model);
  // Unloads every version of `model`; requests in flight finish.
  // INVALID_ARGUMENT for an invalid name, NotFound for an unknown model.
  Status Unload(const std::string& model);

  // The READY version `version` of `model`, or the newest READY one for
  // kLatestVersion. NotFound for unknown models or versions; Unavailable when
  // the model is known but the version is not READY (the reason included).
  StatusOr<std::shared_ptr<const ModelVersion>> Get(const std::string& model,
                                                    int64_t version = kLatestVersion) const;

  // Every model the repository knows (on disk or loaded), by name.
  std::vector<ModelStatus> Index() const;

  // Registers a listener for load/unload events. Call before the first Poll.
  void AddListener(RepositoryListener listener);

  const std::filesystem::path& root() const { return options_.root; }

 private:
  explicit ModelRepository(Options options);

  // What the files of a version looked like when it was loaded.
  struct Fingerprint {
    std::filesystem::file_time_type mtime{};
    uintmax_t size = 0;
    std::filesystem::file_time_type config_mtime{};
    uintmax_t config_size = 0;
    bool operator==(const Fingerprint&) const = default;
  };
  struct VersionEntry {
    VersionStatus status;
    Fingerprint fingerprint;
    std::shared_ptr<const ModelVersion> loaded;  // set while READY
    bool retry = false;  // the last load failed with UNAVAILABLE: load again at the next Poll
  };
  struct ModelEntry {
    std::string reason;
    bool unloaded_by_request = false;
    std::map<int64_t, VersionEntry> versions;
  };

  // Error: the model's folder could not be listed (nothing changed).
  Status SyncModel(const std::string& name);  // precondition: sync_mu_ held
  void RecordScan(std::string error);
  // True when the backend `config` chooses loads no model file.
  bool UsesNoFile(const ModelConfig& config) const;
  void RemoveModel(const std::string& name);
  void SetVersion(const std::string& name, int64_t version, VersionEntry entry);
  void Notify(RepositoryEvent::Kind kind, std::shared_ptr<const ModelVersion> version);
  StatusOr<std::shared_ptr<const ModelVersion>> LoadVersion(const ModelConfig& base, int64_t version,
                                                            const std::filesystem::path& file);

  Options options_;
  std::mutex sync_mu_;  // serialises Poll, Load, Unload
  std::vector<RepositoryListener> listeners_;
  mutable std::mutex mu_;  // guards models_
  std::map<std::string, ModelEntry> models_;  // GUARDED_BY(mu_)
  std::string scan_error_;                    // GUARDED_BY(mu_)
  std::set<std::string> skipped_;             // GUARDED_BY(sync_mu_): invalid names warned about
  Counter* scan_errors_ = nullptr;            // set before the first Poll
};

}  // namespace infergate::core
