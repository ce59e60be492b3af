// The v2 REST routes called as plain functions: a real repository and
// dispatcher over the fake backend, no socket.
#include "frontends/http/router.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/dispatcher.h"
#include "pipeline/contracts.h"
#include "pipeline/device_service.h"
#include "protocol/telemetry_json.h"
#include "protocol/v2_json.h"
#include "testing/fake_backend.h"
#include "testing/gate.h"
#include "testing/temp_dir.h"
#include "testing/served_repository.h"
#include "testing/shm_object.h"

namespace infergate::http {
namespace {

using nlohmann::json;

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("m/1/model.onnx", "FP32 x y -1 4");
    auto repo = testing::MakeServedRepository(dir_.path(), &backend_);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
    dispatcher_ = std::make_unique<core::Dispatcher>(repo_.get(), &metrics_);
    contracts_ = std::make_unique<pipeline::DeviceContracts>(
        repo_.get(), pipeline::ContractRunner::Options{&clock_, &metrics_});
    devices_ = std::make_unique<pipeline::DeviceService>(contracts_.get(), dispatcher_.get());
    repo_->Poll();
    RouteContext ctx;
    ctx.inference = dispatcher_.get();
    ctx.repository = repo_.get();
    ctx.metrics = &metrics_;
    ctx.statistics = dispatcher_.get();
    ctx.http_metrics = &http_metrics_;
    model_control_ = std::make_unique<engine::ModelControl>(repo_.get(), engine::ModelControlPolicy{});
    ctx.model_control = model_control_.get();
    ctx.ready = &ready_;
    ctx.server_version = "9.9.9";
    if (serve_telemetry_) ctx.devices = devices_.get();
    ctx.shared_memory = shared_memory_;
    policy_ = std::move(*auth::Policy::Create({}, nullptr));
    ctx.policy = policy_.get();
    decoder_.set_shared_memory(shared_memory_);
    router_ = std::make_unique<Router>(ctx);
  }

  // Handles one request and waits for its reply (inline or from another thread).
  HttpResponse Call(Method method, const std::string& target, const std::string& body = "",
                    std::optional<std::string> header_length = std::nullopt) {
    HttpRequest request;
    request.method = method;
    request.target = target;
    auto owner = std::make_shared<const std::string>(body);
    request.body_owner = owner;
    request.body = *owner;
    request.inference_header_length = std::move(header_length);
    request.decoder = &decoder_;
    request.telemetry_decoder = &telemetry_decoder_;
    request.peer_loopback = true;
    std::mutex mu;
    std::condition_variable cv;
    std::optional<HttpResponse> got;
    int calls = 0;
    router_->Handle(request, [&](HttpResponse r) {
      std::lock_guard lock(mu);
      got = std::move(r);
      ++calls;
      cv.notify_all();
    });
    std::unique_lock lock(mu);
    EXPECT_TRUE(testing::WaitFor(cv, lock, [&] { return got.has_value(); })) << target;
    EXPECT_EQ(calls, 1);
    return got.value_or(HttpResponse{});
  }

  static std::string InferBody(const std::string& extra = "") {
    return R"({"id":"r1",)" + extra +
           R"("inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]})";
  }

  testing::TempDir dir_;
  testing::FakeBackend backend_;
  core::MetricsRegistry metrics_;
  HttpMetrics http_metrics_{&metrics_};
  std::unique_ptr<engine::ModelControl> model_control_;
  std::atomic<bool> ready_{true};
  protocol::InferRequestDecoder decoder_;
  protocol::TelemetryDecoder telemetry_decoder_;
  core::ManualClock clock_;
  bool serve_telemetry_ = false;  // set before SetUp: route device telemetry
  core::SharedMemoryRegistry* shared_memory_ = nullptr;  // set before SetUp: serve shared memory
  std::unique_ptr<core::ModelRepository> repo_;
  std::unique_ptr<core::Dispatcher> dispatcher_;
  std::unique_ptr<pipeline::DeviceContracts> contracts_;
  std::unique_ptr<pipeline::DeviceService> devices_;
  std::unique_ptr<auth::Policy> policy_;  // authentication off
  std::unique_ptr<Router> router_;
};

