// Builds temporary model repositories out of the committed test models.
#pragma once

#include <filesystem>
#include <string>

#include "testing/temp_dir.h"

namespace infergate::testing {

// Copies tests/models/<file> to <repo>/<name>/<version>/model.onnx.
inline void CopyModel(const TempDir& repo, const std::string& file, const std::string& name, int version = 1) {
  const std::filesystem::path models = INFERGATE_TEST_MODELS_DIR;
  const auto dir = repo.path() / name / std::to_string(version);
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(models / file, dir / "model.onnx",
                             std::filesystem::copy_options::overwrite_existing);
}

}  // namespace infergate::testing
