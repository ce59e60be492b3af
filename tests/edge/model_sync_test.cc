#include "edge/model_sync.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <map>
#include <sstream>

#include "testing/temp_dir.h"

namespace infergate::edge {
namespace {

namespace fs = std::filesystem;

// An origin in memory: URL -> bytes. Behaves as HttpFetcher does for size.
class FakeFetcher final : public Fetcher {
 public:
  std::map<std::string, std::string> files;
  bool down = false;
  std::vector<std::string> fetched;

  core::Status Get(const std::string& url, size_t, std::string* body, SyncFailure* why) override {
    if (down) {
      *why = SyncFailure::kUnreachable;
      return core::Unavailable("connection refused");
    }
    auto it = files.find(url);
    if (it == files.end()) {
      *why = SyncFailure::kHttpStatus;
      return core::Unavailable("HTTP 404 Not Found");
    }
    *body = it->second;
    return core::Status::Ok();
  }
  core::Status Download(const std::string& url, const fs::path& file, uint64_t size, SyncFailure* why) override {
    fetched.push_back(url);
    std::string body;
    RETURN_IF_ERROR(Get(url, 0, &body, why));
    if (body.size() > size) {
      *why = SyncFailure::kSizeMismatch;
      return core::Unavailable("the origin sends more bytes than expected");
    }
    std::ofstream(file, std::ios::binary) << body;
    if (body.size() < size) {
      *why = SyncFailure::kTruncated;
      return core::Unavailable("got " + std::to_string(body.size()) + " of the " + std::to_string(size) + " bytes");
    }
    return core::Status::Ok();
  }
};

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

constexpr char kBase[] = "http://origin/fleet/";

class ModelSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fetcher = std::make_unique<FakeFetcher>();
    origin_ = fetcher.get();
    ModelSyncOptions o;
    o.url = kBase;
    o.repository = repo_.path();
    o.check_loads = [this](const std::string& model, const fs::path& config, const fs::path& dir) {
      checked_.push_back(model + ":" + dir.filename().string() + ":" + Read(config));
      if (Read(dir / "model.onnx").find("broken") != std::string::npos) return core::InvalidArgument("not ONNX");
      return core::Status::Ok();
    };
    o.installed = [this](const std::string& model) {
      std::lock_guard lock(mu_);
      installed_.push_back(model);
      installed_cv_.notify_all();
    };
    o.clock = &clock_;
    auto sync = ModelSync::Create(std::move(o), std::move(fetcher), &metrics_);
    ASSERT_TRUE(sync.ok()) << sync.status().ToString();
    sync_ = std::move(*sync);
  }

  // Publishes `content` as file `path` of the model and lists it in the manifest.
  void Publish(const std::string& model, int64_t version, const std::string& path, const std::string& content,
               std::optional<std::string> listed = std::nullopt) {
    const std::string bytes = listed.value_or(content);
    ManifestFile f{path, bytes.size(), Sha256Hex(bytes)};
    ManifestModel* m = nullptr;
    for (auto& existing : manifest_.models) {
      if (existing.name == model) m = &existing;
    }
    if (!m) m = &manifest_.models.emplace_back(ManifestModel{model, {}, {}});
    if (version == 0) {
      m->files.push_back(f);
      origin_->files[kBase + model + "/" + path] = content;
    } else {
      ManifestVersion* v = nullptr;
      for (auto& existing : m->versions) {
        if (existing.version == version) v = &existing;
      }
      if (!v) v = &m->versions.emplace_back(ManifestVersion{version, {}});
      v->files.push_back(f);
      origin_->files[kBase + model + "/" + std::to_string(version) + "/" + path] = content;
    }
    origin_->files[std::string(kBase) + "manifest.json"] = ManifestJson(manifest_);
  }

  // The value of the series `series` (name{labels}) in /metrics' text, or -1.
  double Metric(const std::string& series) {
    const std::string text = metrics_.RenderPrometheus();
    const size_t at = text.find("\n" + series + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 2));
  }
  double Failures(const std::string& reason) {
    return Metric("infergate_model_sync_failures_total{reason=\"" + reason + "\"}");
  }

  testing::TempDir repo_;
  core::MetricsRegistry metrics_;
  FakeFetcher* origin_ = nullptr;
  Manifest manifest_;
  // True once `n` installs were reported (from the sync thread), within 10 s.
  bool WaitInstalled(size_t n) {
    std::unique_lock lock(mu_);
    return installed_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return installed_.size() >= n; });
  }

  core::ManualClock clock_;
  std::mutex mu_;
  std::condition_variable installed_cv_;
  std::vector<std::string> checked_, installed_;  // installed_: GUARDED_BY(mu_) once the thread runs
  std::unique_ptr<ModelSync> sync_;
};

