#include "edge/model_sync.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace infergate::edge {
namespace fs = std::filesystem;
namespace {

constexpr auto kFirstBackoff = std::chrono::seconds(1);
constexpr const char* kStagePrefix = "sync-";

// The version folders of `dir`, ascending.
std::vector<int64_t> LocalVersions(const fs::path& dir) {
  std::vector<int64_t> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code sec;
    if (!it->is_directory(sec)) continue;
    if (auto v = VersionFolder(it->path().filename().string())) out.push_back(*v);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// fsync of a file or folder, so that a rename never publishes bytes a crash could lose.
void SyncPath(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

// fsync of every file under `dir`, then of the folders.
void SyncTree(const fs::path& dir) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    SyncPath(it->path());
  }
  SyncPath(dir);
}

core::Status Rename(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) return core::Unavailable("cannot move " + from.string() + " to " + to.string() + ": " + ec.message());
  SyncPath(to.parent_path());
  return core::Status::Ok();
}

std::string VersionName(const std::string& model, int64_t version) {
  return "model " + model + " version " + std::to_string(version);
}

}  // namespace

core::StatusOr<std::unique_ptr<ModelSync>> ModelSync::Create(ModelSyncOptions options,
                                                             std::unique_ptr<Fetcher> fetcher,
                                                             core::MetricsRegistry* metrics) {
  if (!options.check_loads) return core::InvalidArgument("model sync needs a load check");
  if (options.staging.empty()) options.staging = options.repository / ".staging";
  std::error_code ec;
  fs::create_directories(options.staging, ec);
  if (ec) {
    return core::InvalidArgument("repository_origin.staging_dir " + options.staging.string() +
                                 " cannot be created: " + ec.message());
  }
  struct stat repo {}, stage {};
  if (::stat(options.repository.c_str(), &repo) != 0 || ::stat(options.staging.c_str(), &stage) != 0 ||
      repo.st_dev != stage.st_dev) {
    return core::InvalidArgument("repository_origin.staging_dir " + options.staging.string() +
                                 " must be on the model repository's file system (versions are renamed into it)");
  }
  // What an interrupted run left behind.
  for (fs::directory_iterator it(options.staging, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().filename().string().rfind(kStagePrefix, 0) == 0) {
      std::error_code rec;
      fs::remove_all(it->path(), rec);
    }
  }
  return std::unique_ptr<ModelSync>(new ModelSync(std::move(options), std::move(fetcher), metrics));
}

ModelSync::ModelSync(ModelSyncOptions options, std::unique_ptr<Fetcher> fetcher, core::MetricsRegistry* metrics)
    : options_(std::move(options)), fetcher_(std::move(fetcher)), metrics_(metrics), staging_(options_.staging) {
  manifest_url_ = options_.url.empty() || options_.url.back() != '/' ? options_.url : options_.url + "manifest.json";
  for (int i = 0; i < kSyncFailureCount; ++i) {
    failures_[i] = &metrics_->GetCounter(
        "infergate_model_sync_failures_total",
        "Fleet model sync: manifests and files refused, by reason (nothing was replaced)",
        {{"reason", std::string(SyncFailureName(static_cast<SyncFailure>(i)))}});
  }
  installed_ = &metrics_->GetCounter("infergate_model_sync_installed_total",
                                     "Fleet model sync: versions moved into the model repository");
  last_success_ = &metrics_->GetGauge("infergate_model_sync_last_success_timestamp_seconds",
                                      "Fleet model sync: Unix time of the last manifest fetched and applied");
  origin_up_ = &metrics_->GetGauge("infergate_model_sync_origin_up",
                                   "Fleet model sync: 1 when the last manifest fetch worked, else 0");
}

ModelSync::~ModelSync() { Stop(); }

void ModelSync::Start() {
  spdlog::info("model sync: following {} every {} s (staging in {})", manifest_url_,
               std::chrono::duration<double>(options_.interval).count(), staging_.string());
  thread_ = std::thread([this] { Loop(); });
}

void ModelSync::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ModelSync::Wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void ModelSync::Loop() {
  core::Duration backoff = kFirstBackoff;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    const bool ok = SyncOnce().ok();
    lock.lock();
    core::Duration delay = options_.interval;
    if (!ok) {
      delay = std::min<core::Duration>(backoff, options_.interval);
      backoff = std::min<core::Duration>(backoff * 2, options_.interval);
    } else {
      backoff = kFirstBackoff;
    }
    const core::TimePoint deadline = options_.clock->Now() + delay;
    while (!stopping_ && !wake_ && options_.clock->Now() < deadline) {
      options_.clock->WaitUntil(cv_, lock, deadline);
    }
    wake_ = false;
  }
}