TEST_F(RouterTest, ServerMetadataAndHealth) {
  auto meta = Call(Method::kGet, "/v2");
  EXPECT_EQ(meta.status, 200);
  EXPECT_EQ(json::parse(meta.body),
            json::parse(R"({"name":"infergate","version":"9.9.9","extensions":
              ["binary_tensor_data","model_configuration","model_repository","statistics"]})"));
  EXPECT_EQ(Call(Method::kGet, "/v2/health/live").status, 200);
  EXPECT_EQ(Call(Method::kGet, "/v2/health/ready").status, 200);
  ready_ = false;
  EXPECT_EQ(Call(Method::kGet, "/v2/health/ready").status, 503);
  EXPECT_EQ(Call(Method::kGet, "/v2/health/live").status, 200);
}

TEST_F(RouterTest, ModelMetadataReadyAndConfig) {
  auto meta = Call(Method::kGet, "/v2/models/m");
  ASSERT_EQ(meta.status, 200) << meta.body;
  auto m = json::parse(meta.body);
  EXPECT_EQ(m["versions"], json::parse(R"(["1"])"));
  EXPECT_EQ(m["inputs"][0], json::parse(R"({"name":"x","datatype":"FP32","shape":[-1,4]})"));
  EXPECT_EQ(m["outputs"][0]["name"], "y");
  EXPECT_EQ(Call(Method::kGet, "/v2/models/m/versions/1").status, 200);
  EXPECT_EQ(Call(Method::kGet, "/v2/models/m/ready").status, 200);
  EXPECT_EQ(Call(Method::kGet, "/v2/models/m/versions/1/ready").status, 200);

  auto config = json::parse(Call(Method::kGet, "/v2/models/m/config").body);
  EXPECT_EQ(config["max_batch_size"], 32);
  EXPECT_EQ(config["input"][0], json::parse(R"({"name":"x","data_type":"TYPE_FP32","dims":[4]})"));
  EXPECT_EQ(config["version_policy"], json::parse(R"({"latest":{"num_versions":1}})"));
  EXPECT_EQ(config["instance_group"][0]["kind"], "KIND_CPU");
}

TEST_F(RouterTest, UnknownModelsVersionsAndRoutes) {
  auto unknown = Call(Method::kGet, "/v2/models/nope");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(json::parse(unknown.body)["error"].get<std::string>().find("nope"), std::string::npos);
  EXPECT_EQ(Call(Method::kGet, "/v2/models/m/versions/7").status, 404);
  EXPECT_EQ(Call(Method::kGet, "/v2/models/m/versions/7/ready").status, 404);
  EXPECT_EQ(Call(Method::kGet, "/v2/models/nope/ready").status, 404);
  EXPECT_EQ(Call(Method::kGet, "/v2/models/m/versions/x1").status, 400);
  EXPECT_EQ(Call(Method::kGet, "/v2/models/m/versions/0/ready").status, 400);
  EXPECT_EQ(Call(Method::kGet, "/v2/models/m/bogus").status, 404);
  EXPECT_EQ(Call(Method::kGet, "/v3").status, 404);
  EXPECT_EQ(Call(Method::kGet, "/").status, 404);
  auto wrong_method = Call(Method::kGet, "/v2/models/m/infer");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_NE(wrong_method.body.find("use POST"), std::string::npos) << wrong_method.body;
  EXPECT_EQ(Call(Method::kPost, "/v2/models/m").status, 405);
  EXPECT_EQ(http_metrics_.rejected(RejectReason::kUnknownRoute), 3u);
  EXPECT_EQ(http_metrics_.rejected(RejectReason::kMethodNotAllowed), 2u);
  EXPECT_EQ(http_metrics_.rejected(RejectReason::kInvalidRequest), 2u);
}

