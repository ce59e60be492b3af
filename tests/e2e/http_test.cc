// The KServe v2 REST frontend end to end: the real infergate binary on a free
// port, driven with libcurl (and a raw socket for broken uploads).
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "testing/http_client.h"
#include "testing/process.h"
#include "testing/serve_command.h"
#include "testing/shm_object.h"
#include "testing/temp_dir.h"

namespace infergate {
namespace {

using nlohmann::json;
using testing::CurlClient;
using testing::HttpResult;
using testing::Process;
using testing::RawConnection;
using testing::TempDir;
namespace fs = std::filesystem;

const fs::path kModels = INFERGATE_TEST_MODELS_DIR;

struct TypeCase {
  const char* datatype;
  const char* model_suffix;
  const char* json_data;             // two elements
  std::string binary;                // the same layout the server uses
};

std::string Bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

const std::vector<TypeCase>& TypeCases() {
  static const std::vector<TypeCase> cases = {
      {"BOOL", "bool", "[true,false]", Bytes({1, 0})},
      {"UINT8", "uint8", "[0,255]", Bytes({7, 200})},
      {"UINT16", "uint16", "[1,65535]", Bytes({1, 2, 3, 4})},
      {"UINT32", "uint32", "[1,4294967295]", Bytes({1, 2, 3, 4, 5, 6, 7, 8})},
      {"UINT64", "uint64", "[1,18446744073709551615]", std::string(16, '\x05')},
      {"INT8", "int8", "[-128,127]", Bytes({0x80, 0x7f})},
      {"INT16", "int16", "[-32768,32767]", Bytes({1, 0x80, 2, 0})},
      {"INT32", "int32", "[-2147483648,2147483647]", Bytes({1, 2, 3, 0x84, 5, 6, 7, 8})},
      {"INT64", "int64", "[-9223372036854775808,9223372036854775807]", std::string(16, '\x11')},
      {"FP16", "fp16", "[1.5,-2]", Bytes({0x00, 0x3e, 0x00, 0xc0})},
      {"BF16", "bf16", "[1.5,-2]", Bytes({0xc0, 0x3f, 0x00, 0xc0})},
      {"FP32", "fp32", "[0.1,-2.5]", Bytes({0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0})},
      {"FP64", "fp64", "[0.1,-2.5]", std::string(8, '\0') + Bytes({0, 0, 0, 0, 0, 0, 0xf0, 0x3f})},
      {"BYTES", "string", R"(["ab","c\"d"])", Bytes({2, 0, 0, 0, 'a', 'b', 1, 0, 0, 0, 'c'})},
  };
  return cases;
}

void CopyModel(const TempDir& repo, const std::string& file, const std::string& name) {
  fs::create_directories(repo.path() / name / "1");
  fs::copy_file(kModels / file, repo.path() / name / "1" / "model.onnx");
}

constexpr char kConfig[] = R"(model_control_mode: explicit
http:
  address: 127.0.0.1
  max_body_bytes: 65536
  max_header_bytes: 2048
  max_elements_per_tensor: 4096
  request_timeout_secs: 2
  idle_timeout_secs: 10
shared_memory:
  enabled: true
  max_regions: 4
)";

std::string MlpBody(const std::string& id = "req-1") {
  std::string data;
  for (int i = 0; i < 16; ++i) data += (i ? "," : "") + std::to_string(i * 0.1);
  return R"({"id":")" + id + R"(","inputs":[{"name":"input","shape":[1,16],"datatype":"FP32","data":[)" +
         data + "]}]}";
}

