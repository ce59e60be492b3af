#include "core/model_repository.h"

#include <algorithm>
#include <charconv>
#include <system_error>

#include "core/model_name.h"

namespace infergate::core {
namespace fs = std::filesystem;

namespace {

constexpr const char* kConfigFile = "config.yaml";

// A positive integer folder name, or nullopt.
std::optional<int64_t> ParseVersion(const std::string& name) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), v);
  if (ec != std::errc() || end != name.data() + name.size() || v <= 0) return std::nullopt;
  return v;
}

// The entries of `dir`. An error (the folder cannot be opened or read, e.g.
// when the process ran out of file descriptors) is returned as one, never
// read as an empty folder.
StatusOr<std::vector<fs::directory_entry>> ListFolder(const fs::path& dir) {
  std::vector<fs::directory_entry> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    out.push_back(*it);
  }
  if (ec) return Unavailable("cannot list " + dir.string() + ": " + ec.message());
  return out;
}

StatusOr<std::vector<int64_t>> VersionFolders(const fs::path& dir) {
  ASSIGN_OR_RETURN(auto entries, ListFolder(dir));
  std::vector<int64_t> out;
  for (const auto& e : entries) {
    std::error_code ec;
    if (!e.is_directory(ec)) continue;
    if (auto v = ParseVersion(e.path().filename().string())) out.push_back(*v);
  }
  return out;
}

void Stat(const fs::path& p, fs::file_time_type* mtime, uintmax_t* size) {
  std::error_code ec;
  *mtime = fs::last_write_time(p, ec);
  if (ec) *mtime = {};
  *size = fs::file_size(p, ec);
  if (ec) *size = 0;
}

// `text` (a reason sent to clients) with every path inside `root` written
// relative to it ("m/1/model.onnx"): replies must not reveal where the
// repository lies on the server. The root is matched as configured and as an
// absolute path.
std::string RelativeToRoot(std::string text, const fs::path& root) {
  std::error_code ec;
  std::vector<std::string> prefixes{(root / "").string()};
  if (fs::path absolute = fs::absolute(root, ec); !ec) prefixes.push_back((absolute / "").string());
  if (fs::path canonical = fs::weakly_canonical(root, ec); !ec) {
    prefixes.push_back((canonical / "").string());
  }
  std::sort(prefixes.begin(), prefixes.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& prefix : prefixes) {
    if (prefix == "/") continue;
    for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at)) {
      text.erase(at, prefix.size());
    }
  }
  return text;
}

}  // namespace

std::string_view ModelStateName(ModelState state) {
  switch (state) {
    case ModelState::kLoading: return "LOADING";
    case ModelState::kReady: return "READY";
    case ModelState::kUnavailable: return "UNAVAILABLE";
  }
  return "UNAVAILABLE";
}

ModelVersion::ModelVersion(ModelConfig config, int64_t version, fs::path file,
                           std::vector<std::unique_ptr<ModelInstance>> instances)
    : config_(std::move(config)),
      version_(version),
      file_(std::move(file)),
      instances_(std::move(instances)) {}

StatusOr<std::unique_ptr<ModelRepository>> ModelRepository::Create(Options options) {
  if (options.backends.empty()) return InvalidArgument("model repository needs a backend");
  if (!options.parse_config) return InvalidArgument("model repository needs a config parser");
  std::error_code ec;
  if (!fs::is_directory(options.root, ec)) {
    return NotFound("model repository '" + options.root.string() + "' is not a directory");
  }
  return std::unique_ptr<ModelRepository>(new ModelRepository(std::move(options)));
}

ModelRepository::ModelRepository(Options options) : options_(std::move(options)) {}

void ModelRepository::AddListener(RepositoryListener listener) {
  std::lock_guard lock(sync_mu_);
  listeners_.push_back(std::move(listener));
}

void ModelRepository::Notify(RepositoryEvent::Kind kind, std::shared_ptr<const ModelVersion> version) {
  RepositoryEvent event{kind, std::move(version)};
  for (const auto& l : listeners_) l(event);
}