TEST_F(RouterTest, InferJson) {
  auto r = Call(Method::kPost, "/v2/models/m/infer?x=1", InferBody());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.inference_header_length.has_value());
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"model_name":"m","model_version":"1","id":"r1",
    "outputs":[{"name":"y","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]})"));
  EXPECT_EQ(Call(Method::kPost, "/v2/models/m/versions/1/infer", InferBody()).status, 200);
}

TEST_F(RouterTest, InferBinaryBothWays) {
  const float x[4] = {1.5f, 2, 3, 4};
  std::string json_part = R"({"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32",)"
                          R"("parameters":{"binary_data_size":16}}],)"
                          R"("outputs":[{"name":"y","parameters":{"binary_data":true}}]})";
  std::string body = json_part + std::string(reinterpret_cast<const char*>(x), sizeof(x));
  auto r = Call(Method::kPost, "/v2/models/m/infer", body, std::to_string(json_part.size()));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(r.inference_header_length.has_value());
  EXPECT_EQ(r.content_type, "application/octet-stream");
  const size_t n = *r.inference_header_length;
  ASSERT_EQ(r.body.size(), n + 16);
  EXPECT_EQ(json::parse(r.body.substr(0, n))["outputs"][0]["parameters"]["binary_data_size"], 16);
  float y[4];
  std::memcpy(y, r.body.data() + n, sizeof(y));
  EXPECT_EQ(y[0], 1.5f);

  auto bad_header = Call(Method::kPost, "/v2/models/m/infer", body, "12x");
  EXPECT_EQ(bad_header.status, 400);
  EXPECT_NE(bad_header.body.find("Inference-Header-Content-Length"), std::string::npos);
}

TEST_F(RouterTest, InferErrors) {
  auto unknown = Call(Method::kPost, "/v2/models/nope/infer", InferBody());
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Call(Method::kPost, "/v2/models/m/versions/3/infer", InferBody()).status, 404);
  auto malformed = Call(Method::kPost, "/v2/models/m/infer", "{\"inputs\":[");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(json::parse(malformed.body)["error"].get<std::string>().find("malformed JSON"),
            std::string::npos);
  auto shape = Call(Method::kPost, "/v2/models/m/infer",
                    R"({"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]})");
  EXPECT_EQ(shape.status, 400);
  EXPECT_NE(shape.body.find("input 'x'"), std::string::npos) << shape.body;
  EXPECT_EQ(http_metrics_.rejected(RejectReason::kInvalidRequest), 1u);  // the dispatcher counts the rest
}

TEST_F(RouterTest, RepositoryIndexUnloadLoadAndStats) {
  dir_.Write("broken/1/model.onnx", "BROKEN");
  repo_->Poll();
  auto index = json::parse(Call(Method::kPost, "/v2/repository/index").body);
  ASSERT_EQ(index.size(), 2u) << index.dump();
  EXPECT_EQ(index[0]["name"], "broken");
  EXPECT_EQ(index[0]["state"], "UNAVAILABLE");
  EXPECT_EQ(index[1], json::parse(R"({"name":"m","version":"1","state":"READY","reason":""})"));
  auto ready = json::parse(Call(Method::kPost, "/v2/repository/index", R"({"ready":true})").body);
  EXPECT_EQ(ready.size(), 1u);
  EXPECT_EQ(Call(Method::kPost, "/v2/repository/index", R"({"ready":1})").status, 400);
  EXPECT_EQ(Call(Method::kPost, "/v2/repository/index", "{").status, 400);

  EXPECT_EQ(Call(Method::kPost, "/v2/models/m/infer", InferBody()).status, 200);
  auto stats = json::parse(Call(Method::kGet, "/v2/models/m/stats").body);
  EXPECT_EQ(stats["model_stats"][0]["inference_stats"]["success"]["count"], 1);
  EXPECT_EQ(stats["model_stats"][0]["execution_count"], 1);
  EXPECT_EQ(json::parse(Call(Method::kGet, "/v2/models/stats").body)["model_stats"].size(), 1u);
  EXPECT_EQ(Call(Method::kGet, "/v2/models/nope/stats").status, 404);

  EXPECT_EQ(Call(Method::kPost, "/v2/repository/models/m/unload").status, 200);
  EXPECT_NE(Call(Method::kGet, "/v2/models/m/ready").status, 200);
  EXPECT_NE(Call(Method::kPost, "/v2/models/m/infer", InferBody()).status, 200);
  EXPECT_EQ(Call(Method::kPost, "/v2/repository/models/m/load").status, 200);
  EXPECT_EQ(Call(Method::kGet, "/v2/models/m/ready").status, 200);
  EXPECT_EQ(Call(Method::kPost, "/v2/repository/models/nope/load").status, 404);
}

