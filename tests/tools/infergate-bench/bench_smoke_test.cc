// Short runs of the real infergate-bench binary against real peers, so the
// tool never rots: mosquitto with the tool's own mqtt-echo, nginx serving a
// fixed v2 reply, the Node.js peer (onnxruntime-node) doing real inference,
// a gRPC server implementing inference.GRPCInferenceService, and infergate
// itself over mutual TLS. A peer that is not installed skips its test. Each
// run lasts a fraction of a second.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "grpc_service.grpc.pb.h"
#include "testing/http_client.h"
#include "testing/network.h"
#include "testing/process.h"
#include "testing/serve_command.h"
#include "testing/temp_dir.h"
#include "testing/test_pki.h"

namespace infergate::testing {
namespace {

using nlohmann::json;

const std::string kBench = INFERGATE_BENCH_BINARY;
const std::string kModel = INFERGATE_TEST_MODELS_DIR "/mlp16.onnx";

// Runs infergate-bench with `args` plus a JSON report file; returns the exit
// code and the report's first row (null when there is none).
struct BenchRun {
  int exit_code = -1;
  json row;
  std::string output;
};

BenchRun RunBench(const TempDir& dir, std::vector<std::string> args) {
  static int n = 0;
  const auto report = dir.path() / ("report" + std::to_string(n++) + ".json");
  std::vector<std::string> argv = {kBench};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--format", "json", "--output", report.string(), "--progress", "off"});
  Process bench(argv);
  BenchRun run;
  run.exit_code = bench.Wait(std::chrono::seconds(60));
  run.output = bench.Output();
  std::ifstream in(report);
  if (in) {
    const json doc = json::parse(in, nullptr, false);
    if (doc.is_object() && !doc["rows"].empty()) run.row = doc["rows"][0];
  }
  return run;
}

const std::vector<std::string> kShortRun = {"--warmup", "0.1", "--duration", "0.3"};

std::vector<std::string> With(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// An open-loop run at 200/s for 0.3 s sends exactly 60 requests, and every one
// succeeds.
void ExpectOpenLoop(const TempDir& dir, std::vector<std::string> args) {
  auto run = RunBench(dir, With(With(args, {"--rate", "200", "--strict"}), kShortRun));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.row["mode"], "rate");
  EXPECT_EQ(run.row["requests"], 60);  // the timetable, whatever the replies did
  EXPECT_EQ(run.row["ok"], 60);
}

// A model the peer does not serve: every request fails, counted as `kind`.
void ExpectEveryRequestFails(const TempDir& dir, std::vector<std::string> args, const std::string& kind) {
  auto run = RunBench(dir, With(With(args, {"--model", "other", "--concurrency", "1"}), kShortRun));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.row["ok"], 0);
  EXPECT_GT(run.row["errors"].get<int>(), 0);
  EXPECT_EQ(run.row["errors_by_kind"].value(kind, 0), run.row["errors"].get<int>()) << run.row.dump();
}

// A mosquitto broker on a free port, Nagle off as a tuned broker runs.
class Broker {
 public:
  explicit Broker(const TempDir& dir) : port_(FreePort()) {
    const auto conf = dir.Write("mosquitto.conf", "listener " + std::to_string(port_) +
                                                      " 127.0.0.1\nallow_anonymous true\npersistence false\n"
                                                      "set_tcp_nodelay true\n");
    process_ = std::make_unique<Process>(std::vector<std::string>{FindProgram("mosquitto"), "-c", conf.string()});
    ready_ = process_->WaitForLine("mosquitto version .* running").has_value();
  }
  bool ready() const { return ready_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  std::unique_ptr<Process> process_;
  bool ready_ = false;
};

TEST(BenchSmokeTest, MqttAgainstTheEchoCeiling) {
  if (FindProgram("mosquitto").empty()) GTEST_SKIP() << "mosquitto is not installed";
  TempDir dir;
  Broker broker(dir);
  ASSERT_TRUE(broker.ready());
  Process echo({kBench, "mqtt-echo", "--broker", broker.address(), "--qos", "1"});
  ASSERT_TRUE(echo.WaitForLine("mqtt-echo: subscribed to infergate/models/\\+/infer")) << echo.Output();

  // Four devices multiplexed over two connections, QoS 1, closed loop.
  auto closed = RunBench(dir, With({"--target", "mqtt", "--broker", broker.address(), "--input", "input:FP32:1,16",
                                    "--concurrency", "2", "--devices", "4", "--mqtt-clients", "2", "--qos", "1",
                                    "--strict"},
                                   kShortRun));
  ASSERT_EQ(closed.exit_code, 0) << closed.output;
  EXPECT_EQ(closed.row["target"], "mqtt");
  EXPECT_GT(closed.row["ok"].get<int>(), 10);
  EXPECT_EQ(closed.row["errors"], 0);
  EXPECT_GT(closed.row["latency_ms"]["p99"].get<double>(), 0.0);

  // Open loop, one client per device.
  ExpectOpenLoop(dir, {"--target", "mqtt", "--broker", broker.address(), "--input", "input:FP32:1,16", "--devices", "3"});

  ASSERT_EQ(echo.Stop(SIGTERM), 0);
  EXPECT_NE(echo.Output().find("mqtt-echo: answered"), std::string::npos);
}

TEST(BenchSmokeTest, MqttRequestsWithoutAResponderTimeOut) {
  if (FindProgram("mosquitto").empty()) GTEST_SKIP() << "mosquitto is not installed";
  TempDir dir;
  Broker broker(dir);
  ASSERT_TRUE(broker.ready());
  auto run = RunBench(dir, {"--target", "mqtt", "--broker", broker.address(), "--input", "input:FP32:1,16",
                            "--concurrency", "2", "--warmup", "0", "--duration", "0.2", "--timeout", "0.1"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.row["ok"], 0);
  EXPECT_GT(run.row["errors_by_kind"]["timeout"].get<int>(), 0);
}

TEST(BenchSmokeTest, HttpAgainstNginxFixedReply) {
  const std::string nginx = FindProgram("nginx");
  if (nginx.empty()) GTEST_SKIP() << "nginx is not installed";
  TempDir dir;
  const int port = FreePort();
  // Logged to a file: nobody reads a pipe while the tool runs.
  const std::string error_log = (dir.path() / "error.log").string();
  const std::string reply =
      R"({"model_name":"mlp16","outputs":[{"name":"probabilities","datatype":"FP32","shape":[1,4],"data":[0.25,0.25,0.25,0.25]}]})";
  const auto conf = dir.Write(
      "nginx.conf", "daemon off;\nmaster_process off;\nworker_processes 1;\nerror_log " + error_log + " warn;\npid " +
                        (dir.path() / "nginx.pid").string() + ";\nevents { worker_connections 256; }\nhttp {\n" +
                        "  access_log off;\n  client_body_temp_path " + (dir.path() / "body").string() + ";\n" +
                        "  keepalive_requests 1000000;\n  server {\n    listen 127.0.0.1:" + std::to_string(port) +
                        ";\n    default_type application/json;\n" +
                        "    location /v2/models/mlp16/ { return 200 '" + reply + "'; }\n" +
                        "    location / { return 404 '{\"error\":\"unknown model\"}'; }\n  }\n}\n");
  Process server({nginx, "-p", dir.path().string(), "-c", conf.string(), "-e", error_log});
  ASSERT_TRUE(WaitForPort(port)) << server.Output();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);

  auto json_run = RunBench(dir, With({"--target", "http", "--url", url, "--input", "input:FP32:1,16",
                                      "--concurrency", "1,3", "--strict"},
                                     kShortRun));
  ASSERT_EQ(json_run.exit_code, 0) << json_run.output;
  EXPECT_GT(json_run.row["ok"].get<int>(), 10);

  ExpectOpenLoop(dir, {"--target", "http", "--url", url, "--input", "input:FP32:1,16", "--binary", "--connections", "2"});
  ExpectEveryRequestFails(dir, {"--target", "http", "--url", url, "--input", "input:FP32:1,16"}, "http_404");
}

TEST(BenchSmokeTest, HttpAgainstTheNodePeerWithRealInference) {
  const std::string node = FindProgram("node");
  const std::filesystem::path peer = INFERGATE_NODE_PEER_DIR;
  if (node.empty()) GTEST_SKIP() << "node is not installed";
  if (!std::filesystem::exists(peer / "node_modules" / "onnxruntime-node")) {
    GTEST_SKIP() << "run `npm ci` in bench/node-peer (scripts/setup.sh does)";
  }
  TempDir dir;
  Process server({node, (peer / "server.js").string(), "--model", "mlp16=" + kModel, "--port", "0"});
  auto line = server.WaitForLine("node-peer: listening on ([0-9.]+):([0-9]+)");
  ASSERT_TRUE(line) << server.Output();
  const std::string url = "http://" + (*line)[1] + ":" + (*line)[2];

  auto run = RunBench(dir, With({"--target", "http", "--url", url, "--input", "input:FP32:4,16", "--concurrency",
                                 "2", "--strict"},
                                kShortRun));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_GT(run.row["ok"].get<int>(), 10);

  // A wrong input name: the peer answers 400 and the tool counts it.
  auto bad = RunBench(dir, With({"--target", "http", "--url", url, "--input", "nope:FP32:1,16", "--concurrency",
                                 "1", "--strict"},
                                kShortRun));
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_EQ(bad.row["ok"], 0);
  EXPECT_GT(bad.row["errors"].get<int>(), 0);
}

TEST(BenchSmokeTest, AServerThatIsNotThereIsAClearError) {
  TempDir dir;
  const int port = FreePort();
  auto run = RunBench(dir, {"--target", "http", "--url", "http://127.0.0.1:" + std::to_string(port), "--input",
                            "input:FP32:1,16", "--duration", "0.1", "--timeout", "2"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("cannot connect to 127.0.0.1:" + std::to_string(port)), std::string::npos) << run.output;
  auto bad_flag = RunBench(dir, {"--target", "http"});
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_NE(bad_flag.output.find("--input"), std::string::npos) << bad_flag.output;
}

// --shared-memory system against infergate itself (the only peer here that
// serves Triton's extension), over HTTP and gRPC: the inputs go through a
// registered region, the region is gone afterwards, and a server with the
// extension off is a clear error.
TEST(BenchSmokeTest, SharedMemoryAgainstInfergate) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "repo/mlp16/1");
  std::filesystem::copy_file(kModel, dir.path() / "repo/mlp16/1/model.onnx");
  auto serve = [&](const std::string& config_text) {
    const auto config = dir.Write("infergate.yaml", config_text);
    return std::make_unique<Process>(ServeCommand(
        {"--config", config.string(), "--model-repository", (dir.path() / "repo").string()}));
  };
  auto server = serve("shared_memory: {enabled: true}\n");
  auto listening = server->WaitForLine(R"(http: listening on ([0-9.]+):([0-9]+))");
  ASSERT_TRUE(listening) << server->Output();
  auto grpc_listening = server->WaitForLine(R"(grpc: listening on ([0-9.]+):([0-9]+))");
  ASSERT_TRUE(grpc_listening) << server->Output();
  ASSERT_TRUE(server->WaitForLine("infergate ready")) << server->Output();
  const std::string url = "http://127.0.0.1:" + (*listening)[2];
  const std::vector<std::string> args = {"--target", "http", "--url", url, "--model", "mlp16",
                                         "--input", "input:FP32:1,16", "--shared-memory", "system"};