class HttpE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    CopyModel(repo_, "mlp16.onnx", "mlp");
    CopyModel(repo_, "add_sub.onnx", "simple");
    CopyModel(repo_, "corrupt_truncated.onnx", "broken");
    CopyModel(repo_, "mlp16.onnx", "slow");
    repo_.Write("slow/config.yaml",
                "max_batch_size: 8\ndynamic_batching: {preferred_batch_size: [8], "
                "max_queue_delay_microseconds: 3000000, max_queue_size: 1}\n");
    for (const auto& c : TypeCases()) {
      CopyModel(repo_, std::string("identity_") + c.model_suffix + ".onnx",
                std::string("id_") + c.model_suffix);
    }
    const fs::path config = repo_.Write("infergate.yaml", kConfig);
    server_ = std::make_unique<Process>(
        testing::ServeCommand({"--config", config.string(), "--model-repository", repo_.path().string()}));
    auto listening = server_->WaitForLine(R"(http: listening on ([0-9.]+):([0-9]+))");
    ASSERT_TRUE(listening) << server_->Output();
    address_ = (*listening)[1];
    port_ = std::stoi((*listening)[2]);
    ASSERT_TRUE(server_->WaitForLine("infergate ready")) << server_->Output();
    client_ = std::make_unique<CurlClient>("http://" + address_ + ":" + std::to_string(port_));
  }

  void TearDown() override {
    if (server_) {
      EXPECT_EQ(server_->Stop(SIGTERM), 0) << server_->Output();
    }
  }

  // The value of one sample line of /metrics, or -1 when absent.
  double Metric(const std::string& sample) {
    const std::string text = "\n" + client_->Get("/metrics").body;
    const size_t at = text.find("\n" + sample + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + sample.size() + 2));
  }

  static std::string Error(const HttpResult& r) {
    auto j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].get<std::string>() : "<no error: " + r.body + ">";
  }

  TempDir repo_;
  std::unique_ptr<Process> server_;
  std::string address_;
  int port_ = 0;
  std::unique_ptr<CurlClient> client_;
};

TEST_F(HttpE2ETest, HealthMetadataConfigAndKeepAlive) {
  auto live = client_->Get("/v2/health/live");
  EXPECT_EQ(live.status, 200) << live.error;
  auto ready = client_->Get("/v2/health/ready");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.new_connections, 0) << "keep-alive: the connection is reused";

  auto meta = json::parse(client_->Get("/v2").body);
  EXPECT_EQ(meta["name"], "infergate");
  EXPECT_EQ(meta["extensions"], json::parse(R"(["binary_tensor_data","model_configuration",
                                                "model_repository","statistics","device_telemetry",
                                                "system_shared_memory"])"));
  auto model = client_->Get("/v2/models/mlp");
  ASSERT_EQ(model.status, 200) << model.body;
  EXPECT_EQ(json::parse(model.body)["inputs"][0],
            json::parse(R"({"name":"input","datatype":"FP32","shape":[-1,16]})"));
  EXPECT_EQ(client_->Get("/v2/models/mlp/versions/1").status, 200);
  EXPECT_EQ(client_->Get("/v2/models/mlp/ready").status, 200);
  EXPECT_EQ(client_->Get("/v2/models/mlp/versions/1/ready").status, 200);
  auto config = json::parse(client_->Get("/v2/models/slow/config").body);
  EXPECT_EQ(config["max_batch_size"], 8);
  EXPECT_EQ(config["dynamic_batching"]["default_queue_policy"]["max_queue_size"], 1);
  EXPECT_EQ(config["input"][0]["data_type"], "TYPE_FP32");

  auto index = json::parse(client_->Post("/v2/repository/index", "").body);
  EXPECT_EQ(index.size(), 18u) << index.dump();
  auto ready_only = json::parse(client_->Post("/v2/repository/index", R"({"ready":true})").body);
  EXPECT_EQ(ready_only.size(), 17u);  // all but the broken model
}

TEST_F(HttpE2ETest, EveryDatatypeAsJson) {
  for (const auto& c : TypeCases()) {
    const std::string model = std::string("id_") + c.model_suffix;
    const std::string body = R"({"inputs":[{"name":"INPUT0","shape":[1,2],"datatype":")" +
                             std::string(c.datatype) + R"(","data":[)" + c.json_data + "]}]}";
    auto r = client_->Post("/v2/models/" + model + "/infer", body);
    ASSERT_EQ(r.status, 200) << c.datatype << ": " << r.body;
    auto out = json::parse(r.body)["outputs"][0];
    EXPECT_EQ(out["datatype"], c.datatype);
    EXPECT_EQ(out["shape"], json::parse("[1,2]"));
    EXPECT_EQ(out["data"], json::parse(c.json_data)) << c.datatype << ": " << r.body;
  }
}