TEST_F(RouterTest, ModelControlCanBeDisabled) {
  RouteContext ctx = router_->context();
  engine::ModelControl disabled(repo_.get(), engine::ModelControlPolicy{.allow_load_unload = false});
  ctx.model_control = &disabled;
  router_ = std::make_unique<Router>(ctx);
  auto r = Call(Method::kPost, "/v2/repository/models/m/unload");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("model_control_mode: none"), std::string::npos) << r.body;
  EXPECT_EQ(Call(Method::kGet, "/v2/models/m/ready").status, 200);
}

TEST_F(RouterTest, MetricsText) {
  Call(Method::kGet, "/nowhere");
  auto r = Call(Method::kGet, "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type.rfind("text/plain; version=0.0.4", 0), 0u);
  EXPECT_NE(r.body.find("infergate_http_requests_rejected_total{reason=\"unknown_route\"} 1\n"),
            std::string::npos)
      << r.body;
}

TEST(SplitPathTest, DecodesSegmentsAndDropsTheQuery) {
  EXPECT_EQ(SplitPath("/v2/models/a%2Fb/infer?x=%41"),
            (std::vector<std::string>{"v2", "models", "a/b", "infer"}));
  EXPECT_EQ(SplitPath("//v2/"), (std::vector<std::string>{"v2"}));
  EXPECT_EQ(SplitPath("/a%zz%4"), (std::vector<std::string>{"a%zz%4"}));
}

// POST /v2/models/{m}/devices/{d}/telemetry over a model with a device
// contract: a window of 4 readings of `v` into x; y (a copy of x) is read as
// the scores of classes a..d.
class TelemetryRouteTest : public RouterTest {
 protected:
  void SetUp() override {
    dir_.Write("dev/1/model.onnx", "FP32 x y -1 4");
    dir_.Write("dev/config.yaml", R"(max_batch_size: 8
device:
  max_devices: 2
  inputs: [{name: x, fields: [v]}]
  window: {count: 4}
  result: {labels: [a, b, c, d], on: change}
)");
    serve_telemetry_ = true;
    RouterTest::SetUp();
  }

  HttpResponse Send(const std::string& device, const std::string& body,
                    const std::string& model = "dev") {
    return Call(Method::kPost, "/v2/models/" + model + "/devices/" + device + "/telemetry", body);
  }
};

TEST_F(TelemetryRouteTest, WindowFillsThenResultsFollowTheOnRule) {
  for (int i = 1; i <= 3; ++i) {
    auto r = Send("pump-1", R"({"v": )" + std::to_string(i) + "}");
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_EQ(json::parse(r.body), json::parse(R"({"status":"window filling","device":"pump-1",
              "readings":)" + std::to_string(i) + R"(,"needed":)" + std::to_string(4 - i) + "}"));
  }
  auto first = Send("pump-1", R"({"v": 4})");
  ASSERT_EQ(first.status, 200) << first.body;
  auto result = json::parse(first.body);
  EXPECT_EQ(result["device"], "pump-1");
  EXPECT_EQ(result["label"], "d");
  EXPECT_EQ(result["model"], "dev");

  // The same verdict again: on: change keeps quiet, and says so.
  auto quiet = Send("pump-1", R"({"v": [1, 2, 3, 4]})");
  ASSERT_EQ(quiet.status, 200) << quiet.body;
  EXPECT_EQ(json::parse(quiet.body),
            json::parse(R"({"status":"no change","device":"pump-1","windows":1})"));

  // One message completing two windows with two verdicts: both, in order.
  auto two = Send("pump-1", R"({"v": [9, 1, 1, 1, 1, 1, 1, 9]})");
  ASSERT_EQ(two.status, 200) << two.body;
  auto both = json::parse(two.body);
  ASSERT_TRUE(both.is_array()) << two.body;
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0]["label"], "a");
  EXPECT_EQ(both[1]["label"], "d");

  // Another device has a window of its own; the version can be named.
  auto other = Call(Method::kPost, "/v2/models/dev/versions/1/devices/fan-2/telemetry",
                    R"({"v": 5})");
  EXPECT_EQ(other.status, 202) << other.body;
  EXPECT_EQ(json::parse(other.body)["readings"], 1);
}