TEST_F(ModelSyncTest, ANewModelArrivesWhole) {
  Publish("m", 0, "config.yaml", "max_batch_size: 0\n");
  Publish("m", 1, "model.onnx", "one");
  Publish("m", 1, "data/w.bin", "weights");
  ASSERT_TRUE(sync_->SyncOnce().ok());
  EXPECT_EQ(Read(repo_.path() / "m/config.yaml"), "max_batch_size: 0\n");
  EXPECT_EQ(Read(repo_.path() / "m/1/model.onnx"), "one");
  EXPECT_EQ(Read(repo_.path() / "m/1/data/w.bin"), "weights");
  // Checked with the config that comes with it.
  EXPECT_EQ(checked_, std::vector<std::string>{"m:1:max_batch_size: 0\n"});
  EXPECT_EQ(installed_, std::vector<std::string>{"m"});
  // Nothing left in staging; the next round fetches nothing more.
  EXPECT_TRUE(fs::is_empty(repo_.path() / ".staging"));
  origin_->fetched.clear();
  ASSERT_TRUE(sync_->SyncOnce().ok());
  EXPECT_TRUE(origin_->fetched.empty());
  EXPECT_EQ(Metric("infergate_model_sync_installed_total"), 1);
}

TEST_F(ModelSyncTest, ANewVersionJoinsTheOldOne) {
  Publish("m", 1, "model.onnx", "one");
  ASSERT_TRUE(sync_->SyncOnce().ok());
  Publish("m", 2, "model.onnx", "two");
  ASSERT_TRUE(sync_->SyncOnce().ok());
  EXPECT_EQ(Read(repo_.path() / "m/1/model.onnx"), "one");
  EXPECT_EQ(Read(repo_.path() / "m/2/model.onnx"), "two");
  EXPECT_EQ(installed_, (std::vector<std::string>{"m", "m"}));
}

TEST_F(ModelSyncTest, CorruptTruncatedOversizedOrUnloadableVersionsAreRefused) {
  Publish("m", 1, "model.onnx", "one");
  ASSERT_TRUE(sync_->SyncOnce().ok());
  Publish("m", 2, "model.onnx", "tw0", "two");           // same size, other bytes
  Publish("m", 3, "model.onnx", "thr", "three");          // fewer bytes
  Publish("m", 4, "model.onnx", "fourfour", "four");      // more bytes
  Publish("m", 5, "model.onnx", "broken");                // verified, but does not load
  ASSERT_TRUE(sync_->SyncOnce().ok());
  for (int v : {2, 3, 4, 5}) EXPECT_FALSE(fs::exists(repo_.path() / "m" / std::to_string(v))) << v;
  EXPECT_EQ(Read(repo_.path() / "m/1/model.onnx"), "one");
  EXPECT_EQ(Failures("sha256_mismatch"), 1);
  EXPECT_EQ(Failures("truncated"), 1);
  EXPECT_EQ(Failures("size_mismatch"), 1);
  EXPECT_EQ(Failures("does_not_load"), 1);
  EXPECT_TRUE(fs::is_empty(repo_.path() / ".staging"));
  // Fixed at the origin: taken at the next round.
  origin_->files[std::string(kBase) + "m/2/model.onnx"] = "two";
  ASSERT_TRUE(sync_->SyncOnce().ok());
  EXPECT_EQ(Read(repo_.path() / "m/2/model.onnx"), "two");
}

