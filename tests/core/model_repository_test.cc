#include "core/model_repository.h"

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "config/model_config_yaml.h"
#include "testing/fake_backend.h"
#include "testing/sanitizers.h"
#include "testing/temp_dir.h"

namespace infergate::core {
namespace {

using testing::FakeBackend;
using testing::TempDir;

class ModelRepositoryTest : public ::testing::Test {
 protected:
  std::unique_ptr<ModelRepository> Make() {
    ModelRepository::Options o;
    o.root = dir_.path();
    EXPECT_TRUE(o.backends.Add(&backend_).ok());
    o.parse_config = &config::ParseModelConfigFile;
    auto repo = ModelRepository::Create(std::move(o));
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    return std::move(*repo);
  }

  static Status RunOnce(const ModelVersion& v) {
    auto in = Tensor::FromValues<float>(DataType::kFp32, {1, 4}, {1, 2, 3, 4});
    std::vector<InferOutput> out;
    return v.instance(0).Run({{"x", in, {}}}, {}, &out);
  }

  TempDir dir_;
  FakeBackend backend_;
};

// Uses up every file descriptor the process may open (RLIMIT_NOFILE lowered
// to a small number first) for as long as it lives.
class FileDescriptorExhaustion {
 public:
  FileDescriptorExhaustion() {
    getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit low = saved_;
    low.rlim_cur = std::min<rlim_t>(saved_.rlim_cur, 256);
    setrlimit(RLIMIT_NOFILE, &low);
    for (int fd = dup(0); fd >= 0; fd = dup(0)) fds_.push_back(fd);
  }
  ~FileDescriptorExhaustion() {
    for (int fd : fds_) close(fd);
    setrlimit(RLIMIT_NOFILE, &saved_);
  }