TEST_F(TelemetryRouteTest, RefusalsNameTheProblemAndAreCounted) {
  auto error = [](const HttpResponse& r) { return json::parse(r.body)["error"].get<std::string>(); };
  auto malformed = Send("p", R"({"v": )");
  EXPECT_EQ(malformed.status, 400);
  auto missing = Send("p", R"({"w": 1})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(error(missing).find("field 'v'"), std::string::npos) << missing.body;
  auto mistyped = Send("p", R"({"v": "hot"})");
  EXPECT_EQ(mistyped.status, 400);
  EXPECT_NE(error(mistyped).find("field 'v': expected a number, got a string"), std::string::npos)
      << mistyped.body;
  EXPECT_EQ(http_metrics_.rejected(RejectReason::kInvalidTelemetry), 3u);

  auto unknown = Send("p", R"({"v": 1})", "nope");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(error(unknown).find("nope"), std::string::npos);
  EXPECT_EQ(Call(Method::kPost, "/v2/models/dev/versions/7/devices/p/telemetry", "{}").status, 404);
  EXPECT_EQ(http_metrics_.rejected(RejectReason::kUnknownModel), 2u);

  auto plain = Send("p", R"({"v": 1})", "m");
  EXPECT_EQ(plain.status, 400);
  EXPECT_NE(error(plain).find("has no device section"), std::string::npos) << plain.body;
  EXPECT_EQ(http_metrics_.rejected(RejectReason::kNoDeviceContract), 1u);

  // max_devices: 2, so a third device is refused as overload; known ones go on.
  EXPECT_EQ(Send("a", R"({"v": 1})").status, 202);
  EXPECT_EQ(Send("b", R"({"v": 1})").status, 202);
  auto full = Send("c", R"({"v": 1})");
  EXPECT_EQ(full.status, 503);
  EXPECT_NE(error(full).find("max_devices"), std::string::npos) << full.body;
  EXPECT_EQ(http_metrics_.rejected(RejectReason::kDeviceLimit), 1u);
  EXPECT_EQ(Send("a", R"({"v": 2})").status, 202);

  EXPECT_EQ(Call(Method::kGet, "/v2/models/dev/devices/a/telemetry").status, 405);
  EXPECT_EQ(Call(Method::kPost, "/v2/models/dev/devices/a/bogus", "{}").status, 404);
}

TEST_F(TelemetryRouteTest, AdvertisedAsAnExtension) {
  auto meta = json::parse(Call(Method::kGet, "/v2").body);
  EXPECT_EQ(meta["extensions"].back(), "device_telemetry");
}

// Triton's system shared memory extension: register, status, inference with
// inputs and outputs in a region, unregister, and the refusals, each counted.
class SharedMemoryRoutesTest : public RouterTest {
 protected:
  void SetUp() override {
    shared_memory_ = &registry_;
    RouterTest::SetUp();
  }

  std::string RegisterBody(uint64_t offset, uint64_t size) const {
    return json{{"key", object_.key()}, {"offset", offset}, {"byte_size", size}}.dump();
  }
  // Infers with input x read from `region`.
  HttpResponse InferFrom(const std::string& region) {
    return Call(Method::kPost, "/v2/models/m/infer",
                R"({"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","parameters":)"
                R"({"shared_memory_region":")" + region + R"(","shared_memory_byte_size":16}}]})");
  }
  static std::string Error(const HttpResponse& r) { return json::parse(r.body).value("error", ""); }

  testing::ShmObject object_{8192};
  core::SharedMemoryRegistry registry_{4, &metrics_};
};

TEST_F(SharedMemoryRoutesTest, RegisterInferInAndOutOfTheRegionUnregister) {
  auto meta = json::parse(Call(Method::kGet, "/v2").body);
  EXPECT_NE(std::find(meta["extensions"].begin(), meta["extensions"].end(), "system_shared_memory"),
            meta["extensions"].end());

  ASSERT_EQ(Call(Method::kPost, "/v2/systemsharedmemory/region/in/register", RegisterBody(0, 4096)).status, 200);
  ASSERT_EQ(Call(Method::kPost, "/v2/systemsharedmemory/region/out/register", RegisterBody(4096, 4096)).status,
            200);
  auto all = Call(Method::kGet, "/v2/systemsharedmemory/status");
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(json::parse(all.body), json::parse(R"([{"name":"in","key":")" + object_.key() +
                                              R"(","offset":0,"byte_size":4096},{"name":"out","key":")" +
                                              object_.key() + R"(","offset":4096,"byte_size":4096}])"));
  auto one = json::parse(Call(Method::kGet, "/v2/systemsharedmemory/region/out/status").body);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["name"], "out");

  const float x[4] = {0.5f, -1, 2, 8};
  object_.Write(128, x, 4);
  auto r = Call(Method::kPost, "/v2/models/m/infer",
                R"({"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","parameters":
                  {"shared_memory_region":"in","shared_memory_offset":128,"shared_memory_byte_size":16}}],
                  "outputs":[{"name":"y","parameters":{"shared_memory_region":"out",
                  "shared_memory_offset":32,"shared_memory_byte_size":64}}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto out = json::parse(r.body)["outputs"][0];
  EXPECT_FALSE(out.contains("data"));
  EXPECT_EQ(out["parameters"]["shared_memory_region"], "out");
  EXPECT_EQ(out["parameters"]["shared_memory_byte_size"], 16);
  float y[4];
  std::memcpy(y, object_.data() + 4096 + 32, sizeof(y));
  EXPECT_EQ(y[0], 0.5f);
  EXPECT_EQ(y[3], 8.0f);

  ASSERT_EQ(Call(Method::kPost, "/v2/systemsharedmemory/region/in/unregister").status, 200);
  auto gone = InferFrom("in");
  EXPECT_EQ(gone.status, 400);
  EXPECT_NE(Error(gone).find("no shared memory region 'in'"), std::string::npos) << gone.body;
  ASSERT_EQ(Call(Method::kPost, "/v2/systemsharedmemory/unregister").status, 200);
  EXPECT_EQ(json::parse(Call(Method::kGet, "/v2/systemsharedmemory/status").body), json::array());
  EXPECT_EQ(http_metrics_.rejected(RejectReason::kSharedMemory), 0u);
  EXPECT_EQ(http_metrics_.rejected(RejectReason::kInvalidRequest), 1u);
}