  auto run = RunBench(dir, With(With(args, {"--concurrency", "2", "--strict"}), kShortRun));
  ASSERT_EQ(run.exit_code, 0) << run.output << server->Output();
  EXPECT_GT(run.row["ok"].get<int>(), 10);
  auto over_grpc = RunBench(dir, With({"--target", "grpc", "--grpc-address", "127.0.0.1:" + (*grpc_listening)[2],
                                       "--model", "mlp16", "--input", "input:FP32:1,16", "--shared-memory",
                                       "system", "--concurrency", "2", "--strict"},
                                      kShortRun));
  ASSERT_EQ(over_grpc.exit_code, 0) << over_grpc.output << server->Output();
  EXPECT_GT(over_grpc.row["ok"].get<int>(), 10);
  CurlClient client(url);
  EXPECT_EQ(json::parse(client.Get("/v2/systemsharedmemory/status").body), json::array());
  EXPECT_NE(client.Get("/metrics").body.find("infergate_http_requests_rejected_total{reason=\"shared_memory\"} 0"),
            std::string::npos);
  ASSERT_EQ(server->Stop(SIGTERM), 0);

  server = serve("shared_memory: {enabled: false}\n");
  listening = server->WaitForLine(R"(http: listening on ([0-9.]+):([0-9]+))");
  ASSERT_TRUE(listening) << server->Output();
  ASSERT_TRUE(server->WaitForLine("infergate ready")) << server->Output();
  std::vector<std::string> off = args;
  off[3] = "http://127.0.0.1:" + (*listening)[2];
  auto refused = RunBench(dir, With(off, kShortRun));
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.output.find("system shared memory is disabled"), std::string::npos) << refused.output;
  EXPECT_EQ(server->Stop(SIGTERM), 0);
}