void ModelSync::Refuse(SyncFailure why, const std::string& what, const core::Status& status) {
  failures_[static_cast<int>(why)]->Increment();
  spdlog::warn("model sync: {} refused ({}): {}; the repository keeps what it has", what, SyncFailureName(why),
               status.message());
}

core::Status ModelSync::SyncOnce() {
  std::string body;
  SyncFailure why = SyncFailure::kUnreachable;
  core::Status st = fetcher_->Get(manifest_url_, kMaxManifestBytes, &body, &why);
  core::StatusOr<Manifest> manifest = st.ok() ? ParseManifest(body) : core::StatusOr<Manifest>(st);
  if (st.ok() && !manifest.ok()) why = SyncFailure::kBadManifest;
  if (!manifest.ok()) {
    origin_up_->Set(0);
    failures_[static_cast<int>(why)]->Increment();
    spdlog::warn("model sync: manifest {} ({}): {}; serving what the repository has", manifest_url_,
                 SyncFailureName(why), manifest.status().message());
    return manifest.status();
  }
  origin_up_->Set(1);
  const std::string files_url = ResolveUrl(manifest_url_, manifest->files_url);
  for (const ManifestModel& model : manifest->models) SyncModel(model, files_url);
  if (options_.prune) Prune(*manifest);
  UpdateVersionGauges(*manifest);
  last_success_->Set(std::chrono::duration<double>(options_.wall_clock->Now().time_since_epoch()).count());
  return core::Status::Ok();
}

core::Status ModelSync::Fetch(const std::string& url, const ManifestFile& file, const fs::path& dest,
                              SyncFailure* why) {
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  if (ec) {
    *why = SyncFailure::kDisk;
    return core::Unavailable(dest.parent_path().string() + " cannot be created: " + ec.message());
  }
  RETURN_IF_ERROR(fetcher_->Download(url, dest, file.size, why).WithPrefix(file.path));
  const uintmax_t size = fs::file_size(dest, ec);
  if (ec || size != file.size) {
    *why = size > file.size && !ec ? SyncFailure::kSizeMismatch : SyncFailure::kTruncated;
    return core::Unavailable(file.path + ": " + std::to_string(ec ? 0 : size) + " bytes, the manifest says " +
                             std::to_string(file.size));
  }
  auto sha = Sha256File(dest);
  if (!sha.ok()) {
    *why = SyncFailure::kDisk;
    return sha.status();
  }
  if (*sha != file.sha256) {
    *why = SyncFailure::kSha256Mismatch;
    return core::Unavailable(file.path + ": sha256 " + *sha + " differs from the manifest's " + file.sha256);
  }
  return core::Status::Ok();
}

bool ModelSync::StageVersion(const ManifestModel& model, const ManifestVersion& v, const std::string& files_url,
                             const fs::path& config_file, const fs::path& dir) {
  const std::string prefix = files_url + EncodePath(model.name) + "/" + std::to_string(v.version) + "/";
  for (const ManifestFile& file : v.files) {
    SyncFailure why = SyncFailure::kDisk;
    if (core::Status st = Fetch(prefix + EncodePath(file.path), file, dir / file.path, &why); !st.ok()) {
      Refuse(why, VersionName(model.name, v.version), st);
      return false;
    }
  }
  if (core::Status st = options_.check_loads(model.name, config_file, dir); !st.ok()) {
    Refuse(SyncFailure::kDoesNotLoad, VersionName(model.name, v.version), st);
    return false;
  }
  return true;
}