TEST_F(SharedMemoryRoutesTest, RefusalsNameTheProblemAndAreCounted) {
  const std::string base = "/v2/systemsharedmemory/region/";
  ASSERT_EQ(Call(Method::kPost, base + "a/register", RegisterBody(0, 64)).status, 200);
  struct Case {
    std::string target;
    std::string body;
    int status;
    const char* message;
  } cases[] = {
      {base + "a/register", RegisterBody(0, 64), 409, "already registered"},
      {base + "b/register", R"({"key":"/infergate-test-none","byte_size":8})", 404, "no shared memory object"},
      {base + "b/register", R"({"offset":0,"byte_size":8})", 400, "'key'"},
      {base + "b/register", R"({"key":"/k"})", 400, "'byte_size'"},
      {base + "b/register", R"({"key":"/k","byte_size":-8})", 400, "non-negative"},
      {base + "b/register", R"({"key":"/k","byte_size":8)", 400, "malformed JSON"},
      {base + "b/register", RegisterBody(8000, 1000), 400, "past the end"},
      {base + "b/register", R"({"key":"k","byte_size":8})", 400, "POSIX shared memory name"},
      {base + "zzz/unregister", "", 404, "no shared memory region 'zzz'"},
  };
  for (const auto& c : cases) {
    auto r = Call(Method::kPost, c.target, c.body);
    EXPECT_EQ(r.status, c.status) << c.target << " " << c.body << ": " << r.body;
    EXPECT_NE(Error(r).find(c.message), std::string::npos) << c.body << ": " << r.body;
  }
  EXPECT_EQ(Call(Method::kGet, base + "zzz/status").status, 404);
  EXPECT_EQ(http_metrics_.rejected(RejectReason::kSharedMemory), std::size(cases) + 1);

  EXPECT_EQ(Call(Method::kGet, base + "a/register").status, 405);
  EXPECT_EQ(Call(Method::kPost, "/v2/systemsharedmemory/register").status, 404);  // needs a region
  EXPECT_EQ(Call(Method::kGet, "/v2/systemsharedmemory/region/a/bogus").status, 404);

  // An output too large for its window fails the request after inference, naming both sizes.
  auto small = Call(Method::kPost, "/v2/models/m/infer",
                    R"({"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}],
                      "outputs":[{"name":"y","parameters":{"shared_memory_region":"a",
                      "shared_memory_byte_size":8}}]})");
  EXPECT_EQ(small.status, 400);
  EXPECT_NE(Error(small).find("output 'y' is 16 bytes"), std::string::npos) << small.body;
}