// A real gRPC server of the KServe v2 service: answers mlp16-shaped requests
// with one output and anything else with INVALID_ARGUMENT.
class V2Service final : public inference::GRPCInferenceService::Service {
 public:
  grpc::Status ModelInfer(grpc::ServerContext*, const inference::ModelInferRequest* req,
                          inference::ModelInferResponse* resp) override {
    calls.fetch_add(1);
    if (req->model_name() != "mlp16") return {grpc::StatusCode::NOT_FOUND, "unknown model"};
    if (req->inputs_size() != 1 || req->raw_input_contents_size() != 1 ||
        req->raw_input_contents(0).size() != 16 * sizeof(float) || req->inputs(0).shape_size() != 2) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "expected one FP32 [1,16] input as raw contents"};
    }
    auto* out = resp->add_outputs();
    out->set_name("probabilities");
    out->set_datatype("FP32");
    out->add_shape(1);
    out->add_shape(4);
    resp->add_raw_output_contents(std::string(4 * sizeof(float), '\0'));
    return grpc::Status::OK;
  }
  std::atomic<int> calls{0};
};

TEST(BenchSmokeTest, MutualTlsAgainstInfergate) {
  TempDir dir;
  TestPki pki(dir.path());
  ASSERT_TRUE(pki.MakeCa("ca") && pki.MakeServer("server", "ca", 1) && pki.MakeClient("client", "ca", 2));
  std::filesystem::create_directories(dir.path() / "repo/mlp16/1");
  std::filesystem::copy_file(kModel, dir.path() / "repo/mlp16/1/model.onnx");
  Process server(ServeCommand({"--model-repository", (dir.path() / "repo").string(), "--tls-cert", pki.Crt("server"),
                               "--tls-key", pki.Key("server"), "--tls-client-ca", pki.Crt("ca")}));
  auto http = server.WaitForLine(R"(http: listening on ([0-9.]+):([0-9]+))");
  auto grpc = server.WaitForLine(R"(grpc: listening on ([0-9.]+):([0-9]+))");
  ASSERT_TRUE(http && grpc && server.WaitForLine("infergate ready")) << server.Output();
  const std::vector<std::string> tls = {"--tls-ca", pki.Crt("ca"), "--tls-cert", pki.Crt("client"), "--tls-key",
                                        pki.Key("client"), "--token", "t0k3n", "--model", "mlp16", "--input",
                                        "input:FP32:1,16", "--concurrency", "2", "--strict"};
  auto over_https = RunBench(dir, With(With({"--target", "http", "--url", "https://localhost:" + (*http)[2]}, tls),
                                       kShortRun));
  ASSERT_EQ(over_https.exit_code, 0) << over_https.output << server.Output();
  EXPECT_GT(over_https.row["ok"].get<int>(), 10);
  auto over_grpc = RunBench(dir, With(With({"--target", "grpc", "--grpc-address", "localhost:" + (*grpc)[2]}, tls),
                                      kShortRun));
  ASSERT_EQ(over_grpc.exit_code, 0) << over_grpc.output << server.Output();
  EXPECT_GT(over_grpc.row["ok"].get<int>(), 10);
  // Plain HTTP to the HTTPS port: every request fails.
  auto plain = RunBench(dir, With({"--target", "http", "--url", "http://127.0.0.1:" + (*http)[2], "--model", "mlp16",
                                   "--input", "input:FP32:1,16", "--concurrency", "1", "--strict"},
                                  kShortRun));
  EXPECT_NE(plain.exit_code, 0) << plain.output;
}

TEST(BenchSmokeTest, GrpcAgainstAV2Server) {
  TempDir dir;
  V2Service service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  ASSERT_TRUE(server);
  ASSERT_GT(port, 0);
  const std::string address = "127.0.0.1:" + std::to_string(port);

  auto run = RunBench(dir, With({"--target", "grpc", "--grpc-address", address, "--input", "input:FP32:1,16",
                                 "--concurrency", "2", "--strict"},
                                kShortRun));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_GT(run.row["ok"].get<int>(), 10);
  EXPECT_GE(service.calls.load(), run.row["ok"].get<int>());

  ExpectOpenLoop(dir, {"--target", "grpc", "--grpc-address", address, "--input", "input:FP32:1,16", "--connections", "2"});
  ExpectEveryRequestFails(dir, {"--target", "grpc", "--grpc-address", address, "--input", "input:FP32:1,16"},
                          "grpc_NOT_FOUND");
  server->Shutdown();
}

}  // namespace
}  // namespace infergate::testing
