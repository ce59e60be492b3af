#include "config/tokens_yaml.h"

#include <fstream>
#include <sstream>

#include "config/yaml_util.h"

namespace infergate::config {
namespace {

using core::Status;

// Reads a list of strings (a YAML sequence of scalars) at `key`.
core::StatusOr<std::vector<std::string>> StringList(const YamlReader& r, const YAML::Node& node,
                                                    std::string_view key) {
  if (!node.IsSequence()) return r.Error(node, key, "expected a list of strings");
  std::vector<std::string> out;
  for (const auto& item : node) {
    ASSIGN_OR_RETURN(auto s, r.String(item, key));
    out.push_back(std::move(s));
  }
  return out;
}

Status ParseEntry(const YamlReader& r, const YAML::Node& node, auth::TokenEntry* e) {
  e->line = node.Mark().line + 1;
  RETURN_IF_ERROR(r.CheckKeys(node, "token", {"name", "sha256", "scopes", "models"}));
  for (const char* key : {"name", "sha256", "scopes"}) {
    if (!node[key])
      return r.Error(node, key, "missing (every token needs name, sha256 and scopes)");
  }
  ASSIGN_OR_RETURN(e->name, r.String(node["name"], "name"));
  const std::string entry = "token '" + e->name + "': ";
  if (auto st = auth::ValidateTokenName(e->name); !st.ok())
    return r.Error(node["name"], "name", st.message());
  ASSIGN_OR_RETURN(std::string hex, r.String(node["sha256"], "sha256"));
  auto digest = auth::ParseHexDigest(hex);
  if (!digest.ok()) return r.Error(node["sha256"], "sha256", entry + digest.status().message());
  e->sha256 = *digest;
  ASSIGN_OR_RETURN(auto scopes, StringList(r, node["scopes"], "scopes"));
  if (scopes.empty())
    return r.Error(node["scopes"], "scopes",
                   entry + "needs at least one scope (infer, read, admin)");
  for (const auto& name : scopes) {
    auto scope = auth::ParseScope(name);
    if (!scope.ok()) return r.Error(node["scopes"], "scopes", entry + scope.status().message());
    e->scopes |= static_cast<uint8_t>(*scope);
  }
  if (node["models"]) {
    ASSIGN_OR_RETURN(e->models, StringList(r, node["models"], "models"));
    if (e->models.empty())
      return r.Error(node["models"], "models",
                     entry + "an empty list allows no model; leave it out for every model");
    for (const auto& glob : e->models) {
      if (auto st = auth::ValidateModelGlob(glob); !st.ok())
        return r.Error(node["models"], "models", entry + st.message());
    }
  }
  return Status::Ok();
}

Status ParseRoot(const YamlReader& r, const YAML::Node& root, std::vector<auth::TokenEntry>* out) {
  if (!root.IsSequence())
    return r.Error(root, "", "expected a list of tokens (- name: ..., sha256: ..., scopes: [...])");
  for (const auto& node : root) {
    auth::TokenEntry e;
    RETURN_IF_ERROR(ParseEntry(r, node, &e));
    out->push_back(std::move(e));
  }
  return Status::Ok();
}

}  // namespace

core::StatusOr<std::vector<auth::TokenEntry>> ParseTokens(std::string_view yaml,
                                                          std::string_view origin) {
  std::vector<auth::TokenEntry> entries;
  RETURN_IF_ERROR(ParseYamlDocument(yaml, origin, &entries, ParseRoot));
  // Names and hashes unique, globs well-formed: the same check a Policy makes.
  RETURN_IF_ERROR(auth::TokenSet::Create(entries, origin).status());
  return entries;
}

core::StatusOr<std::vector<auth::TokenEntry>> ParseTokensFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return core::InvalidArgument("cannot read the tokens file " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  return ParseTokens(text.str(), file.string());
}

}  // namespace infergate::config
