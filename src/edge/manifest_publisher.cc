#include "edge/manifest_publisher.h"

#include <algorithm>

#include "core/model_name.h"
#include "edge/sha256.h"

namespace infergate::edge {
namespace fs = std::filesystem;
namespace {

bool Hidden(const fs::path& p) { return p.filename().string().rfind('.', 0) == 0; }

// The regular files under `dir` (relative, '/'-separated, sorted), at most
// `depth` levels down; hidden names skipped.
std::vector<std::string> RegularFiles(const fs::path& dir, int depth) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (Hidden(it->path())) continue;
    std::error_code sec;
    if (it->is_regular_file(sec)) {
      out.push_back(it->path().filename().string());
    } else if (depth > 1 && it->is_directory(sec)) {
      for (auto& sub : RegularFiles(it->path(), depth - 1)) out.push_back(it->path().filename().string() + "/" + sub);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

ManifestPublisher::ManifestPublisher(fs::path root, Published published)
    : root_(std::move(root)), published_(std::move(published)) {}

core::StatusOr<ManifestFile> ManifestPublisher::Describe(const fs::path& file, std::string rel) {
  auto digest = digests_.Get(file);
  // The message goes to clients: it names the file relative to its model folder.
  if (!digest.ok()) return core::Unavailable(rel + " cannot be read, or changed while it was hashed");
  return ManifestFile{std::move(rel), digest->size, std::move(digest->sha256)};
}

core::Status ManifestPublisher::AddModel(const fs::path& dir, const std::string& name, Manifest* out) {
  ManifestModel model{name, {}, {}};
  std::map<int64_t, ManifestVersion> versions;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string entry = it->path().filename().string();
    std::error_code sec;
    if (Hidden(it->path())) continue;
    if (it->is_regular_file(sec) && ValidateFilePath(entry, true).ok()) {
      ASSIGN_OR_RETURN(ManifestFile file, Describe(it->path(), entry));
      model.files.push_back(std::move(file));
      continue;
    }
    auto v = VersionFolder(entry);
    if (!v || !it->is_directory(sec) || (published_ && !published_(name, *v))) continue;
    ManifestVersion version{*v, {}};
    for (const std::string& rel : RegularFiles(it->path(), 8)) {
      if (!ValidateFilePath(rel, false).ok()) continue;
      ASSIGN_OR_RETURN(ManifestFile file, Describe(it->path() / rel, rel));
      version.files.push_back(std::move(file));
    }
    if (!version.files.empty()) versions[*v] = std::move(version);
  }
  if (ec) return core::Unavailable("cannot list model '" + name + "': " + ec.message());
  std::sort(model.files.begin(), model.files.end(), [](auto& a, auto& b) { return a.path < b.path; });
  for (auto& [v, version] : versions) model.versions.push_back(std::move(version));
  out->models.push_back(std::move(model));
  return core::Status::Ok();
}

core::StatusOr<Manifest> ManifestPublisher::Build(const std::string& files_url) {
  Manifest out;
  out.files_url = files_url;
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(root_, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code sec;
    const std::string name = it->path().filename().string();
    if (!Hidden(it->path()) && it->is_directory(sec) && core::ValidateModelName(name).ok()) names.push_back(name);
  }
  if (ec) return core::Unavailable("cannot list the model repository: " + ec.message());
  std::sort(names.begin(), names.end());
  for (const auto& name : names) RETURN_IF_ERROR(AddModel(root_ / name, name, &out));
  return out;
}

core::StatusOr<fs::path> ManifestPublisher::File(std::string_view model, std::string_view path) const {
  const std::string what = "no file '" + core::EscapeModelName(path) + "' of model '" + core::EscapeModelName(model) + "'";
  if (!core::ValidateModelName(model).ok() || model[0] == '.') return core::NotFound(what);
  const size_t slash = path.find('/');
  const auto version = VersionFolder(path.substr(0, slash));
  const bool model_level = slash == std::string_view::npos;
  if (!ValidateFilePath(path, model_level).ok() || (!model_level && !version)) return core::NotFound(what);
  if (version && published_ && !published_(std::string(model), *version)) return core::NotFound(what);
  const fs::path file = root_ / std::string(model) / std::string(path);
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return core::NotFound(what);
  return file;
}

}  // namespace infergate::edge