TEST_F(RouterTest, SharedMemoryIsOffUnlessTheServerTurnsItOn) {
  const std::string body = R"({"key":"/infergate-test","byte_size":64})";
  auto meta = json::parse(Call(Method::kGet, "/v2").body);
  EXPECT_EQ(std::find(meta["extensions"].begin(), meta["extensions"].end(), "system_shared_memory"),
            meta["extensions"].end());
  auto r = Call(Method::kPost, "/v2/systemsharedmemory/region/a/register", body);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("disabled"), std::string::npos) << r.body;
  EXPECT_EQ(Call(Method::kGet, "/v2/systemsharedmemory/status").status, 400);
  auto infer = Call(Method::kPost, "/v2/models/m/infer",
                    R"({"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","parameters":)"
                    R"({"shared_memory_region":"a","shared_memory_byte_size":16}}]})");
  EXPECT_EQ(infer.status, 400);
  EXPECT_NE(infer.body.find("disabled"), std::string::npos) << infer.body;
  EXPECT_EQ(http_metrics_.rejected(RejectReason::kSharedMemory), 2u);
  EXPECT_EQ(http_metrics_.rejected(RejectReason::kInvalidRequest), 1u);
}

TEST_F(RouterTest, NoTelemetryRouteWithoutContracts) {
  EXPECT_EQ(Call(Method::kPost, "/v2/models/m/devices/a/telemetry", R"({"v": 1})").status, 404);
  EXPECT_EQ(http_metrics_.rejected(RejectReason::kUnknownRoute), 1u);
}

}  // namespace
}  // namespace infergate::http