// Triton's system shared memory extension: each input read from a region the
// test wrote, each output written to another, through ONNX Runtime.
TEST_F(HttpE2ETest, EveryDatatypeThroughSharedMemory) {
  testing::ShmObject object(64 * 1024);
  auto reg = [&](const std::string& name, size_t offset) {
    return client_->Post("/v2/systemsharedmemory/region/" + name + "/register",
                         json{{"key", object.key()}, {"offset", offset}, {"byte_size", 32 * 1024}}.dump());
  };
  ASSERT_EQ(reg("in", 0).status, 200);
  ASSERT_EQ(reg("out", 32 * 1024).status, 200);
  EXPECT_EQ(Metric("infergate_shared_memory_regions"), 2);
  size_t at = 0;
  for (const auto& c : TypeCases()) {
    std::memcpy(object.data() + at, c.binary.data(), c.binary.size());
    const std::string body =
        R"({"inputs":[{"name":"INPUT0","shape":[1,2],"datatype":")" + std::string(c.datatype) +
        R"(","parameters":{"shared_memory_region":"in","shared_memory_offset":)" + std::to_string(at) +
        R"(,"shared_memory_byte_size":)" + std::to_string(c.binary.size()) +
        R"(}}],"outputs":[{"name":"OUTPUT0","parameters":{"shared_memory_region":"out",)" +
        R"("shared_memory_offset":)" + std::to_string(at) + R"(,"shared_memory_byte_size":256}}]})";
    auto r = client_->Post(std::string("/v2/models/id_") + c.model_suffix + "/infer", body);
    ASSERT_EQ(r.status, 200) << c.datatype << ": " << r.body;
    auto out = json::parse(r.body)["outputs"][0];
    EXPECT_FALSE(out.contains("data")) << c.datatype;
    EXPECT_EQ(out["parameters"]["shared_memory_byte_size"], c.binary.size()) << c.datatype;
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(object.data()) + 32 * 1024 + at, c.binary.size()),
              c.binary)
        << c.datatype;
    at += 64;
  }
  // Too many regions, then gone: both refused with the reason, and counted.
  ASSERT_EQ(reg("c", 0).status, 200);
  ASSERT_EQ(reg("d", 0).status, 200);
  auto full = reg("e", 0);
  EXPECT_EQ(full.status, 413);
  EXPECT_NE(Error(full).find("max_regions"), std::string::npos) << full.body;
  EXPECT_EQ(client_->Post("/v2/systemsharedmemory/unregister", "").status, 200);
  auto gone = client_->Post("/v2/models/id_fp32/infer",
                            R"({"inputs":[{"name":"INPUT0","shape":[1,2],"datatype":"FP32","parameters":)"
                            R"({"shared_memory_region":"in","shared_memory_byte_size":8}}]})");
  EXPECT_EQ(gone.status, 400);
  EXPECT_NE(Error(gone).find("no shared memory region 'in'"), std::string::npos) << gone.body;
  EXPECT_EQ(Metric("infergate_http_requests_rejected_total{reason=\"shared_memory\"}"), 1);
  EXPECT_EQ(Metric("infergate_shared_memory_regions"), 0);
}

TEST_F(HttpE2ETest, EveryDatatypeAsBinaryBothWays) {
  bool lower_case = false;
  for (const auto& c : TypeCases()) {
    const std::string model = std::string("id_") + c.model_suffix;
    const std::string json_part = R"({"inputs":[{"name":"INPUT0","shape":[1,2],"datatype":")" +
                                  std::string(c.datatype) +
                                  R"(","parameters":{"binary_data_size":)" +
                                  std::to_string(c.binary.size()) +
                                  R"(}}],"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}}]})";
    // Header names are case-insensitive: alternate the spelling.
    const std::string header = std::string(lower_case ? "inference-header-content-length: "
                                                      : "Inference-Header-Content-Length: ") +
                               std::to_string(json_part.size());
    lower_case = !lower_case;
    auto r = client_->Post("/v2/models/" + model + "/infer", json_part + c.binary,
                           {header, "Content-Type: application/octet-stream"});
    ASSERT_EQ(r.status, 200) << c.datatype << ": " << r.body;
    ASSERT_TRUE(r.headers.count("inference-header-content-length")) << c.datatype;
    const size_t n = std::stoul(r.headers["inference-header-content-length"]);
    ASSERT_LE(n, r.body.size());
    auto meta = json::parse(r.body.substr(0, n));
    EXPECT_EQ(meta["outputs"][0]["parameters"]["binary_data_size"], c.binary.size());
    EXPECT_FALSE(meta["outputs"][0].contains("data"));
    EXPECT_EQ(r.body.substr(n), c.binary) << c.datatype;
  }
}