 private:
  rlimit saved_{};
  std::vector<int> fds_;
};

// A poll that cannot list the repository (here: no file descriptor left)
// keeps every model loaded, says why and counts it; it is not an empty
// repository.
TEST_F(ModelRepositoryTest, ListingErrorKeepsWhatIsLoaded) {
  INFERGATE_SKIP_WITHOUT_FREE_DESCRIPTORS_UNDER_UBSAN();
  dir_.Write("m/1/model.onnx", "FP32 x y -1 4");
  auto repo = Make();
  MetricsRegistry metrics;
  repo->SetMetrics(&metrics);
  int removed = 0;
  repo->AddListener([&](const RepositoryEvent& e) {
    removed += e.kind == RepositoryEvent::Kind::kVersionRemoved ? 1 : 0;
  });
  repo->Poll();
  ASSERT_TRUE(repo->Get("m").ok());
  EXPECT_EQ(repo->scan_error(), "");
  {
    FileDescriptorExhaustion exhausted;
    repo->Poll();
    repo->Poll();
  }
  EXPECT_TRUE(repo->Get("m").ok()) << repo->Get("m").status().ToString();
  EXPECT_EQ(removed, 0);
  EXPECT_NE(repo->scan_error().find("cannot list " + dir_.path().string()), std::string::npos)
      << repo->scan_error();
  const Counter* errors = metrics.FindCounter("infergate_repository_scan_errors_total", {});
  ASSERT_NE(errors, nullptr);
  EXPECT_EQ(errors->value(), 2u);

  repo->Poll();  // descriptors are back
  EXPECT_EQ(repo->scan_error(), "");
  EXPECT_TRUE(repo->Get("m").ok());
  EXPECT_EQ(errors->value(), 2u);
}

// Reasons reach clients (repository index, model ready, errors): they name
// files relative to the repository's root, never where it lies on the server.
TEST_F(ModelRepositoryTest, LoadsEveryModelAndReportsBrokenOnes) {
  dir_.Write("good/1/model.onnx", "FP32 x y -1 4");
  dir_.Write("gone/config.yaml", "default_model_filename: other.onnx\n");
  dir_.Write("gone/1/model.onnx", "FP32 x y -1 4");
  dir_.Write("broken/1/model.onnx", "BROKEN");
  dir_.Write("empty/README", "no versions here");
  dir_.Write("badconfig/config.yaml", "max_batch_size: [1, 2]\n");
  dir_.Write("badconfig/1/model.onnx", "FP32 x y -1 4");
  auto repo = Make();
  repo->Poll();

  auto good = repo->Get("good");
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ((*good)->version(), 1);
  EXPECT_EQ((*good)->config().max_batch_size, kDefaultMaxBatchSize);
  EXPECT_TRUE(RunOnce(**good).ok());

  auto broken = repo->Get("broken");
  EXPECT_EQ(broken.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(broken.status().message().find("broken/1/model.onnx: not a model"), std::string::npos)
      << broken.status().message();
  const std::string root = dir_.path().string();
  EXPECT_EQ(broken.status().message().find(root), std::string::npos) << broken.status().message();
  EXPECT_EQ(repo->Get("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(repo->Get("good", 7).status().code(), StatusCode::kNotFound);

  std::map<std::string, ModelStatus> index;
  for (auto& m : repo->Index()) index[m.name] = m;
  ASSERT_EQ(index.size(), 5u);
  EXPECT_EQ(index["good"].versions[0].state, ModelState::kReady);
  EXPECT_EQ(index["broken"].versions[0].state, ModelState::kUnavailable);
  EXPECT_NE(index["broken"].versions[0].reason.find("broken/1/model.onnx"), std::string::npos);
  EXPECT_EQ(index["broken"].versions[0].reason.find(root), std::string::npos)
      << index["broken"].versions[0].reason;
  EXPECT_EQ(index["gone"].versions[0].reason, "missing model file gone/1/other.onnx");
  EXPECT_EQ(index["empty"].reason, "no version folders (expected empty/1/model.onnx)");
  EXPECT_NE(index["badconfig"].reason.find("config.yaml: line 1: key 'max_batch_size'"),
            std::string::npos)
      << index["badconfig"].reason;
  EXPECT_EQ(index["badconfig"].reason.find(root), std::string::npos) << index["badconfig"].reason;
}

// The backend comes from config.yaml's backend or platform, else the file's
// extension; a name no backend answers to fails the version, not the parse.
TEST_F(ModelRepositoryTest, ChoosesTheBackendByNamePlatformOrExtension) {
  dir_.Write("by_ext/1/model.onnx", "FP32 x y -1 4");
  dir_.Write("by_platform/config.yaml", "platform: onnxruntime_onnx\n");
  dir_.Write("by_platform/1/model.onnx", "FP32 x y -1 4");
  dir_.Write("xgb/config.yaml", "backend: xgboost\n");
  dir_.Write("xgb/1/model.onnx", "FP32 x y -1 4");
  dir_.Write("pt/config.yaml", "default_model_filename: model.pt\n");
  dir_.Write("pt/1/model.pt", "FP32 x y -1 4");
  auto repo = Make();
  repo->Poll();
  auto by_ext = repo->Get("by_ext");
  ASSERT_TRUE(by_ext.ok()) << by_ext.status().ToString();
  EXPECT_EQ((*by_ext)->config().backend, "fake");
  EXPECT_EQ((*by_ext)->config().platform, "onnxruntime_onnx");
  ASSERT_TRUE(repo->Get("by_platform").ok());
  auto xgb = repo->Get("xgb");
  EXPECT_EQ(xgb.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(xgb.status().message().find("no backend 'xgboost' in this server; available: fake"),
            std::string::npos)
      << xgb.status().message();
  auto pt = repo->Get("pt");
  EXPECT_NE(pt.status().message().find("no backend loads 'model.pt'"), std::string::npos)
      << pt.status().message();
}

TEST_F(ModelRepositoryTest, AddReplaceRemoveVersions) {
  dir_.Write("m/1/model.onnx", "FP32 x y -1 4");
  auto repo = Make();
  std::vector<std::string> events;
  repo->AddListener([&](const RepositoryEvent& e) {
    events.push_back((e.kind == RepositoryEvent::Kind::kVersionReady ? "ready " : "removed ") +
                     std::to_string(e.version->version()));
  });
  repo->Poll();
  auto v1 = *repo->Get("m");

  dir_.Write("m/2/model.onnx", "FP32 x y -1 4");
  repo->Poll();
  EXPECT_EQ((*repo->Get("m"))->version(), 2);
  EXPECT_EQ(repo->Get("m", 1).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(RunOnce(*v1).ok()) << "a request holding version 1 still runs after it was unloaded";

  int loads = backend_.loads;
  repo->Poll();
  EXPECT_EQ(backend_.loads, loads) << "an unchanged version is not reloaded";

  dir_.Write("m/2/model.onnx", "FP32 x y -1 4      ");
  repo->Poll();
  EXPECT_EQ(backend_.loads, loads + 1) << "a changed file is reloaded";

  dir_.Write("m/2/model.onnx", "BROKEN and longer");
  repo->Poll();
  auto kept = repo->Get("m");
  ASSERT_TRUE(kept.ok()) << "a failed reload keeps the version loaded before";
  EXPECT_NE(repo->Index()[0].versions[0].reason.find("reload failed"), std::string::npos);

  std::filesystem::remove_all(dir_.path() / "m" / "2");
  repo->Poll();
  EXPECT_EQ((*repo->Get("m"))->version(), 1);

  std::filesystem::remove_all(dir_.path() / "m");
  repo->Poll();
  EXPECT_EQ(repo->Get("m").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(events, (std::vector<std::string>{"ready 1", "ready 2", "removed 1", "ready 2",
                                              "removed 2", "ready 1", "removed 2", "removed 1"}));
}

TEST_F(ModelRepositoryTest, VersionPolicyAndConfigChanges) {
  dir_.Write("m/config.yaml", "version_policy: {all: {}}\n");
  dir_.Write("m/1/model.onnx", "FP32 x y -1 4");
  dir_.Write("m/3/model.onnx", "FP32 x y -1 4");
  auto repo = Make();
  repo->Poll();
  EXPECT_TRUE(repo->Get("m", 1).ok());
  EXPECT_TRUE(repo->Get("m", 3).ok());

  dir_.Write("m/config.yaml", "version_policy: {specific: [1]}\nmax_batch_size: 4\n");
  repo->Poll();
  auto v1 = repo->Get("m", 1);
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ((*v1)->config().max_batch_size, 4) << "a config change reloads the versions";
  EXPECT_EQ(repo->Get("m", 3).status().code(), StatusCode::kNotFound);

  dir_.Write("m/config.yaml", "max_batch_size: banana\n");
  repo->Poll();
  EXPECT_TRUE(repo->Get("m", 1).ok()) << "a broken config keeps what was loaded";
  EXPECT_NE(repo->Index()[0].reason.find("still serving"), std::string::npos);
}

TEST_F(ModelRepositoryTest, ExplicitUnloadAndLoad) {
  dir_.Write("m/1/model.onnx", "FP32 x y -1 4");
  auto repo = Make();
  repo->Poll();
  ASSERT_TRUE(repo->Unload("m").ok());
  EXPECT_EQ(repo->Get("m").status().code(), StatusCode::kUnavailable);
  repo->Poll();
  EXPECT_FALSE(repo->Get("m").ok()) << "polling does not bring back an unloaded model";
  ASSERT_TRUE(repo->Load("m").ok());
  EXPECT_TRUE(repo->Get("m").ok());
  Status missing = repo->Load("missing");
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  // Replies name the model, never where the repository lies on the server.
  EXPECT_EQ(missing.message().find(dir_.path().string()), std::string::npos) << missing.message();
  EXPECT_EQ(repo->Load("../etc").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(repo->Unload("missing").code(), StatusCode::kNotFound);
  dir_.Write("bad/1/model.onnx", "BROKEN");
  Status st = repo->Load("bad");
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("not a model"), std::string::npos) << st.message();
}

TEST_F(ModelRepositoryTest, RequestsKeepRunningThroughReloads) {
  dir_.Write("m/1/model.onnx", "FP32 x y -1 4");
  auto repo = Make();
  repo->Poll();
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, runs{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&] {
      while (!stop) {
        auto v = repo->Get("m");
        if (!v.ok() || !RunOnce(**v).ok()) failures++;
        runs++;
      }
    });
  }
  for (int round = 2; round < 30; ++round) {
    dir_.Write("m/" + std::to_string(round) + "/model.onnx", "FP32 x y -1 4");
    repo->Poll();
    dir_.Write("m/" + std::to_string(round) + "/model.onnx", "FP32 x y -1 4 ");
    repo->Poll();
    std::filesystem::remove_all(dir_.path() / "m" / std::to_string(round - 1));
    repo->Poll();
  }
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_GT(runs, 0);
  EXPECT_EQ((*repo->Get("m"))->version(), 29);
}

// Names that cannot be a folder are refused before they reach the disk or
// the index, and the reason shows control bytes escaped. A NUL used to pass
// the folder check (the file system reads up to it, so "m\0x" is "m") and
// left one index entry per name.
TEST_F(ModelRepositoryTest, RefusesNamesThatAreNotFolderNames) {
  dir_.Write("m/1/model.onnx", "FP32 x y -1 4");
  auto repo = Make();
  repo->Poll();
  ASSERT_EQ(repo->Index().size(), 1u);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {std::string("m\0x", 3), "control character \\x00"},
      {"m\n", "control character \\x0a"},
      {"m\x7f", "control character \\x7f"},
      {"a/b", "'/'"},
      {"/m", "'/'"},
      {".", "'.' and '..'"},
      {"..", "'.' and '..'"},
      {"", "empty"},
      {std::string(256, 'm'), "256 bytes long, more than 255"},
  };
  for (const auto& [name, why] : cases) {
    for (Status st : {repo->Load(name), repo->Unload(name)}) {
      EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
      EXPECT_NE(st.message().find(why), std::string::npos) << st.message();
      for (char c : st.message()) EXPECT_FALSE(c >= 0 && c < 0x20) << "raw control byte echoed";
    }
  }
  EXPECT_TRUE(repo->Load(std::string(255, 'm')).code() == StatusCode::kNotFound);
  for (int i = 0; i < 200; ++i) {
    (void)repo->Load("m" + std::string(1, '\0') + std::to_string(i));
    (void)repo->Load("absent" + std::to_string(i));
  }
  EXPECT_EQ(repo->Index().size(), 1u) << "failed loads leave no index entries";
  EXPECT_TRUE(repo->Get("m").ok());
}

// A folder on disk whose name is not a model name (a control character) is
// skipped by every poll, with one warning for it however often it polls,
// and never reaches the index.
TEST_F(ModelRepositoryTest, PollSkipsFoldersThatAreNotModelNamesWarningOnce) {
  dir_.Write("m/1/model.onnx", "FP32 x y -1 4");
  dir_.Write("bad\nname/1/model.onnx", "FP32 x y -1 4");
  dir_.Write("tab\tname/1/model.onnx", "FP32 x y -1 4");
  std::vector<std::string> warnings;
  ModelRepository::Options o;
  o.root = dir_.path();
  ASSERT_TRUE(o.backends.Add(&backend_).ok());
  o.parse_config = &config::ParseModelConfigFile;
  o.warn = [&](const std::string& w) { warnings.push_back(w); };
  auto repo = ModelRepository::Create(std::move(o));
  ASSERT_TRUE(repo.ok());
  for (int i = 0; i < 3; ++i) (*repo)->Poll();
  const auto index = (*repo)->Index();
  ASSERT_EQ(index.size(), 1u);
  EXPECT_EQ(index[0].name, "m");
  ASSERT_EQ(warnings.size(), 2u);
  for (const auto& w : warnings) {
    EXPECT_NE(w.find("control character"), std::string::npos) << w;
    for (char c : w) EXPECT_FALSE(c >= 0 && c < 0x20) << "raw control byte in the warning";
  }
}

}  // namespace
}  // namespace infergate::core
