// The fleet manifest as an edge reads it from its origin (edge/manifest.h):
// parsed and checked; what parses is written back and must parse to the same
// manifest, and every file's URL is built as the sync builds it.
#include <cstdlib>
#include <string>

#include "edge/manifest.h"
#include "fuzz/fuzz_input.h"

namespace infergate::fuzz {
namespace {

void Run(std::string_view json) {
  auto manifest = edge::ParseManifest(json);
  if (!manifest.ok()) return;
  auto again = edge::ParseManifest(edge::ManifestJson(*manifest));
  if (!again.ok() || !(*again == *manifest)) std::abort();
  const std::string base = edge::ResolveUrl("https://origin.example/fleet/manifest.json", manifest->files_url);
  for (const auto& model : manifest->models) {
    for (const auto& version : model.versions) {
      for (const auto& file : version.files) (void)(base + edge::EncodePath(model.name) + "/" + edge::EncodePath(file.path));
    }
  }
}

}  // namespace
}  // namespace infergate::fuzz

INFERGATE_FUZZ_TARGET(infergate::fuzz::Run)