TEST_F(HttpE2ETest, IdParametersRequestedOutputsAndMixedEncodings) {
  const float a[4] = {1, 2, 3, 4};
  const std::string json_part =
      R"({"id":"abc-42","parameters":{"binary_data_output":true,"priority":1},"inputs":[)"
      R"({"name":"INPUT0","shape":[1,4],"datatype":"FP32","parameters":{"binary_data_size":16}},)"
      R"({"name":"INPUT1","shape":[1,4],"datatype":"FP32","data":[[1,1,1,1]]}],)"
      R"("outputs":[{"name":"OUTPUT1","parameters":{"binary_data":false}}]})";
  auto r = client_->Post("/v2/models/simple/infer",
                         json_part + std::string(reinterpret_cast<const char*>(a), sizeof(a)),
                         {"Inference-Header-Content-Length: " + std::to_string(json_part.size())});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.headers.count("inference-header-content-length"));  // the one output is JSON
  auto j = json::parse(r.body);
  EXPECT_EQ(j["id"], "abc-42");
  EXPECT_EQ(j["model_name"], "simple");
  EXPECT_EQ(j["model_version"], "1");
  ASSERT_EQ(j["outputs"].size(), 1u);
  EXPECT_EQ(j["outputs"][0]["name"], "OUTPUT1");
  EXPECT_EQ(j["outputs"][0]["data"], json::parse("[0,1,2,3]"));
}

TEST_F(HttpE2ETest, ErrorsHaveTheRightStatusAndAreCounted) {
  auto malformed = client_->Post("/v2/models/mlp/infer", R"({"inputs":[{"name":)");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(Error(malformed).find("malformed JSON"), std::string::npos) << malformed.body;
  auto shape = client_->Post("/v2/models/mlp/infer",
                             R"({"inputs":[{"name":"input","shape":[1,16],"datatype":"FP32","data":[1,2]}]})");
  EXPECT_EQ(shape.status, 400);
  EXPECT_NE(Error(shape).find("holds 16 elements but 'data' has 2"), std::string::npos) << shape.body;
  auto type = client_->Post("/v2/models/mlp/infer",
                            R"({"inputs":[{"name":"input","shape":[1,1],"datatype":"FLOAT","data":[1]}]})");
  EXPECT_EQ(type.status, 400);
  EXPECT_NE(Error(type).find("unknown datatype 'FLOAT'"), std::string::npos);
  auto wrong_input = client_->Post("/v2/models/mlp/infer",
                                   R"({"inputs":[{"name":"x","shape":[1,16],"datatype":"FP32","data":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}]})");
  EXPECT_EQ(wrong_input.status, 400);

  auto model = client_->Post("/v2/models/nope/infer", MlpBody());
  EXPECT_EQ(model.status, 404);
  EXPECT_NE(Error(model).find("'nope'"), std::string::npos);
  EXPECT_EQ(client_->Post("/v2/models/mlp/versions/9/infer", MlpBody()).status, 404);
  EXPECT_EQ(client_->Get("/v2/models/mlp/versions/9").status, 404);
  auto not_ready = client_->Post("/v2/models/broken/infer", MlpBody());
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_NE(Error(not_ready).find("no READY version"), std::string::npos) << not_ready.body;
  EXPECT_EQ(client_->Get("/v2/models/broken/ready").status, 503);

  auto elements = client_->Post("/v2/models/mlp/infer",
                                R"({"inputs":[{"name":"input","shape":[320,16],"datatype":"FP32","data":[]}]})");
  EXPECT_EQ(elements.status, 413);
  EXPECT_NE(Error(elements).find("the limit is 4096"), std::string::npos) << elements.body;
  auto body = client_->Post("/v2/models/mlp/infer", std::string(70000, ' '));
  EXPECT_EQ(body.status, 413) << body.error;
  EXPECT_NE(Error(body).find("max_body_bytes"), std::string::npos) << body.body;
  auto header = client_->Get("/v2/health/live");
  header = client_->Post("/v2/models/mlp/infer", MlpBody(), {"X-Padding: " + std::string(3000, 'x')});
  EXPECT_EQ(header.status, 431) << header.error;
  EXPECT_EQ(client_->Get("/v2/models/mlp/infer").status, 405);
  EXPECT_EQ(client_->Get("/v2/nothing/here").status, 404);

  EXPECT_EQ(client_->Post("/v2/models/mlp/infer", MlpBody()).status, 200);  // still serving
  EXPECT_EQ(Metric(R"(infergate_http_requests_rejected_total{reason="invalid_request"})"), 3);
  EXPECT_EQ(Metric(R"(infergate_http_requests_rejected_total{reason="tensor_too_large"})"), 1);
  EXPECT_EQ(Metric(R"(infergate_http_requests_rejected_total{reason="body_too_large"})"), 1);
  EXPECT_EQ(Metric(R"(infergate_http_requests_rejected_total{reason="header_too_large"})"), 1);
  EXPECT_EQ(Metric(R"(infergate_http_requests_rejected_total{reason="method_not_allowed"})"), 1);
  EXPECT_EQ(Metric(R"(infergate_http_requests_rejected_total{reason="unknown_route"})"), 1);
  EXPECT_EQ(Metric(R"(infergate_requests_refused_total{code="NOT_FOUND"})"), 2);
  EXPECT_EQ(Metric(R"(infergate_requests_refused_total{code="UNAVAILABLE"})"), 1);
  EXPECT_EQ(Metric(R"(infergate_requests_refused_total{code="INVALID_ARGUMENT"})"), 1);
}

