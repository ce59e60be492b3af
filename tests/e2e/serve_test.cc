// `infergate serve` and `infergate inspect` as a user runs them.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "testing/model_repo.h"
#include "testing/process.h"
#include "testing/serve_command.h"
#include "testing/temp_dir.h"

namespace infergate {
namespace {

using testing::CopyModel;
using testing::Process;
using testing::TempDir;
namespace fs = std::filesystem;

const fs::path kModels = INFERGATE_TEST_MODELS_DIR;

TEST(ServeE2ETest, LoadsReportsReloadsAndStopsOnSigterm) {
  TempDir repo;
  CopyModel(repo, "mlp16.onnx", "mlp", 1);
  CopyModel(repo, "corrupt_truncated.onnx", "broken", 1);
  Process server(
      testing::ServeCommand({"--model-repository", repo.path().string(), "--repository-poll-secs", "0.1"}));
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

// SIGHUP reads the config again: the log level applies at once, a key that
// needs a restart is named, a config that no longer parses changes nothing.
TEST(ServeE2ETest, SighupAppliesTheLogLevelAndNamesWhatNeedsARestart) {
  TempDir repo;
  CopyModel(repo, "mlp16.onnx", "mlp", 1);
  TempDir dir;
  const std::string base = "model_repository: " + repo.path().string() + "\nmodel_control_mode: none\n";
  auto config = dir.Write("infergate.yaml", base + "log_level: info\n");
  Process server(testing::ServeCommand({"--config", config.string()}));
  ASSERT_TRUE(server.WaitForLine("infergate ready")) << server.Output();
  dir.Write("infergate.yaml", base + "log_level: debug\ndrain_secs: 7\ngrpc:\n  io_threads: 2\n");
  ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
  EXPECT_TRUE(server.WaitForLine("SIGHUP: log_level info -> debug")) << server.Output();
  EXPECT_TRUE(server.WaitForLine("SIGHUP: needs a restart to apply: drain_secs, grpc")) << server.Output();
  dir.Write("infergate.yaml", base + "log_level: loud\n");
  ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
  EXPECT_TRUE(server.WaitForLine("the config was not reloaded: log_level must be")) << server.Output();
  EXPECT_EQ(server.Stop(SIGTERM), 0) << server.Output();
}

// The local addresses ("127.0.0.1", "0.0.0.0", "::1", ...) of the TCP
// sockets process `pid` listens on, read from /proc.
std::vector<std::string> ListeningAddresses(pid_t pid) {
  std::set<std::string> inodes;
  const fs::path fds = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& e : fs::directory_iterator(fds)) {
    std::error_code ec;
    const std::string target = fs::read_symlink(e.path(), ec).string();
    if (!ec && target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  std::vector<std::string> out;
  for (const char* table : {"tcp", "tcp6"}) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/net/" + table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
      if (state != "0A" || !inodes.count(inode)) continue;  // 0A: LISTEN
      const std::string hex = local.substr(0, local.find(':'));
      if (hex.size() == 8) {  // IPv4, little-endian bytes
        const unsigned long v = std::stoul(hex, nullptr, 16);
        out.push_back(std::to_string(v & 0xFF) + "." + std::to_string((v >> 8) & 0xFF) + "." +
                      std::to_string((v >> 16) & 0xFF) + "." + std::to_string(v >> 24));
      } else {
        out.push_back(hex == "00000000000000000000000001000000" ? "::1"
                      : hex == "00000000000000000000000000000000" ? "::" : hex);
      }
    }
  }
  return out;
}

TEST(ServeE2ETest, WithoutAnAddressHttpAndGrpcListenOnLoopbackOnly) {
  TempDir repo;
  CopyModel(repo, "mlp16.onnx", "mlp", 1);
  Process server({INFERGATE_BINARY, "serve", "--model-repository", repo.path().string(), "--http-port", "0",
                  "--grpc-port", "0"});
  ASSERT_TRUE(server.WaitForLine("infergate ready")) << server.Output();
  const auto addresses = ListeningAddresses(server.pid());
  EXPECT_EQ(addresses.size(), 2u) << server.Output();  // HTTP and gRPC
  for (const auto& a : addresses) EXPECT_TRUE(a == "127.0.0.1" || a == "::1") << a;
  // The log says how to open them to other hosts.
  EXPECT_NE(server.Output().find("http: loopback only; --http-address 0.0.0.0 (http.address) serves other hosts"),
            std::string::npos)
      << server.Output();
  EXPECT_EQ(server.Stop(SIGTERM), 0) << server.Output();
}

TEST(ServeE2ETest, ListeningBeyondLoopbackWithoutProtectionIsAWarning) {
  TempDir repo;
  CopyModel(repo, "mlp16.onnx", "mlp", 1);
  Process server({INFERGATE_BINARY, "serve", "--model-repository", repo.path().string(), "--http-address",
                  "0.0.0.0", "--http-port", "0", "--grpc-port", "0"});
  ASSERT_TRUE(server.WaitForLine("infergate ready")) << server.Output();
  EXPECT_NE(server.Output().find("[warning] http: listening on 0.0.0.0 without TLS or authentication"),
            std::string::npos)
      << server.Output();
  EXPECT_EQ(server.Output().find("[warning] grpc:"), std::string::npos) << server.Output();
  EXPECT_EQ(server.Stop(SIGTERM), 0) << server.Output();
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