namespace infergate::http {
namespace {

// What each endpoint needs from the access policy, and the model it names.
TEST(ClassifyRouteTest, EveryEndpointClass) {
  using auth::Access;
  struct Case {
    const char* target;
    Access access;
    const char* model;
  } cases[] = {
      {"/v2/health/live", Access::kOpen, ""},
      {"/v2/health/ready", Access::kOpen, ""},
      {"/v2/health/other", Access::kRead, ""},
      {"/v2/models/m/infer", Access::kInfer, "m"},
      {"/v2/models/m/versions/2/infer", Access::kInfer, "m"},
      {"/v2/models/m/devices/d1/telemetry", Access::kInfer, "m"},
      {"/v2/models/m/versions/1/devices/d1/telemetry", Access::kInfer, "m"},
      {"/v2", Access::kRead, ""},
      {"/metrics", Access::kRead, ""},
      {"/v2/models/m", Access::kRead, "m"},
      {"/v2/models/a%2Fb/ready", Access::kRead, "a/b"},
      {"/v2/models/m/versions/1/config", Access::kRead, "m"},
      {"/v2/models/m/stats", Access::kRead, "m"},
      {"/v2/models/stats", Access::kRead, ""},
      {"/v2/repository/index", Access::kRead, ""},
      {"/v2/repository/models/m/load", Access::kAdmin, "m"},
      {"/v2/repository/models/m/unload", Access::kAdmin, "m"},
      {"/v2/repository/manifest", Access::kAdmin, ""},
      {"/v2/repository/files/m/1/model.onnx", Access::kAdmin, "m"},
      {"/v2/repository/files/m/config.yaml", Access::kAdmin, "m"},
      {"/v2/systemsharedmemory/status", Access::kAdmin, ""},
      {"/v2/systemsharedmemory/region/r/status", Access::kAdmin, ""},
      {"/v2/systemsharedmemory/unregister", Access::kAdmin, ""},
      {"/v2/systemsharedmemory/region/r/register", Access::kLocalAdmin, ""},
      {"/", Access::kRead, ""},
      {"/unknown/path", Access::kRead, ""},
  };
  for (const auto& c : cases) {
    const auto segments = SplitPath(c.target);
    const RouteAccess a = ClassifyRoute(segments);
    EXPECT_EQ(a.access, c.access) << c.target;
    EXPECT_EQ(a.model, c.model) << c.target;
  }
}

// The fleet origin's file route: the path a client sends reaches the origin
// whole (its %-decoded segments joined), and a file comes back as a file to
// stream, not as bytes in memory.
TEST(OriginRoutesTest, FilePathsAreJoinedAndFilesStreamed) {
  RouteContext ctx;
  std::vector<std::pair<std::string, std::string>> asked;
  ctx.origin.file = [&asked](const std::string& model, const std::string& path) -> core::StatusOr<std::filesystem::path> {
    asked.emplace_back(model, path);
    if (path.find("..") != std::string::npos) return core::NotFound("no such file");
    return std::filesystem::path("/repo") / model / path;
  };
  auto ok = RepositoryFile(ctx, "m", "1/model.onnx");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.file, "/repo/m/1/model.onnx");
  EXPECT_EQ(ok.content_type, "application/octet-stream");
  EXPECT_EQ(RepositoryFile(ctx, "m", "1/../../x").status, 404);
  EXPECT_EQ(RepositoryFile(RouteContext{}, "m", "1/model.onnx").status, 404);
  EXPECT_EQ(RepositoryManifest(RouteContext{}).status, 404);
}

}  // namespace
}  // namespace infergate::http
