// `infergate serve` and `infergate inspect` as a user runs them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "testing/process.h"
#include "testing/temp_dir.h"

namespace infergate {
namespace {

using testing::Process;
using testing::TempDir;
namespace fs = std::filesystem;

const fs::path kModels = INFERGATE_TEST_MODELS_DIR;

void CopyModel(const TempDir& repo, const std::string& file, const std::string& name, int version) {
  fs::create_directories(repo.path() / name / std::to_string(version));
  fs::copy_file(kModels / file, repo.path() / name / std::to_string(version) / "model.onnx",
                fs::copy_options::overwrite_existing);
}

TEST(ServeE2ETest, LoadsReportsReloadsAndStopsOnSigterm) {
  TempDir repo;
  CopyModel(repo, "mlp16.onnx", "mlp", 1);
  CopyModel(repo, "corrupt_truncated.onnx", "broken", 1);
  Process server({INFERGATE_BINARY, "serve", "--http-port", "0", "--model-repository", repo.path().string(),
                  "--repository-poll-secs", "0.1"});
  ASSERT_TRUE(server.started());
  ASSERT_TRUE(server.WaitForLine("runtime onnxruntime 1\\.30")) << server.Output();
  ASSERT_TRUE(server.WaitForLine("model mlp version 1 READY")) << server.Output();
  ASSERT_TRUE(server.WaitForLine("infergate ready")) << server.Output();
  EXPECT_NE(server.Output().find("model broken version 1 UNAVAILABLE"), std::string::npos)
      << server.Output();

  CopyModel(repo, "mlp16.onnx", "mlp", 2);
  ASSERT_TRUE(server.WaitForLine("model mlp version 2 READY")) << server.Output();
  EXPECT_EQ(server.Stop(SIGTERM), 0) << server.Output();
  EXPECT_NE(server.Output().find("infergate stopped"), std::string::npos);
}

TEST(ServeE2ETest, BadConfigExitsWithAMessage) {
  TempDir dir;
  auto config = dir.Write("infergate.yaml", "model_control_mode: sometimes\n");
  Process server({INFERGATE_BINARY, "serve", "--config", config.string()});
  EXPECT_EQ(server.Wait(), 2);
  EXPECT_NE(server.Output().find("infergate.yaml: line 1: key 'model_control_mode'"), std::string::npos)
      << server.Output();
  Process no_repo({INFERGATE_BINARY, "serve"});
  EXPECT_EQ(no_repo.Wait(), 2);
  EXPECT_NE(no_repo.Output().find("--model-repository"), std::string::npos) << no_repo.Output();
}

TEST(InspectE2ETest, OnnxFileText) {
  Process p({INFERGATE_BINARY, "inspect", (kModels / "mlp16.onnx").string()});
  EXPECT_EQ(p.Wait(), 0) << p.Output();
  const std::string& out = p.Output();
  EXPECT_NE(out.find("loads in onnxruntime 1.30"), std::string::npos) << out;
  EXPECT_NE(out.find("ai.onnx 17"), std::string::npos) << out;
  EXPECT_NE(out.find("infergate-testdata"), std::string::npos) << out;
  EXPECT_NE(out.find("[batch, 16]"), std::string::npos) << out;
  EXPECT_NE(out.find("max_batch_size: 32   # auto: from the model file"), std::string::npos) << out;
}

TEST(InspectE2ETest, ModelFolderJsonAndCorruptFile) {
  TempDir repo;
  CopyModel(repo, "add_sub.onnx", "simple", 1);
  CopyModel(repo, "add_sub.onnx", "simple", 2);
  repo.Write("simple/config.yaml", "max_batch_size: 8\nversion_policy: {all: {}}\n");
  Process p({INFERGATE_BINARY, "inspect", "--json", (repo.path() / "simple").string()});
  EXPECT_EQ(p.Wait(), 0) << p.Output();
  const std::string& out = p.Output();
  EXPECT_NE(out.find("\"versions_served\": [\n      1,\n      2\n    ]"), std::string::npos) << out;
  EXPECT_NE(out.find("\"max_batch_size\": 8"), std::string::npos) << out;
  EXPECT_NE(out.find("\"name\": \"INPUT1\""), std::string::npos) << out;

  Process bad({INFERGATE_BINARY, "inspect", (kModels / "corrupt_truncated.onnx").string()});
  EXPECT_EQ(bad.Wait(), 1);
  EXPECT_NE(bad.Output().find("loads in onnxruntime 1.30.0: NO: "), std::string::npos) << bad.Output();
  EXPECT_NE(bad.Output().find("corrupt_truncated.onnx"), std::string::npos) << bad.Output();

  Process missing({INFERGATE_BINARY, "inspect", "/nonexistent/model.onnx"});
  EXPECT_EQ(missing.Wait(), 2);
}

}  // namespace
}  // namespace infergate
