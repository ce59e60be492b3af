// Fleet model sync end to end: the real infergate binary following a real
// nginx that serves a folder (a static origin), and an infergate origin
// feeding another infergate. A new version appears on the edge within one
// poll; a file whose sha256 does not match and a truncated one are refused
// with a logged reason while the old version keeps serving; an origin that is
// down at start leaves the edge serving what it has; the origin's file
// endpoint refuses paths outside the repository.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "edge/manifest.h"
#include "edge/manifest_publisher.h"
#include "edge/sha256.h"
#include "testing/http_client.h"
#include "testing/mlp_json.h"
#include "testing/model_repo.h"
#include "testing/nginx_server.h"
#include "testing/process.h"
#include "testing/serve_command.h"
#include "testing/temp_dir.h"
#include "testing/test_pki.h"

namespace infergate {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using testing::CurlClient;
using testing::MetricValue;
using testing::Process;
using testing::TempDir;

constexpr double kSyncPollSecs = 2;
constexpr double kRepositoryPollSecs = 0.2;

// An infergate with its own repository folder, started on free ports.
struct Instance {
  TempDir repo;
  TempDir dir;
  std::unique_ptr<Process> process;
  std::unique_ptr<CurlClient> client;
  std::string base;

  // `origin_yaml`: the repository_origin block and any other keys (empty: none).
  void Start(const std::string& origin_yaml, const std::string& scheme = "http") {
    const fs::path config =
        dir.Write("infergate.yaml", "model_repository: " + repo.path().string() +
                                        "\nrepository_poll_secs: " + std::to_string(kRepositoryPollSecs) + "\n" +
                                        origin_yaml);
    process = std::make_unique<Process>(testing::ServeCommand({"--config", config.string()}));
    auto port = process->WaitForLine(R"(http: listening on [0-9.]+:([0-9]+))");
    ASSERT_TRUE(port) << process->Output();
    base = scheme + "://127.0.0.1:" + (*port)[1];
    client = std::make_unique<CurlClient>(base);
    ASSERT_TRUE(process->WaitForLine("infergate ready")) << process->Output();
  }
  // True once version `version` of `model` answers ready, within `timeout`.
  bool WaitReady(const std::string& model, int version, std::chrono::milliseconds timeout = 30s) {
    const std::string path = "/v2/models/" + model + "/versions/" + std::to_string(version) + "/ready";
    for (const auto until = Clock::now() + testing::Scaled(timeout); Clock::now() < until;) {
      if (client->Get(path).status == 200) return true;
      process->WaitForLine("^$never", 20ms);  // reads the log meanwhile
    }
    return false;
  }
  // Waits until the log has `text` (whether or not a WaitForLine read past it).
  bool LogHas(const std::string& text, std::chrono::milliseconds timeout = 30s) {
    for (const auto until = Clock::now() + testing::Scaled(timeout); Clock::now() < until;) {
      if (process->Output().find(text) != std::string::npos) return true;
      process->WaitForLine("^$never", 50ms);
    }
    return false;
  }
  // The model version that answered an inference on `model` (latest), or -1.
  int InferVersion(const std::string& model) {
    auto r = client->Post("/v2/models/" + model + "/infer", testing::MlpJsonBody("r"));
    auto body = nlohmann::json::parse(r.body, nullptr, false);
    if (r.status != 200 || !body.is_object() || !body.contains("model_version")) return -1;
    return std::stoi(body["model_version"].get<std::string>());
  }
  // The value of `series` (name{labels}) in /metrics, or -1 (a sample line, not its HELP line).
  double Metric(const std::string& series) { return MetricValue("\n" + client->Get("/metrics").body, "\n" + series); }
  void Stop() {
    if (process) {
      EXPECT_EQ(process->Stop(SIGTERM), 0) << process->Output();
    }
    process.reset();
  }
};

// A folder nginx serves: fleet/<model>/... and fleet/manifest.json, written
// by ManifestPublisher as an origin's build step would.
class StaticOrigin {
 public:
  fs::path fleet() const { return root_.path() / "fleet"; }
  void AddVersion(const std::string& model, int version, const std::string& file = "mlp16.onnx") {
    const fs::path dir = fleet() / model / std::to_string(version);
    fs::create_directories(dir);
    fs::copy_file(fs::path(INFERGATE_TEST_MODELS_DIR) / file, dir / "model.onnx", fs::copy_options::overwrite_existing);
  }
  // Writes manifest.json listing what is in the folder now.
  void WriteManifest() {
    edge::ManifestPublisher publisher(fleet(), nullptr);
    auto manifest = publisher.Build("");
    ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
    std::ofstream(fleet() / "manifest.json.tmp") << edge::ManifestJson(*manifest);
    fs::rename(fleet() / "manifest.json.tmp", fleet() / "manifest.json");  // nginx never serves half of it
  }
  const TempDir& root() const { return root_; }