void ModelRepository::SetMetrics(MetricsRegistry* metrics) {
  scan_errors_ = &metrics->GetCounter(
      "infergate_repository_scan_errors_total",
      "Polls of the model repository that could not list its folder or a model's folder "
      "(what was loaded stayed loaded)");
}

std::string ModelRepository::scan_error() const {
  std::lock_guard lock(mu_);
  return scan_error_;
}

void ModelRepository::RecordScan(std::string error) {
  if (!error.empty() && scan_errors_) scan_errors_->Increment();
  std::lock_guard lock(mu_);
  scan_error_ = std::move(error);
}

void ModelRepository::Poll() {
  std::lock_guard sync(sync_mu_);
  auto entries = ListFolder(options_.root);
  if (!entries.ok()) {
    RecordScan(std::string(entries.status().message()));  // every model stays as it is
    return;
  }
  std::set<std::string> on_disk, skipped;
  for (const auto& e : *entries) {
    std::string name = e.path().filename().string();
    std::error_code ec;
    // A folder whose type cannot be read is kept; SyncModel reports why.
    if (name.empty() || name[0] == '.' || (!e.is_directory(ec) && !ec)) continue;
    if (Status valid = ValidateModelName(name); !valid.ok()) {
      if (!skipped_.count(name) && options_.warn) options_.warn("skipping a model folder: " + valid.message());
      skipped.insert(std::move(name));
      continue;
    }
    on_disk.insert(name);
  }
  skipped_ = std::move(skipped);  // a folder that goes and comes back is warned about again
  std::vector<std::string> known;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, entry] : models_) known.push_back(name);
  }
  for (const auto& name : known) {
    if (!on_disk.count(name)) RemoveModel(name);
  }
  std::string errors;
  for (const auto& name : on_disk) {
    if (Status st = SyncModel(name); !st.ok()) errors += (errors.empty() ? "" : "; ") + st.message();
  }
  RecordScan(std::move(errors));
}

Status ModelRepository::Load(const std::string& model) {
  RETURN_IF_ERROR(ValidateModelName(model));
  std::lock_guard sync(sync_mu_);
  std::error_code ec;
  if (model[0] == '.' || !fs::is_directory(options_.root / model, ec)) {
    return NotFound("no model folder '" + model + "' in the model repository");
  }
  bool known = false;
  {
    std::lock_guard lock(mu_);
    known = models_.count(model) > 0;
    models_[model].unloaded_by_request = false;
  }
  if (Status st = SyncModel(model); !st.ok()) {
    // The folder went away or cannot be listed: a name met for the first
    // time leaves no entry behind.
    std::lock_guard lock(mu_);
    if (!known) models_.erase(model);
    return Status(st.code(), RelativeToRoot(std::string(st.message()), options_.root));
  }
  std::lock_guard lock(mu_);
  const ModelEntry& entry = models_[model];
  if (!entry.reason.empty()) return InvalidArgument("model '" + model + "': " + entry.reason);
  std::string reasons;
  for (const auto& [v, ve] : entry.versions) {
    if (ve.status.state == ModelState::kReady) return Status::Ok();
    reasons += (reasons.empty() ? "" : "; ") + ("version " + std::to_string(v) + ": " + ve.status.reason);
  }
  return Unavailable("model '" + model + "' has no READY version: " + reasons);
}

Status ModelRepository::Unload(const std::string& model) {
  RETURN_IF_ERROR(ValidateModelName(model));
  std::lock_guard sync(sync_mu_);
  std::vector<std::shared_ptr<const ModelVersion>> removed;
  {
    std::lock_guard lock(mu_);
    auto it = models_.find(model);
    if (it == models_.end()) return NotFound("unknown model '" + model + "'");
    for (auto& [v, ve] : it->second.versions) {
      if (ve.loaded) removed.push_back(std::move(ve.loaded));
    }
    it->second.versions.clear();
    it->second.unloaded_by_request = true;
    it->second.reason = "unloaded by request";
  }
  for (auto& r : removed) Notify(RepositoryEvent::Kind::kVersionRemoved, std::move(r));
  return Status::Ok();
}