TEST_F(HttpE2ETest, OverloadedModelAnswers503AtOnce) {
  // `slow` queues one request for up to 3 s (waiting for a batch of 8) and holds no more.
  HttpResult first;
  std::thread waiting([&] {
    CurlClient other("http://" + address_ + ":" + std::to_string(port_));
    first = other.Post("/v2/models/slow/infer", MlpBody("first"));
  });
  bool queued = false;
  for (int i = 0; i < 2000 && !queued; ++i) {  // bounded: polls until the first request is in
    queued = Metric(R"(infergate_inference_in_flight{model="slow",version="1"})") == 1;
  }
  ASSERT_TRUE(queued);
  const auto start = std::chrono::steady_clock::now();
  auto second = client_->Post("/v2/models/slow/infer", MlpBody("second"));
  EXPECT_EQ(second.status, 503) << second.body;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2)) << "refused at once";
  waiting.join();
  EXPECT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(json::parse(first.body)["id"], "first");
}

TEST_F(HttpE2ETest, SlowTruncatedAndBrokenUploads) {
  const std::string head = "POST /v2/models/mlp/infer HTTP/1.1\r\nHost: t\r\nContent-Length: 500\r\n\r\n";
  {
    RawConnection slow(address_, port_);
    ASSERT_TRUE(slow.connected());
    ASSERT_TRUE(slow.Send(head + R"({"inputs":)"));
    const std::string reply = slow.ReadUntilClosed(std::chrono::seconds(10));
    EXPECT_EQ(reply.rfind("HTTP/1.1 408", 0), 0u) << reply;
    EXPECT_NE(reply.find("request_timeout_secs"), std::string::npos) << reply;
    EXPECT_TRUE(slow.closed());
  }
  {
    RawConnection truncated(address_, port_);
    ASSERT_TRUE(truncated.Send(head + R"({"inputs":)"));
    truncated.ShutdownWrite();
    EXPECT_EQ(truncated.ReadUntilClosed(std::chrono::seconds(10)), "");
    EXPECT_TRUE(truncated.closed());
  }
  {
    RawConnection garbage(address_, port_);
    ASSERT_TRUE(garbage.Send("NOT HTTP AT ALL\r\n\r\n"));
    const std::string reply = garbage.ReadUntilClosed(std::chrono::seconds(10));
    EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  }
  EXPECT_EQ(client_->Post("/v2/models/mlp/infer", MlpBody()).status, 200);
  EXPECT_EQ(Metric(R"(infergate_http_requests_rejected_total{reason="timeout"})"), 1);
  EXPECT_EQ(Metric(R"(infergate_http_requests_rejected_total{reason="truncated"})"), 1);
  EXPECT_EQ(Metric(R"(infergate_http_requests_rejected_total{reason="malformed_http"})"), 1);
}

