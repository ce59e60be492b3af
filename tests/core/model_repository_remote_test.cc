// The repository with a backend whose models have no file (backend: remote):
// which versions such a model gets, and loads that fail with UNAVAILABLE
// being tried again at the next poll.
#include <gtest/gtest.h>

#include <atomic>

#include "config/model_config_yaml.h"
#include "core/model_repository.h"
#include "testing/fake_backend.h"
#include "testing/temp_dir.h"

namespace infergate::core {
namespace {

using testing::TempDir;

// Serves every remote model as FP32 x -> y [-1, 4] unless `down`.
class FakeRemoteBackend : public Backend {
 public:
  std::string_view name() const override { return "remote"; }
  std::string version() const override { return "fake remote"; }
  bool uses_model_file() const override { return false; }
  StatusOr<std::unique_ptr<ModelInstance>> Load(const std::filesystem::path&, const RuntimeOptions&) override {
    return FailedPrecondition("no file");
  }
  StatusOr<std::unique_ptr<ModelInstance>> LoadModel(const ModelConfig& config,
                                                     const std::filesystem::path& file) override {
    loads.fetch_add(1);
    EXPECT_TRUE(file.empty());
    if (!config.remote) return FailedPrecondition("no remote section");
    if (down) return Unavailable("remote " + config.remote->url + " unreachable");
    ModelSignature sig;
    sig.inputs.push_back({"x", DataType::kFp32, {-1, 4}, {}, {}});
    sig.outputs.push_back({"y", DataType::kFp32, {-1, 4}, {}, {}});
    sig.max_batch_size = 4;
    return std::unique_ptr<ModelInstance>(new testing::FakeInstance(std::move(sig)));
  }
  std::atomic<int> loads{0};
  std::atomic<bool> down{false};
};

class RemoteRepositoryTest : public ::testing::Test {
 protected:
  std::unique_ptr<ModelRepository> Make() {
    ModelRepository::Options o;
    o.root = dir_.path();
    EXPECT_TRUE(o.backends.Add(&local_).ok());
    EXPECT_TRUE(o.backends.Add(&remote_).ok());
    o.parse_config = &config::ParseModelConfigFile;
    auto repo = ModelRepository::Create(std::move(o));
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    return std::move(*repo);
  }

  std::vector<int64_t> Versions(const ModelRepository& repo, const std::string& model) {
    for (const auto& m : repo.Index()) {
      if (m.name != model) continue;
      std::vector<int64_t> out;
      for (const auto& v : m.versions) out.push_back(v.version);
      return out;
    }
    return {};
  }

  TempDir dir_;
  testing::FakeBackend local_;
  FakeRemoteBackend remote_;
};

TEST_F(RemoteRepositoryTest, WithoutVersionFoldersARemoteModelIsOneVersion) {
  dir_.Write("plain/config.yaml", "backend: remote\nremote: {url: 'grpc://cloud:8001'}\n");
  dir_.Write("pinned/config.yaml", "remote: {url: 'http://cloud:8000', version: '3'}\n");
  auto repo = Make();
  repo->Poll();
  EXPECT_EQ(Versions(*repo, "plain"), (std::vector<int64_t>{1}));
  EXPECT_EQ(Versions(*repo, "pinned"), (std::vector<int64_t>{3}));
  auto plain = repo->Get("plain");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ((*plain)->config().backend, "remote");
  EXPECT_EQ((*plain)->config().remote->model, "plain");  // defaults to the folder's name
  EXPECT_EQ((*plain)->config().max_batch_size, 4);       // the remote's own limit
  EXPECT_TRUE(repo->Get("pinned", 3).ok());
}

TEST_F(RemoteRepositoryTest, EmptyVersionFoldersNameItsVersions) {
  dir_.Write("m/config.yaml", "remote: {url: 'grpc://cloud:8001'}\nversion_policy: {all: {}}\n");
  std::filesystem::create_directories(dir_.path() / "m" / "2");
  std::filesystem::create_directories(dir_.path() / "m" / "5");
  auto repo = Make();
  repo->Poll();
  EXPECT_EQ(Versions(*repo, "m"), (std::vector<int64_t>{2, 5}));
  EXPECT_TRUE(repo->Get("m", 5).ok());
}

TEST_F(RemoteRepositoryTest, AnUnavailableRemoteIsTriedAgainAtEachPoll) {
  dir_.Write("m/config.yaml", "remote: {url: 'grpc://cloud:8001'}\n");
  dir_.Write("broken/1/model.onnx", "BROKEN");
  remote_.down = true;
  auto repo = Make();
  repo->Poll();
  auto m = repo->Get("m");
  EXPECT_EQ(m.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(m.status().message().find("remote grpc://cloud:8001 unreachable"), std::string::npos)
      << m.status().message();
  const int local_loads = local_.loads.load();
  repo->Poll();
  EXPECT_EQ(remote_.loads.load(), 2);         // tried again with nothing changed on disk
  EXPECT_EQ(local_.loads.load(), local_loads);  // a broken file is not
  remote_.down = false;
  repo->Poll();
  EXPECT_TRUE(repo->Get("m").ok());
  repo->Poll();
  EXPECT_EQ(remote_.loads.load(), 3);  // READY: not loaded again
}

}  // namespace
}  // namespace infergate::core