TEST_F(ModelSyncTest, ABadConfigKeepsTheModelAsItIs) {
  Publish("m", 0, "config.yaml", "a: 1\n");
  Publish("m", 1, "model.onnx", "one");
  ASSERT_TRUE(sync_->SyncOnce().ok());
  manifest_.models[0].files[0] = {"config.yaml", 5, Sha256Hex("b: 22")};
  origin_->files[std::string(kBase) + "m/config.yaml"] = "b: 2\n";
  Publish("m", 2, "model.onnx", "two");
  ASSERT_TRUE(sync_->SyncOnce().ok());
  EXPECT_EQ(Read(repo_.path() / "m/config.yaml"), "a: 1\n");
  EXPECT_FALSE(fs::exists(repo_.path() / "m/2"));
  EXPECT_EQ(Failures("sha256_mismatch"), 1);
}

TEST_F(ModelSyncTest, AChangedConfigIsReplacedAndChecksTheNewVersion) {
  Publish("m", 0, "config.yaml", "a: 1\n");
  Publish("m", 1, "model.onnx", "one");
  ASSERT_TRUE(sync_->SyncOnce().ok());
  manifest_.models[0].files.clear();
  Publish("m", 0, "config.yaml", "a: 2\n");
  Publish("m", 2, "model.onnx", "two");
  ASSERT_TRUE(sync_->SyncOnce().ok());
  EXPECT_EQ(Read(repo_.path() / "m/config.yaml"), "a: 2\n");
  EXPECT_EQ(checked_.back(), "m:2:a: 2\n");
}

TEST_F(ModelSyncTest, OriginDownOrBadManifestChangesNothing) {
  Publish("m", 1, "model.onnx", "one");
  ASSERT_TRUE(sync_->SyncOnce().ok());
  origin_->down = true;
  EXPECT_FALSE(sync_->SyncOnce().ok());
  EXPECT_EQ(Failures("unreachable"), 1);
  origin_->down = false;
  origin_->files[std::string(kBase) + "manifest.json"] = R"({"models": [{"name": "../x"}]})";
  EXPECT_FALSE(sync_->SyncOnce().ok());
  EXPECT_EQ(Failures("bad_manifest"), 1);
  EXPECT_EQ(Read(repo_.path() / "m/1/model.onnx"), "one");
  EXPECT_EQ(Metric("infergate_model_sync_origin_up"), 0);
}

TEST_F(ModelSyncTest, VersionsGoneFromTheManifestStay) {
  Publish("m", 1, "model.onnx", "one");
  Publish("m", 2, "model.onnx", "two");
  ASSERT_TRUE(sync_->SyncOnce().ok());
  manifest_.models[0].versions.erase(manifest_.models[0].versions.begin());
  origin_->files[std::string(kBase) + "manifest.json"] = ManifestJson(manifest_);
  ASSERT_TRUE(sync_->SyncOnce().ok());
  EXPECT_TRUE(fs::exists(repo_.path() / "m/1/model.onnx"));
  EXPECT_EQ(Metric("infergate_model_sync_version{model=\"m\"}"), 2);
}

// The sync thread: a round at Start, the next when woken (the test's clock
// never moves by itself), and Stop returns without waiting out the interval.
TEST_F(ModelSyncTest, TheThreadSyncsAtStartAndWhenWoken) {
  Publish("m", 1, "model.onnx", "one");
  sync_->Start();
  ASSERT_TRUE(WaitInstalled(1));
  Publish("m", 2, "model.onnx", "two");
  sync_->Wake();
  ASSERT_TRUE(WaitInstalled(2));
  sync_->Stop();
  EXPECT_EQ(Read(repo_.path() / "m/2/model.onnx"), "two");
}

TEST(ModelSyncCreateTest, StagingMustShareTheRepositorysFileSystem) {
  testing::TempDir repo;
  core::MetricsRegistry metrics;
  ModelSyncOptions o;
  o.url = kBase;
  o.repository = repo.path();
  o.staging = "/dev/shm/infergate-sync-test-staging";
  o.check_loads = [](const std::string&, const fs::path&, const fs::path&) { return core::Status::Ok(); };
  auto sync = ModelSync::Create(std::move(o), std::make_unique<FakeFetcher>(), &metrics);
  std::error_code ec;
  fs::remove_all("/dev/shm/infergate-sync-test-staging", ec);
  if (sync.ok()) GTEST_SKIP() << "/dev/shm and the temp folder share a file system here";
  EXPECT_NE(sync.status().message().find("staging_dir"), std::string::npos) << sync.status().message();
}

}  // namespace
}  // namespace infergate::edge
