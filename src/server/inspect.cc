#include "server/inspect.h"

#include <cstdio>
#include <iostream>
#include <system_error>

#include "backends/onnxruntime/ort_backend.h"
#include "backends/remote/remote_backend.h"
#include "config/model_config_yaml.h"
#include "core/backend_registry.h"

namespace infergate::server {
namespace fs = std::filesystem;
namespace {

std::vector<int64_t> NumericSubdirs(const fs::path& dir) {
  std::vector<int64_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_directory(ec)) continue;
    const std::string n = e.path().filename().string();
    if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos || n.size() > 18) continue;
    if (int64_t v = std::stoll(n); v > 0) out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool IsModelDir(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / "config.yaml", ec) || !NumericSubdirs(dir).empty();
}

void Describe(core::StatusOr<std::unique_ptr<core::ModelInstance>> instance, InspectReport* r);

void LoadFile(core::Backend& backend, InspectReport* r) {
  std::error_code ec;
  r->file_size = fs::file_size(r->file, ec);
  // The server's choice (backend, platform or file extension), with this
  // one backend registered.
  core::BackendRegistry backends;
  core::Status chosen = backends.Add(&backend);
  if (chosen.ok()) chosen = backends.Choose(&r->config).status();
  if (!chosen.ok()) {
    r->load_error = chosen.message();
    return;
  }
  Describe(backend.Load(r->file, r->config.runtime), r);
}

// What a loaded instance says, and the config completed from it.
void Describe(core::StatusOr<std::unique_ptr<core::ModelInstance>> instance, InspectReport* r) {
  if (!instance.ok()) {
    r->load_error = instance.status().message();
    return;
  }
  r->loads = true;
  r->signature = (*instance)->signature();
  if (auto st = core::CompleteConfig(r->signature, &r->config); !st.ok()) {
    r->config_error = (r->config_error.empty() ? "" : r->config_error + "; ") + "config.yaml: " + st.message();
  } else if (r->config.device) {
    r->device = InspectDevice(r->config, r->version, instance->get());
    if (!r->device->error.empty()) {
      r->config_error = (r->config_error.empty() ? "" : r->config_error + "; ") + "config.yaml: " + r->device->error;
    }
  }
}

// A remote model (backend: remote): connects to the remote as the server
// would and shows the metadata it gets.
InspectReport InspectRemote(InspectReport r) {
  const core::RemoteModelConfig& remote = *r.config.remote;
  r.runtime = "remote " + remote.url + " model '" + remote.model + "'";
  r.versions_served = r.versions_on_disk.empty() ? std::vector<int64_t>{remote.LocalVersion()}
                                                 : r.config.version_policy.Select(r.versions_on_disk);
  if (r.versions_served.empty()) {
    r.load_error = "version_policy selects none of the version folders";
    return r;
  }
  r.version = r.versions_served.back();
  if (r.config.platform.empty()) r.config.platform = "remote";  // as the server's BackendRegistry fills it in
  remote::RemoteBackend backend;
  Describe(backend.LoadModel(r.config, {}), &r);
  return r;
}

InspectReport InspectModelDir(const fs::path& dir, core::Backend& backend) {
  InspectReport r;
  r.model_dir = dir;
  fs::path abs = fs::absolute(dir).lexically_normal();
  if (!abs.has_filename()) abs = abs.parent_path();
  r.model_name = abs.filename().string();
  r.runtime = backend.version();
  auto parsed = config::ParseModelConfigFile(dir / "config.yaml", r.model_name);
  if (parsed.ok()) {
    r.config = *parsed;
  } else {
    r.config_error = parsed.status().message();
    r.config.name = r.model_name;
  }
  r.versions_on_disk = NumericSubdirs(dir);
  if (r.config.remote) return InspectRemote(std::move(r));
  r.versions_served = r.config.version_policy.Select(r.versions_on_disk);
  if (r.versions_served.empty()) {
    r.load_error = r.versions_on_disk.empty() ? "no version folders (expected " +
                                                    (dir / "1" / r.config.default_model_filename).string() + ")"
                                              : "version_policy selects none of the version folders";
    return r;
  }
  r.version = r.versions_served.back();
  r.file = dir / std::to_string(r.version) / r.config.default_model_filename;
  LoadFile(backend, &r);
  return r;
}

}  // namespace

core::StatusOr<std::vector<InspectReport>> Inspect(const fs::path& path, core::Backend& backend) {
  std::error_code ec;
  std::vector<InspectReport> reports;
  if (fs::is_regular_file(path, ec)) {
    InspectReport r;
    r.model_name = path.stem().string();
    r.file = path;
    r.runtime = backend.version();
    r.config.name = r.model_name;
    LoadFile(backend, &r);
    reports.push_back(std::move(r));
    return reports;
  }
  if (!fs::is_directory(path, ec)) return core::NotFound(path.string() + ": no such file or directory");
  if (IsModelDir(path)) {
    reports.push_back(InspectModelDir(path, backend));
    return reports;
  }
  std::vector<fs::path> models;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    if (e.is_directory(ec) && e.path().filename().string()[0] != '.' && IsModelDir(e.path())) {
      models.push_back(e.path());
    }
  }
  std::sort(models.begin(), models.end());
  if (models.empty()) {
    return core::NotFound(path.string() + ": not a .onnx file, a model folder or a model repository");
  }
  for (const auto& m : models) reports.push_back(InspectModelDir(m, backend));
  return reports;
}

int RunInspect(const fs::path& path, bool json) {
  ort::OrtBackendOptions options;
  options.intra_op_threads = 1;
  auto backend = ort::OrtBackend::Create(options);
  if (!backend.ok()) {
    std::cerr << "infergate inspect: " << backend.status().message() << "\n";
    return 2;
  }
  auto reports = Inspect(path, **backend);
  if (!reports.ok()) {
    std::cerr << "infergate inspect: " << reports.status().message() << "\n";
    return 2;
  }
  bool all_ok = true;
  for (const auto& r : *reports) all_ok = all_ok && r.loads && r.config_error.empty();
  if (json) {
    std::cout << RenderInspectJson(*reports) << "\n";
  } else {
    for (size_t i = 0; i < reports->size(); ++i) {
      if (i) std::cout << "\n";
      std::cout << RenderInspectText((*reports)[i]);
    }
  }
  return all_ok ? 0 : 1;
}

}  // namespace infergate::server