 private:
  TempDir root_;
};

std::string OriginYaml(const std::string& url) {
  return "repository_origin:\n  url: " + url + "\n  poll_secs: " + std::to_string(kSyncPollSecs) +
         "\n  timeout_secs: 5\n";
}

class ModelSyncE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::NginxServer::Program().empty()) GTEST_SKIP() << "nginx is not installed (scripts/setup.sh)";
    fs::create_directories(origin_.fleet());
  }
  void TearDown() override { edge_.Stop(); }

  StaticOrigin origin_;
  testing::NginxServer nginx_{origin_.root().path()};
  Instance edge_;
};

TEST_F(ModelSyncE2ETest, ANewVersionAppearsWithinOnePoll) {
  origin_.AddVersion("m", 1);
  origin_.WriteManifest();
  ASSERT_TRUE(nginx_.Start()) << nginx_.ErrorLog();
  edge_.Start(OriginYaml(nginx_.url() + "fleet/"));
  ASSERT_TRUE(edge_.WaitReady("m", 1)) << edge_.process->Output();
  EXPECT_EQ(edge_.InferVersion("m"), 1);

  origin_.AddVersion("m", 2);
  origin_.WriteManifest();
  const auto published = Clock::now();
  ASSERT_TRUE(edge_.WaitReady("m", 2)) << edge_.process->Output();
  const double secs = std::chrono::duration<double>(Clock::now() - published).count();
  // One sync poll, one repository poll, the download and the load check.
  EXPECT_LT(secs, kSyncPollSecs + kRepositoryPollSecs + 3 * testing::TimeScale()) << secs;
  RecordProperty("new_version_ready_secs", std::to_string(secs));
  EXPECT_EQ(edge_.InferVersion("m"), 2);
  EXPECT_TRUE(edge_.LogHas("model sync: model m version 2 installed"));
  EXPECT_EQ(edge_.Metric("infergate_model_sync_version{model=\"m\"}"), 2);
  EXPECT_EQ(edge_.Metric("infergate_model_sync_origin_up"), 1);
  EXPECT_GT(edge_.Metric("infergate_model_sync_last_success_timestamp_seconds"), 1.7e9);
  EXPECT_TRUE(fs::is_empty(edge_.repo.path() / ".staging"));
}