TEST_F(HttpE2ETest, ExpectContinueHttp10AndPipelining) {
  const std::string body = MlpBody("continued");
  RawConnection c(address_, port_);
  ASSERT_TRUE(c.Send("POST /v2/models/mlp/infer HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                     "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
  const std::string interim = c.ReadUntil("\r\n\r\n", std::chrono::seconds(10));
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(c.Send(body));
  const std::string reply = c.ReadUntil("\"continued\"", std::chrono::seconds(10));
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;

  // Two requests in one write: both answered, in order, on the same connection.
  ASSERT_TRUE(c.Send("GET /v2/health/live HTTP/1.1\r\nHost: t\r\n\r\n"
                     "GET /v2/models/nope HTTP/1.1\r\nHost: t\r\n\r\n"));
  const std::string both = c.ReadUntil("unknown model", std::chrono::seconds(10));
  EXPECT_EQ(both.rfind("HTTP/1.1 200", 0), 0u) << both;
  EXPECT_NE(both.find("HTTP/1.1 404"), std::string::npos) << both;

  RawConnection old(address_, port_);
  ASSERT_TRUE(old.Send("GET /v2/health/ready HTTP/1.0\r\n\r\n"));
  const std::string answer = old.ReadUntilClosed(std::chrono::seconds(10));
  EXPECT_EQ(answer.rfind("HTTP/1.0 200", 0), 0u) << answer;
  EXPECT_TRUE(old.closed()) << "HTTP/1.0 without keep-alive: closed after the reply";
}

// A body of known length is read straight into place, in as many pieces as
// it arrives; the bytes after it (a pipelined request) are not taken with it.
TEST_F(HttpE2ETest, BinaryBodyInPiecesAfterTheHeaderThenAPipelinedRequest) {
  const std::string binary = Bytes({0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0});
  const std::string json_part = R"({"inputs":[{"name":"INPUT0","shape":[1,2],"datatype":"FP32",)"
                                R"("parameters":{"binary_data_size":8}}],)"
                                R"("outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}}]})";
  const std::string body = json_part + binary;
  RawConnection c(address_, port_);
  ASSERT_TRUE(c.Send("POST /v2/models/id_fp32/infer HTTP/1.1\r\nHost: t\r\n"
                     "Inference-Header-Content-Length: " + std::to_string(json_part.size()) +
                     "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(c.Send(body.substr(0, 20)));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(c.Send(body.substr(20) + "GET /v2/models/nope HTTP/1.1\r\nHost: t\r\n\r\n"));
  const std::string both = c.ReadUntil("unknown model", std::chrono::seconds(10));
  EXPECT_EQ(both.rfind("HTTP/1.1 200", 0), 0u) << both;
  const size_t second = both.find("HTTP/1.1 404");
  ASSERT_NE(second, std::string::npos) << both;
  const std::string first = both.substr(0, second);
  EXPECT_EQ(first.substr(first.size() - binary.size()), binary) << first;
}

TEST_F(HttpE2ETest, AThousandMalformedRequestsThenACorrectOne) {
  const std::string valid = MlpBody();
  const std::vector<std::string> wrong = {
      R"({"inputs":[{"name":"input","shape":[1,16],"datatype":"FP32","data":"x"}]})",
      R"({"inputs":[{"name":"input","shape":"1,16","datatype":"FP32","data":[]}]})",
      R"({"inputs":[{"name":7,"shape":[1,16],"datatype":"FP32","data":[]}]})",
      R"({"inputs":[{"name":"input","shape":[1,16],"datatype":"FP32","data":[true]}]})",
      R"({"inputs":[{"name":"input","shape":[-1,16],"datatype":"FP32","data":[]}]})",
      R"({"inputs":null})", "[]", "null", "\x01\x02\xff\xfe", "{\"inputs\":[\"\xc3\x28\"]}",
  };
  int refused = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string body = i % 2 ? valid.substr(0, static_cast<size_t>(i) % valid.size())
                                   : wrong[static_cast<size_t>(i / 2) % wrong.size()];
    auto r = client_->Post("/v2/models/mlp/infer", body);
    EXPECT_EQ(r.status, 400) << i << ": " << body << " -> " << r.body << r.error;
    refused += r.status == 400;
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_EQ(refused, 1000);
  auto ok = client_->Post("/v2/models/mlp/infer", valid);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(json::parse(ok.body)["outputs"][0]["shape"], json::parse("[1,4]"));
  EXPECT_EQ(Metric(R"(infergate_http_requests_rejected_total{reason="invalid_request"})"), 1000);
}

// 20,000 nested '[' in an input's data (40 KB) once overflowed the decoder's
// stack and killed the server; now it is a 400 naming the limit, for a known
// model and an unknown one alike, and the server keeps serving.
TEST_F(HttpE2ETest, DeeplyNestedDataIsA400NotACrash) {
  const std::string deep = R"({"inputs":[{"name":"input","shape":[1,16],"datatype":"FP32","data":)" +
                           std::string(20000, '[') + "1" + std::string(20000, ']') + "}]}";
  for (const char* model : {"mlp", "nope"}) {
    auto r = client_->Post(std::string("/v2/models/") + model + "/infer", deep);
    EXPECT_EQ(r.status, 400) << r.error;
    EXPECT_NE(Error(r).find("input 'input': data nested deeper than 64 levels"), std::string::npos)
        << r.body.substr(0, 200);
  }
  EXPECT_EQ(client_->Post("/v2/models/mlp/infer", MlpBody()).status, 200);
}

TEST_F(HttpE2ETest, RepositoryUnloadAndLoad) {
  EXPECT_EQ(client_->Post("/v2/repository/models/mlp/unload", "").status, 200);
  EXPECT_EQ(client_->Get("/v2/models/mlp/ready").status, 503);
  EXPECT_EQ(client_->Post("/v2/models/mlp/infer", MlpBody()).status, 503);
  EXPECT_EQ(Metric("infergate_models_loaded"), 16);
  EXPECT_EQ(client_->Post("/v2/repository/models/mlp/load", "").status, 200);
  EXPECT_EQ(client_->Get("/v2/models/mlp/ready").status, 200);
  EXPECT_EQ(client_->Post("/v2/models/mlp/infer", MlpBody()).status, 200);
  EXPECT_EQ(client_->Post("/v2/repository/models/nope/load", "").status, 404);
}

TEST_F(HttpE2ETest, MetricsAndStatistics) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(client_->Post("/v2/models/mlp/infer", MlpBody()).status, 200);
  ASSERT_EQ(client_->Post("/v2/models/mlp/infer", R"({"inputs":[]})").status, 400);
  auto metrics = client_->Get("/metrics");
  EXPECT_EQ(metrics.headers["content-type"].rfind("text/plain; version=0.0.4", 0), 0u);
  const std::string labels = R"({model="mlp",version="1")";
  EXPECT_EQ(Metric("infergate_inference_requests_total" + labels + R"(,outcome="success"})"), 3);
  // The request the model's input check refused is a failure of that version
  // (Triton's fail count), timed like the others.
  EXPECT_EQ(Metric("infergate_inference_requests_total" + labels + R"(,outcome="failure"})"), 1);
  EXPECT_EQ(Metric("infergate_inference_request_duration_seconds_count" + labels + "}"), 4);
  EXPECT_EQ(Metric("infergate_inference_queue_duration_seconds_count" + labels + "}"), 3);
  EXPECT_EQ(Metric("infergate_inference_compute_duration_seconds_count" + labels + "}"), 3);
  EXPECT_EQ(Metric("infergate_inference_batch_size_count" + labels + "}"), 3);
  EXPECT_EQ(Metric("infergate_inference_in_flight" + labels + "}"), 0);
  EXPECT_GT(Metric("infergate_process_resident_memory_bytes"), 1e6);
  EXPECT_EQ(Metric("infergate_models_loaded"), 17);
  EXPECT_GE(Metric(R"(infergate_http_responses_total{code="200"})"), 3);

  auto stats = json::parse(client_->Get("/v2/models/mlp/stats").body)["model_stats"][0];
  EXPECT_EQ(stats["name"], "mlp");
  EXPECT_EQ(stats["version"], "1");
  EXPECT_EQ(stats["inference_stats"]["success"]["count"], 3);
  EXPECT_EQ(stats["inference_count"], 3);
  EXPECT_GT(stats["inference_stats"]["compute_infer"]["ns"].get<int64_t>(), 0);
}

TEST_F(HttpE2ETest, TakenPortIsAClearStartupError) {
  Process second({INFERGATE_BINARY, "serve", "--model-repository", repo_.path().string(), "--grpc-address",
                  "127.0.0.1", "--grpc-port", "0", "--http-address", address_, "--http-port",
                  std::to_string(port_)});
  EXPECT_NE(second.Wait(), 0);
  EXPECT_NE(second.Output().find("http: cannot listen on " + address_ + ":" + std::to_string(port_)),
            std::string::npos)
      << second.Output();
}

}  // namespace
}  // namespace infergate
