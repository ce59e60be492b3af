// ModelSync: fleet model sync. The model repository follows an origin's
// manifest (manifest.h): on its own thread, every poll interval, it fetches
// the manifest and brings in what the repository lacks:
//
//   - a version folder the repository does not have: its files are
//     downloaded into the staging folder (on the repository's file system),
//     each checked for size and sha256, the version checked to load
//     (Options::check_loads), then the folder is renamed into the model's
//     folder: the repository sees all of it or nothing;
//   - a model file (config.yaml) whose sha256 differs: downloaded, checked,
//     renamed over the old one after the model's new versions are in place;
//   - a model the repository does not have: staged whole, renamed in once.
//
// A version whose download or check fails is not installed (the reason is
// logged and counted) and is tried again at the next poll; a model whose
// config.yaml fails gets nothing new that round. A version already present
// is never replaced (a version number names fixed content), and versions
// the manifest no longer lists stay unless `prune` is set. An origin that
// cannot be reached, or a manifest that does not parse, changes nothing:
// the repository serves what it has, and the next try comes after a
// back-off (1 s doubling up to the poll interval).
//
// Thread-safety: Start, Stop and the destructor from one thread (the
// server's main thread); SyncOnce is what the sync thread runs (tests call it
// directly, without Start); Wake from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "core/status.h"
#include "edge/fetcher.h"
#include "edge/manifest.h"
#include "edge/sha256.h"

namespace infergate::edge {

struct ModelSyncOptions {
  // The manifest's URL; one ending in '/' means `<url>manifest.json`.
  std::string url;
  std::filesystem::path repository;
  // Created when missing; must be on the repository's file system.
  // Empty: `<repository>/.staging`.
  std::filesystem::path staging;
  core::Duration interval = std::chrono::seconds(60);
  bool prune = false;
  const core::Clock* clock = &core::SteadyClock::Instance();
  const core::WallClock* wall_clock = &core::SystemWallClock::Instance();
  // Whether the version in `version_dir` of `model`, whose config.yaml is
  // `config_file` (which may not exist), loads; called on the sync thread
  // before the version is moved into place. Required.
  std::function<core::Status(const std::string& model, const std::filesystem::path& config_file,
                             const std::filesystem::path& version_dir)>
      check_loads;
  // Told (on the sync thread) after files of `model` were moved into place;
  // may be empty (the repository's own poll picks them up).
  std::function<void(const std::string& model)> installed;
};

class ModelSync {
 public:
  // Creates the staging folder and removes what an earlier run left in it.
  // INVALID_ARGUMENT when it is not on the repository's file system.
  static core::StatusOr<std::unique_ptr<ModelSync>> Create(ModelSyncOptions options,
                                                           std::unique_ptr<Fetcher> fetcher,
                                                           core::MetricsRegistry* metrics);
  ~ModelSync();  // Stop()
  ModelSync(const ModelSync&) = delete;
  ModelSync& operator=(const ModelSync&) = delete;

  // Starts the sync thread: one round at once, then one per interval.
  void Start();
  // Wakes and joins the sync thread (a round in progress finishes first;
  // each of its transfers is bounded by the fetcher's time-out). Idempotent.
  void Stop();
  // Wakes the sync thread for a round now (a test after moving its clock).
  void Wake();

  // One round (see above). An error: the manifest could not be fetched or
  // parsed, and nothing changed. Failures of single files are logged and
  // counted, not returned.
  core::Status SyncOnce();

  const std::string& manifest_url() const { return manifest_url_; }

 private:
  ModelSync(ModelSyncOptions options, std::unique_ptr<Fetcher> fetcher, core::MetricsRegistry* metrics);
  void Loop();
  void SyncModel(const ManifestModel& model, const std::string& files_url);
  // Downloads `file` from `url` to `dest` and checks its size and sha256.
  core::Status Fetch(const std::string& url, const ManifestFile& file, const std::filesystem::path& dest,
                     SyncFailure* why);
  // Stages the missing version `v` of `model` in `dir`; false when refused.
  bool StageVersion(const ManifestModel& model, const ManifestVersion& v, const std::string& files_url,
                    const std::filesystem::path& config_file, const std::filesystem::path& dir);
  // Moves the staged `stage` into the repository; the versions moved.
  std::vector<int64_t> Install(const ManifestModel& model, const std::filesystem::path& stage,
                               const std::vector<int64_t>& versions,
                               const std::vector<const ManifestFile*>& files, bool whole);
  void Prune(const Manifest& manifest);
  void Refuse(SyncFailure why, const std::string& what, const core::Status& status);
  void UpdateVersionGauges(const Manifest& manifest);

  const ModelSyncOptions options_;
  std::unique_ptr<Fetcher> fetcher_;
  core::MetricsRegistry* metrics_;
  std::string manifest_url_;
  std::filesystem::path staging_;
  DigestCache local_digests_;  // of the repository's model files (config.yaml)
  uint64_t stage_counter_ = 0;  // sync thread only

  core::Counter* failures_[kSyncFailureCount] = {};
  core::Counter* installed_ = nullptr;
  core::Gauge* last_success_ = nullptr;
  core::Gauge* origin_up_ = nullptr;
  std::map<std::string, core::Gauge*> versions_;  // sync thread only, by model

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  bool wake_ = false;      // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace infergate::edge