void ModelRepository::RemoveModel(const std::string& name) {
  std::vector<std::shared_ptr<const ModelVersion>> removed;
  {
    std::lock_guard lock(mu_);
    auto it = models_.find(name);
    if (it == models_.end()) return;
    for (auto& [v, ve] : it->second.versions) {
      if (ve.loaded) removed.push_back(std::move(ve.loaded));
    }
    models_.erase(it);
  }
  for (auto& r : removed) Notify(RepositoryEvent::Kind::kVersionRemoved, std::move(r));
}

void ModelRepository::SetVersion(const std::string& name, int64_t version, VersionEntry entry) {
  std::lock_guard lock(mu_);
  models_[name].versions[version] = std::move(entry);
}

bool ModelRepository::UsesNoFile(const ModelConfig& config) const {
  ModelConfig copy = config;
  auto backend = options_.backends.Choose(&copy);
  return backend.ok() && !(*backend)->uses_model_file();
}

StatusOr<std::shared_ptr<const ModelVersion>> ModelRepository::LoadVersion(
    const ModelConfig& base, int64_t version, const fs::path& file) {
  ModelConfig config = base;
  std::vector<std::unique_ptr<ModelInstance>> instances;
  ASSIGN_OR_RETURN(Backend * backend, options_.backends.Choose(&config));
  ASSIGN_OR_RETURN(auto first, backend->LoadModel(config, file));
  RETURN_IF_ERROR(CompleteConfig(first->signature(), &config).WithPrefix("config.yaml"));
  if (options_.check_config) RETURN_IF_ERROR(options_.check_config(config).WithPrefix("config.yaml"));
  instances.push_back(std::move(first));
  for (int i = 1; i < config.instance_count; ++i) {
    ASSIGN_OR_RETURN(auto more, backend->LoadModel(config, file));
    instances.push_back(std::move(more));
  }
  return std::make_shared<const ModelVersion>(std::move(config), version, file, std::move(instances));
}