void ModelSync::SyncModel(const ManifestModel& model, const std::string& files_url) {
  const fs::path dir = options_.repository / model.name;
  std::error_code ec;
  const bool whole = !fs::is_directory(dir, ec);
  std::vector<const ManifestFile*> files;  // model files that differ
  for (const ManifestFile& f : model.files) {
    auto local = whole ? core::StatusOr<DigestCache::Entry>(core::NotFound("")) : local_digests_.Get(dir / f.path);
    if (!local.ok() || local->size != f.size || local->sha256 != f.sha256) files.push_back(&f);
  }
  std::vector<const ManifestVersion*> missing;
  for (const ManifestVersion& v : model.versions) {
    if (whole || !fs::exists(dir / std::to_string(v.version), ec)) missing.push_back(&v);
  }
  if (files.empty() && missing.empty()) return;

  const fs::path stage = staging_ / (kStagePrefix + model.name + "-" + std::to_string(++stage_counter_));
  fs::remove_all(stage, ec);
  const std::string prefix = files_url + EncodePath(model.name) + "/";
  for (const ManifestFile* f : files) {
    SyncFailure why = SyncFailure::kDisk;
    if (core::Status st = Fetch(prefix + EncodePath(f->path), *f, stage / f->path, &why); !st.ok()) {
      Refuse(why, "model " + model.name + " (its new " + f->path + ")", st);
      fs::remove_all(stage, ec);
      return;
    }
  }
  const fs::path staged_config = stage / "config.yaml";
  const fs::path config_file = fs::exists(staged_config, ec) ? staged_config : dir / "config.yaml";
  std::vector<int64_t> staged;
  for (const ManifestVersion* v : missing) {
    const fs::path vdir = stage / std::to_string(v->version);
    if (StageVersion(model, *v, files_url, config_file, vdir)) {
      staged.push_back(v->version);
    } else {
      fs::remove_all(vdir, ec);
    }
  }
  // A new model arrives with at least one good version (or none listed).
  if (!(whole && staged.empty() && !model.versions.empty())) {
    std::vector<int64_t> moved = Install(model, stage, staged, files, whole);
    if (!moved.empty() || !files.empty()) {
      if (options_.installed) options_.installed(model.name);
    }
  }
  fs::remove_all(stage, ec);
}

std::vector<int64_t> ModelSync::Install(const ManifestModel& model, const fs::path& stage,
                                        const std::vector<int64_t>& versions,
                                        const std::vector<const ManifestFile*>& files, bool whole) {
  const fs::path dir = options_.repository / model.name;
  SyncTree(stage);
  std::vector<int64_t> moved;
  if (whole) {
    if (core::Status st = Rename(stage, dir); !st.ok()) {
      Refuse(SyncFailure::kDisk, "model " + model.name, st);
      return moved;
    }
    moved = versions;
  } else {
    for (int64_t v : versions) {
      core::Status st = Rename(stage / std::to_string(v), dir / std::to_string(v));
      if (!st.ok()) {
        Refuse(SyncFailure::kDisk, VersionName(model.name, v), st);
        continue;
      }
      moved.push_back(v);
    }
    for (const ManifestFile* f : files) {
      std::error_code ec;
      fs::create_directories((dir / f->path).parent_path(), ec);
      if (core::Status st = Rename(stage / f->path, dir / f->path); !st.ok()) {
        Refuse(SyncFailure::kDisk, "model " + model.name + " file " + f->path, st);
      }
    }
  }
  for (int64_t v : moved) {
    installed_->Increment();
    spdlog::info("model sync: {} installed from {}", VersionName(model.name, v), manifest_url_);
  }
  if (!whole && !files.empty()) spdlog::info("model sync: model {}: model files updated", model.name);
  return moved;
}

void ModelSync::Prune(const Manifest& manifest) {
  for (const ManifestModel& model : manifest.models) {
    const fs::path dir = options_.repository / model.name;
    for (int64_t v : LocalVersions(dir)) {
      auto listed = std::find_if(model.versions.begin(), model.versions.end(),
                                 [v](const ManifestVersion& mv) { return mv.version == v; });
      if (listed != model.versions.end()) continue;
      // Out of the repository in one rename, then deleted.
      const fs::path trash = staging_ / (kStagePrefix + model.name + "-pruned-" + std::to_string(++stage_counter_));
      if (Rename(dir / std::to_string(v), trash).ok()) {
        std::error_code ec;
        fs::remove_all(trash, ec);
        spdlog::info("model sync: {} pruned (no longer in the manifest)", VersionName(model.name, v));
      }
    }
  }
}

void ModelSync::UpdateVersionGauges(const Manifest& manifest) {
  for (const ManifestModel& model : manifest.models) {
    auto& gauge = versions_[model.name];
    if (!gauge) {
      gauge = &metrics_->GetGauge("infergate_model_sync_version",
                                  "Fleet model sync: the newest version of the model in the repository",
                                  {{"model", model.name}});
    }
    const auto local = LocalVersions(options_.repository / model.name);
    gauge->Set(local.empty() ? 0 : static_cast<double>(local.back()));
  }
}

}  // namespace infergate::edge