TEST_F(ModelSyncE2ETest, CorruptAndTruncatedFilesAreRefusedWhileTheOldVersionServes) {
  origin_.AddVersion("m", 1);
  origin_.WriteManifest();
  ASSERT_TRUE(nginx_.Start()) << nginx_.ErrorLog();
  edge_.Start(OriginYaml(nginx_.url() + "fleet/"));
  ASSERT_TRUE(edge_.WaitReady("m", 1)) << edge_.process->Output();

  // The manifest lists the good files; nginx then serves version 2 with one
  // byte changed and version 3 cut short.
  origin_.AddVersion("m", 2);
  origin_.AddVersion("m", 3);
  origin_.WriteManifest();
  const fs::path v2 = origin_.fleet() / "m/2/model.onnx";
  const fs::path v3 = origin_.fleet() / "m/3/model.onnx";
  const auto size = fs::file_size(v3);
  {
    std::fstream f(v2, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.put('\x7f');
  }
  fs::resize_file(v3, size / 2);
  EXPECT_TRUE(edge_.LogHas("model m version 2 refused (sha256_mismatch)")) << edge_.process->Output();
  EXPECT_TRUE(edge_.LogHas("model m version 3 refused (truncated)")) << edge_.process->Output();
  EXPECT_FALSE(fs::exists(edge_.repo.path() / "m/2"));
  EXPECT_FALSE(fs::exists(edge_.repo.path() / "m/3"));
  EXPECT_EQ(edge_.InferVersion("m"), 1);
  EXPECT_GE(edge_.Metric("infergate_model_sync_failures_total{reason=\"sha256_mismatch\"}"), 1);
  EXPECT_GE(edge_.Metric("infergate_model_sync_failures_total{reason=\"truncated\"}"), 1);

  // Fixed at the origin: both arrive at the next poll (the default
  // version_policy, latest 1, then serves version 3).
  origin_.AddVersion("m", 2);
  origin_.AddVersion("m", 3);
  ASSERT_TRUE(edge_.WaitReady("m", 3)) << edge_.process->Output();
  EXPECT_TRUE(fs::exists(edge_.repo.path() / "m/2/model.onnx"));
  EXPECT_EQ(edge_.InferVersion("m"), 3);
}

TEST_F(ModelSyncE2ETest, OriginDownAtStartTheEdgeServesWhatItHas) {
  testing::CopyModel(edge_.repo, "mlp16.onnx", "m", 1);
  const int port = testing::FreePort();  // nothing listens there yet
  edge_.Start(OriginYaml("http://127.0.0.1:" + std::to_string(port) + "/fleet/"));
  ASSERT_TRUE(edge_.WaitReady("m", 1));
  EXPECT_EQ(edge_.InferVersion("m"), 1);
  EXPECT_TRUE(edge_.LogHas("(unreachable)")) << edge_.process->Output();
  EXPECT_TRUE(edge_.LogHas("serving what the repository has"));
  EXPECT_EQ(edge_.Metric("infergate_model_sync_origin_up"), 0);

  // The origin comes up: the edge catches up (retried with back-off).
  origin_.AddVersion("m", 1);
  origin_.AddVersion("m", 2);
  origin_.WriteManifest();
  ASSERT_TRUE(nginx_.Start(port)) << nginx_.ErrorLog();
  ASSERT_TRUE(edge_.WaitReady("m", 2)) << edge_.process->Output();
  EXPECT_EQ(edge_.InferVersion("m"), 2);
}

TEST(ModelSyncOriginE2ETest, AnInfergateOriginFeedsAnotherInfergate) {
  Instance cloud, edge;
  testing::CopyModel(cloud.repo, "mlp16.onnx", "m", 1);
  testing::CopyModel(cloud.repo, "mlp16.onnx", "m", 2);
  cloud.repo.Write("m/config.yaml", "max_batch_size: 4\n");
  cloud.Start("");
  ASSERT_TRUE(cloud.WaitReady("m", 2));

  // The origin's endpoints: the manifest, a file, nothing outside.
  auto manifest = cloud.client->Get("/v2/repository/manifest");
  ASSERT_EQ(manifest.status, 200) << manifest.body;
  auto parsed = edge::ParseManifest(manifest.body);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->files_url, "files/");
  // Only what the origin serves (READY) is published: the default
  // version_policy (latest 1) serves version 2 alone.
  ASSERT_EQ(parsed->models.size(), 1u);
  ASSERT_EQ(parsed->models[0].versions.size(), 1u);
  EXPECT_EQ(parsed->models[0].versions[0].version, 2);
  auto file = cloud.client->Get("/v2/repository/files/m/2/model.onnx");
  EXPECT_EQ(file.status, 200);
  EXPECT_EQ(file.body.size(), fs::file_size(cloud.repo.path() / "m/2/model.onnx"));
  cloud.dir.Write("secret", "s");
  for (const std::string& target : std::vector<std::string>{
           "/v2/repository/files/m/../../../etc/passwd", "/v2/repository/files/m/2/..%2F..%2F..%2Finfergate.yaml",
        "/v2/repository/files/..%2F" + cloud.dir.path().filename().string() + "/secret",
        "/v2/repository/files/m/%2E%2E/%2E%2E/etc/passwd", "/v2/repository/files/m/2/.%2E/config.yaml"}) {
    testing::RawConnection raw("127.0.0.1", std::stoi(cloud.base.substr(cloud.base.rfind(':') + 1)));
    ASSERT_TRUE(raw.connected());
    raw.Send("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string reply = raw.ReadUntilClosed(5s);
    EXPECT_EQ(reply.rfind("HTTP/1.1 404", 0), 0u) << target << ": " << reply.substr(0, 200);
  }

  edge.Start(OriginYaml(cloud.base + "/v2/repository/manifest"));
  ASSERT_TRUE(edge.WaitReady("m", 2)) << edge.process->Output();
  EXPECT_FALSE(fs::exists(edge.repo.path() / "m/1"));
  EXPECT_EQ(edge.InferVersion("m"), 2);
  std::ifstream config(edge.repo.path() / "m/config.yaml");
  std::string line;
  std::getline(config, line);
  EXPECT_EQ(line, "max_batch_size: 4");
  edge.Stop();
  cloud.Stop();
}

}  // namespace
}  // namespace infergate

namespace infergate {
namespace {

// Beyond one host: the origin over HTTPS with authentication on (the fleet's
// token needs the admin scope), the edge in explicit model control mode
// (what it installs, it loads through the repository API).
TEST(ModelSyncOriginE2ETest, HttpsOriginWithATokenFeedsAnExplicitModeEdge) {
  Instance cloud, edge;
  testing::TestPki pki(cloud.dir.path());
  ASSERT_TRUE(pki.MakeCa("ca") && pki.MakeServer("cloud", "ca", 1));
  const std::string token = "fleet-sync-e2e-token";
  const fs::path tokens = cloud.dir.Write(
      "tokens.yaml", "- name: fleet\n  sha256: " + edge::Sha256Hex(token) + "\n  scopes: [admin, read]\n");
  testing::CopyModel(cloud.repo, "mlp16.onnx", "m", 7);
  cloud.Start("tls: {cert_file: " + pki.Crt("cloud") + ", key_file: " + pki.Key("cloud") +
                  "}\nauth: {tokens_file: " + tokens.string() + "}\n",
              "https");
  cloud.client->SetTls(testing::CurlTls{pki.Crt("ca"), "", ""});
  EXPECT_EQ(cloud.client->Get("/v2/repository/manifest").status, 401);
  EXPECT_EQ(cloud.client->Get("/v2/repository/manifest", {"Authorization: Bearer " + token}).status, 200);

  const fs::path token_file = edge.dir.Write("origin-token", token + "\n");
  edge.Start("model_control_mode: explicit\n" + OriginYaml(cloud.base + "/v2/repository/manifest") +
             "  token_file: " + token_file.string() + "\n  tls: {ca_file: " + pki.Crt("ca") + "}\n");
  ASSERT_TRUE(edge.WaitReady("m", 7)) << edge.process->Output();
  EXPECT_EQ(edge.InferVersion("m"), 7);
  edge.Stop();
  cloud.Stop();
}

}  // namespace
}  // namespace infergate
