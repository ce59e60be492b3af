#include "edge/manifest.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <charconv>
#include <set>

#include "core/model_name.h"

namespace infergate::edge {
namespace {

using core::InvalidArgument;
using core::Status;
using core::StatusOr;
using Json = nlohmann::json;

constexpr int kMaxDepth = 8;
constexpr int kMaxSegments = 8;
constexpr size_t kMaxPathBytes = 1024;

// The deepest nesting of arrays and objects in `text` (strings skipped), so
// that the parser never sees more than kMaxDepth levels.
int Depth(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

bool IsHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

const Json* Member(const Json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

StatusOr<ManifestFile> ParseFile(const Json& j, bool model_level, const std::string& where) {
  if (!j.is_object()) return InvalidArgument(where + ": a file must be an object");
  const Json* path = Member(j, "path");
  const Json* size = Member(j, "size");
  const Json* sha = Member(j, "sha256");
  if (!path || !path->is_string()) return InvalidArgument(where + ": 'path' must be a string");
  ManifestFile f;
  f.path = path->get<std::string>();
  const std::string at = where + " file '" + core::EscapeModelName(f.path) + "'";
  RETURN_IF_ERROR(ValidateFilePath(f.path, model_level).WithPrefix(at));
  if (!size || !size->is_number_unsigned() || size->get<uint64_t>() > kMaxManifestFileBytes) {
    return InvalidArgument(at + ": 'size' must be an integer from 0 to 2^40");
  }
  f.size = size->get<uint64_t>();
  if (!sha || !sha->is_string() || !IsHex64(sha->get<std::string>())) {
    return InvalidArgument(at + ": 'sha256' must be 64 lowercase hex digits");
  }
  f.sha256 = sha->get<std::string>();
  return f;
}

StatusOr<std::vector<ManifestFile>> ParseFiles(const Json* j, bool model_level, const std::string& where) {
  std::vector<ManifestFile> out;
  if (!j) return out;
  if (!j->is_array()) return InvalidArgument(where + ": 'files' must be an array");
  std::set<std::string> seen;
  for (const Json& f : *j) {
    ASSIGN_OR_RETURN(ManifestFile file, ParseFile(f, model_level, where));
    if (!seen.insert(file.path).second) return InvalidArgument(where + ": file '" + file.path + "' listed twice");
    out.push_back(std::move(file));
  }
  return out;
}

StatusOr<ManifestVersion> ParseVersion(const Json& j, const std::string& model) {
  if (!j.is_object()) return InvalidArgument("model '" + model + "': a version must be an object");
  const Json* v = Member(j, "version");
  if (!v || !v->is_number_integer() || v->get<int64_t>() < 1) {
    return InvalidArgument("model '" + model + "': 'version' must be a positive integer");
  }
  ManifestVersion out;
  out.version = v->get<int64_t>();
  const std::string where = "model '" + model + "' version " + std::to_string(out.version);
  ASSIGN_OR_RETURN(out.files, ParseFiles(Member(j, "files"), false, where));
  if (out.files.empty()) return InvalidArgument(where + ": no files");
  return out;
}

StatusOr<ManifestModel> ParseModel(const Json& j) {
  if (!j.is_object()) return InvalidArgument("a model must be an object");
  const Json* name = Member(j, "name");
  if (!name || !name->is_string()) return InvalidArgument("a model's 'name' must be a string");
  ManifestModel m;
  m.name = name->get<std::string>();
  RETURN_IF_ERROR(core::ValidateModelName(m.name));
  if (m.name[0] == '.') return InvalidArgument("model '" + core::EscapeModelName(m.name) + "': hidden name");
  const std::string where = "model '" + m.name + "'";
  ASSIGN_OR_RETURN(m.files, ParseFiles(Member(j, "files"), true, where));
  if (const Json* versions = Member(j, "versions")) {
    if (!versions->is_array()) return InvalidArgument(where + ": 'versions' must be an array");
    std::set<int64_t> seen;
    for (const Json& v : *versions) {
      ASSIGN_OR_RETURN(ManifestVersion version, ParseVersion(v, m.name));
      if (!seen.insert(version.version).second) {
        return InvalidArgument(where + ": version " + std::to_string(version.version) + " listed twice");
      }
      m.versions.push_back(std::move(version));
    }
  }
  return m;
}

StatusOr<Manifest> ParseRoot(const Json& root) {
  if (!root.is_object()) return InvalidArgument("the manifest must be a JSON object");
  if (const Json* format = Member(root, "format"); format && (!format->is_number_integer() || *format != 1)) {
    return InvalidArgument("manifest 'format' must be 1");
  }
  Manifest out;
  if (const Json* base = Member(root, "files_url")) {
    if (!base->is_string()) return InvalidArgument("manifest 'files_url' must be a string");
    out.files_url = base->get<std::string>();
  }
  const Json* models = Member(root, "models");
  if (!models || !models->is_array()) return InvalidArgument("manifest 'models' must be an array");
  std::set<std::string> seen;
  for (const Json& m : *models) {
    ASSIGN_OR_RETURN(ManifestModel model, ParseModel(m));
    if (!seen.insert(model.name).second) return InvalidArgument("model '" + model.name + "' listed twice");
    out.models.push_back(std::move(model));
  }
  return out;
}

Json FilesJson(const std::vector<ManifestFile>& files) {
  Json out = Json::array();
  for (const auto& f : files) out.push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  return out;
}

}  // namespace

Status ValidateFilePath(std::string_view path, bool model_level) {
  if (path.empty() || path.size() > kMaxPathBytes) return InvalidArgument("path must be 1 to 1024 bytes");
  int segments = 0;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view seg = path.substr(pos, slash - pos);
    if (seg.empty()) return InvalidArgument("path has an empty segment (absolute, or '//')");
    if (seg[0] == '.') return InvalidArgument("path has a segment starting with '.'");
    for (unsigned char c : seg) {
      if (c < 0x20 || c == 0x7f || c == '\\') return InvalidArgument("path has a control byte or '\\'");
    }
    if (++segments > kMaxSegments) return InvalidArgument("path has more than 8 segments");
    if (segments == 1 && model_level && AllDigits(seg)) {
      return InvalidArgument("a model file's path must not start with a version folder");
    }
    pos = slash + 1;
  }
  return Status::Ok();
}

StatusOr<Manifest> ParseManifest(std::string_view json) {
  if (json.size() > kMaxManifestBytes) return InvalidArgument("manifest larger than 16 MiB");
  if (Depth(json) > kMaxDepth) return InvalidArgument("manifest nested deeper than 8 levels");
  Json root = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return InvalidArgument("manifest is not valid JSON");
  try {
    return ParseRoot(root);
  } catch (const Json::exception& e) {  // the one adapter for nlohmann's exceptions
    return InvalidArgument(std::string("manifest: ") + e.what());
  }
}

std::string ManifestJson(const Manifest& manifest) {
  Json models = Json::array();
  for (const auto& m : manifest.models) {
    Json versions = Json::array();
    for (const auto& v : m.versions) versions.push_back({{"version", v.version}, {"files", FilesJson(v.files)}});
    models.push_back({{"name", m.name}, {"files", FilesJson(m.files)}, {"versions", std::move(versions)}});
  }
  Json root = {{"format", 1}};
  if (!manifest.files_url.empty()) root["files_url"] = manifest.files_url;
  root["models"] = std::move(models);
  // Names come from file names, which need not be UTF-8: such bytes become U+FFFD, never an exception.
  return root.dump(1, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::optional<int64_t> VersionFolder(std::string_view name) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), v);
  if (ec != std::errc() || end != name.data() + name.size() || v < 1) return std::nullopt;
  return v;
}

std::string ResolveUrl(const std::string& base, const std::string& ref) {
  if (ref.rfind("http://", 0) == 0 || ref.rfind("https://", 0) == 0) return ref;
  const size_t scheme = base.find("://");
  const size_t path_start = scheme == std::string::npos ? 0 : base.find('/', scheme + 3);
  const std::string authority = path_start == std::string::npos ? base : base.substr(0, path_start);
  if (!ref.empty() && ref[0] == '/') return authority + ref;
  std::string path = path_start == std::string::npos ? "/" : base.substr(path_start);
  path = path.substr(0, path.find_first_of("?#"));
  return authority + path.substr(0, path.rfind('/') + 1) + ref;
}

std::string EncodePath(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

}  // namespace infergate::edge