Status ModelRepository::SyncModel(const std::string& name) {
  const fs::path dir = options_.root / name;
  {
    std::lock_guard lock(mu_);
    if (models_[name].unloaded_by_request) return Status::Ok();
  }
  // Listed first: a folder that cannot be listed changes nothing.
  auto listed = VersionFolders(dir);
  if (!listed.ok()) return listed.status().WithPrefix("model '" + name + "'");
  std::vector<int64_t> available = *listed;
  const fs::path config_file = dir / kConfigFile;
  auto parsed = options_.parse_config(config_file, name);
  if (!parsed.ok()) {
    std::lock_guard lock(mu_);
    ModelEntry& entry = models_[name];
    entry.reason = RelativeToRoot(std::string(parsed.status().message()), options_.root);
    if (!entry.versions.empty()) entry.reason += " (still serving the versions loaded before)";
    return Status::Ok();
  }
  const ModelConfig& config = *parsed;
  // A model without a file (backend: remote) needs no version folder: it is
  // served as one version. Version folders, when there are any, name its
  // versions as they do for Triton's ensembles.
  const bool fileless = UsesNoFile(config);
  if (available.empty() && fileless) available.push_back(config.remote ? config.remote->LocalVersion() : 1);
  Fingerprint config_print;
  Stat(config_file, &config_print.config_mtime, &config_print.config_size);

  std::vector<int64_t> selected = config.version_policy.Select(available);
  std::map<int64_t, VersionEntry> current;
  {
    std::lock_guard lock(mu_);
    ModelEntry& entry = models_[name];
    entry.reason = available.empty()
                       ? "no version folders (expected " +
                             (fs::path(name) / "1" / config.default_model_filename).string() + ")"
                       : (selected.empty() ? "version_policy " + config.version_policy.ToString() +
                                                 " selects none of the version folders"
                                           : "");
    current = entry.versions;
  }

  for (int64_t v : selected) {
    const fs::path file = fileless ? fs::path() : dir / std::to_string(v) / config.default_model_filename;
    Fingerprint print = config_print;
    if (!fileless) Stat(file, &print.mtime, &print.size);
    auto old = current.find(v);
    // Unchanged files are not loaded again, unless the last load failed for
    // a reason that may pass (UNAVAILABLE: e.g. a remote server that was down).
    if (old != current.end() && old->second.fingerprint == print && !old->second.retry) continue;

    VersionEntry entry;
    entry.fingerprint = print;
    std::shared_ptr<const ModelVersion> previous =
        old != current.end() ? old->second.loaded : nullptr;
    std::error_code ec;
    if (!fileless && !fs::is_regular_file(file, ec)) {
      entry.status = {v, ModelState::kUnavailable,
                      "missing model file " + RelativeToRoot(file.string(), options_.root)};
    } else {
      SetVersion(name, v, {{v, ModelState::kLoading, ""}, print, previous});
      auto loaded = LoadVersion(config, v, file);
      if (loaded.ok()) {
        entry.status = {v, ModelState::kReady, ""};
        entry.loaded = *loaded;
      } else {
        entry.status = {v, ModelState::kUnavailable,
                        RelativeToRoot(std::string(loaded.status().message()), options_.root)};
        entry.retry = loaded.status().code() == StatusCode::kUnavailable;
      }
    }
    if (!entry.loaded && previous) {
      // A failed reload keeps the version loaded before in service.
      entry.status = {v, ModelState::kReady,
                      "reload failed, serving the version loaded before: " + entry.status.reason};
      entry.loaded = previous;
    }
    auto ready = entry.loaded;
    // Listeners hear of a new version before Get() can return it, and of a
    // removed one after Get() stopped returning it.
    if (ready && ready != previous) Notify(RepositoryEvent::Kind::kVersionReady, ready);
    SetVersion(name, v, std::move(entry));
    if (previous && previous != ready) Notify(RepositoryEvent::Kind::kVersionRemoved, previous);
  }

  std::vector<std::shared_ptr<const ModelVersion>> removed;
  {
    std::lock_guard lock(mu_);
    auto& versions = models_[name].versions;
    for (auto it = versions.begin(); it != versions.end();) {
      if (std::find(selected.begin(), selected.end(), it->first) == selected.end()) {
        if (it->second.loaded) removed.push_back(std::move(it->second.loaded));
        it = versions.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& r : removed) Notify(RepositoryEvent::Kind::kVersionRemoved, std::move(r));
  return Status::Ok();
}

StatusOr<std::shared_ptr<const ModelVersion>> ModelRepository::Get(const std::string& model,
                                                                   int64_t version) const {
  std::lock_guard lock(mu_);
  auto it = models_.find(model);
  if (it == models_.end()) return NotFound("unknown model '" + model + "'");
  const ModelEntry& entry = it->second;
  if (version == kLatestVersion) {
    for (auto v = entry.versions.rbegin(); v != entry.versions.rend(); ++v) {
      if (v->second.loaded) return v->second.loaded;
    }
    std::string why = entry.reason;
    for (const auto& [n, ve] : entry.versions) {
      why += (why.empty() ? "" : "; ") + ("version " + std::to_string(n) + " " +
                                          std::string(ModelStateName(ve.status.state)) +
                                          (ve.status.reason.empty() ? "" : ": " + ve.status.reason));
    }
    return Unavailable("model '" + model + "' has no READY version" + (why.empty() ? "" : " (" + why + ")"));
  }
  auto v = entry.versions.find(version);
  if (v == entry.versions.end()) {
    return NotFound("model '" + model + "' has no version " + std::to_string(version));
  }
  if (!v->second.loaded) {
    return Unavailable("model '" + model + "' version " + std::to_string(version) + " is " +
                       std::string(ModelStateName(v->second.status.state)) +
                       (v->second.status.reason.empty() ? "" : ": " + v->second.status.reason));
  }
  return v->second.loaded;
}

std::vector<ModelStatus> ModelRepository::Index() const {
  std::lock_guard lock(mu_);
  std::vector<ModelStatus> out;
  out.reserve(models_.size());
  for (const auto& [name, entry] : models_) {
    ModelStatus s{name, entry.reason, {}};
    for (const auto& [v, ve] : entry.versions) s.versions.push_back(ve.status);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace infergate::core
