// The gRPC frontend end to end: the real infergate binary on a free loopback
// port, driven through a stub generated from proto/grpc_service.proto.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <cstring>
#include <map>
#include <numeric>
#include <random>
#include <regex>

#include "testing/grpc_server.h"
#include "testing/grpc_shared_memory.h"
#include "testing/http_client.h"
#include "testing/mlp_request.h"
#include "testing/model_repo.h"
#include "testing/shm_object.h"
#include "testing/temp_dir.h"

namespace infergate {
namespace {

using testing::CopyModel;
using testing::GrpcServer;
using testing::MlpRequest;
using testing::TempDir;

constexpr const char* kDatatypes[] = {"BOOL",  "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16",
                                      "INT32", "INT64", "FP16",   "BF16",   "FP32",   "FP64", "BYTES"};

std::string FileSuffix(std::string type) {
  if (type == "BYTES") return "string";
  for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type;
}

// mlp (mlp16), simple (add_sub), upper (string_upper), slow (mlp16 held in
// its queue for 600 ms, at most 2 queued) and identity_<type> for every type.
void MakeRepository(const TempDir& repo) {
  CopyModel(repo, "mlp16.onnx", "mlp");
  CopyModel(repo, "add_sub.onnx", "simple");
  CopyModel(repo, "string_upper.onnx", "upper");
  CopyModel(repo, "mlp16.onnx", "slow");
  repo.Write("slow/config.yaml",
             "max_batch_size: 8\n"
             "dynamic_batching:\n"
             "  preferred_batch_size: [8]\n"
             "  max_queue_delay_microseconds: 600000\n"
             "  max_queue_size: 2\n");
  for (const char* t : kDatatypes) CopyModel(repo, "identity_" + FileSuffix(t) + ".onnx", "identity_" + FileSuffix(t));
}

// The probabilities of an mlp reply, whichever form they came in.
std::vector<float> Probabilities(const inference::ModelInferResponse& r) {
  if (r.raw_output_contents_size() > 0) {
    const std::string& raw = r.raw_output_contents(0);
    std::vector<float> out(raw.size() / 4);
    std::memcpy(out.data(), raw.data(), out.size() * 4);
    return out;
  }
  const auto& c = r.outputs(0).contents().fp32_contents();
  return {c.begin(), c.end()};
}

void ExpectSoftmaxRows(const inference::ModelInferResponse& r, int64_t batch) {
  ASSERT_EQ(r.outputs_size(), 1);
  EXPECT_EQ(r.outputs(0).name(), "probabilities");
  EXPECT_EQ(r.outputs(0).datatype(), "FP32");
  ASSERT_EQ(r.outputs(0).shape_size(), 2);
  EXPECT_EQ(r.outputs(0).shape(0), batch);
  EXPECT_EQ(r.outputs(0).shape(1), 4);
  auto p = Probabilities(r);
  ASSERT_EQ(p.size(), static_cast<size_t>(batch * 4));
  for (int64_t row = 0; row < batch; ++row) {
    EXPECT_NEAR(std::accumulate(p.begin() + row * 4, p.begin() + row * 4 + 4, 0.0), 1.0, 1e-5);
  }
}

std::unique_ptr<::grpc::ClientContext> Context(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto c = std::make_unique<::grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + timeout);
  return c;
}

// Sends `n` copies of `request` at once (callback API) and collects their
// statuses in the order they complete.
class ConcurrentCalls {
 public:
  ConcurrentCalls(inference::GRPCInferenceService::Stub& stub, const inference::ModelInferRequest& request, int n)
      : request_(request), responses_(static_cast<size_t>(n)) {
    for (int i = 0; i < n; ++i) {
      contexts_.push_back(Context());
      stub.async()->ModelInfer(contexts_.back().get(), &request_, &responses_[i], [this](::grpc::Status s) {
        std::lock_guard lock(mu_);
        done_.push_back(s);
        cv_.notify_all();
      });
    }
  }
  ~ConcurrentCalls() { WaitFor(contexts_.size()); }
  // The statuses of the first `n` calls to complete (fewer on time-out).
  std::vector<::grpc::Status> WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(20), [&] { return done_.size() >= n; });
    return done_;
  }
  void CancelAll() {
    for (auto& c : contexts_) c->TryCancel();
  }

 private:
  const inference::ModelInferRequest request_;
  std::vector<inference::ModelInferResponse> responses_;
  std::vector<std::unique_ptr<::grpc::ClientContext>> contexts_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<::grpc::Status> done_;
};

class GrpcE2ETest : public ::testing::Test {
 protected:
  void StartServer(std::vector<std::string> extra = {}, const std::string& model_control_mode = "none") {
    MakeRepository(repo_);
    std::vector<std::string> args = {"--model-repository", repo_.path().string(), "--model-control-mode",
                                     model_control_mode};
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<GrpcServer>(args);
    ASSERT_TRUE(server_->ok()) << server_->process().Output();
  }
  inference::GRPCInferenceService::Stub& stub() { return server_->stub(); }

  ::grpc::Status Infer(const inference::ModelInferRequest& req, inference::ModelInferResponse* resp) {
    return stub().ModelInfer(Context().get(), req, resp);
  }

  inference::ModelStatistics Statistics(const std::string& model) {
    inference::ModelStatisticsRequest req;
    req.set_name(model);
    inference::ModelStatisticsResponse resp;
    auto st = stub().ModelStatistics(Context().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.model_stats_size() ? resp.model_stats(0) : inference::ModelStatistics();
  }

  TempDir repo_;
  std::unique_ptr<GrpcServer> server_;
};

TEST_F(GrpcE2ETest, EveryRpc) {
  StartServer();
  {
    inference::ServerLiveResponse live;
    ASSERT_TRUE(stub().ServerLive(Context().get(), {}, &live).ok());
    EXPECT_TRUE(live.live());
    inference::ServerReadyResponse ready;
    ASSERT_TRUE(stub().ServerReady(Context().get(), {}, &ready).ok());
    EXPECT_TRUE(ready.ready());
    inference::ServerMetadataResponse meta;
    ASSERT_TRUE(stub().ServerMetadata(Context().get(), {}, &meta).ok());
    EXPECT_EQ(meta.name(), "infergate");
    EXPECT_FALSE(meta.version().empty());
    EXPECT_GE(meta.extensions_size(), 1);
  }
  {
    inference::ModelReadyRequest req;
    req.set_name("mlp");
    inference::ModelReadyResponse resp;
    ASSERT_TRUE(stub().ModelReady(Context().get(), req, &resp).ok());
    EXPECT_TRUE(resp.ready());
  }
  {
    inference::ModelMetadataRequest req;
    req.set_name("mlp");
    inference::ModelMetadataResponse resp;
    ASSERT_TRUE(stub().ModelMetadata(Context().get(), req, &resp).ok());
    EXPECT_EQ(resp.name(), "mlp");
    EXPECT_EQ(resp.platform(), "onnxruntime_onnx");
    ASSERT_EQ(resp.versions_size(), 1);
    EXPECT_EQ(resp.versions(0), "1");
    ASSERT_EQ(resp.inputs_size(), 1);
    EXPECT_EQ(resp.inputs(0).name(), "input");
    EXPECT_EQ(resp.inputs(0).datatype(), "FP32");
    EXPECT_EQ(std::vector<int64_t>(resp.inputs(0).shape().begin(), resp.inputs(0).shape().end()),
              (std::vector<int64_t>{-1, 16}));
    EXPECT_EQ(resp.outputs(0).name(), "probabilities");
  }
  {
    inference::ModelConfigRequest req;
    req.set_name("mlp");
    inference::ModelConfigResponse resp;
    ASSERT_TRUE(stub().ModelConfig(Context().get(), req, &resp).ok());
    EXPECT_EQ(resp.config().name(), "mlp");
    EXPECT_EQ(resp.config().backend(), "onnxruntime");
    EXPECT_EQ(resp.config().max_batch_size(), 32);
    ASSERT_EQ(resp.config().input_size(), 1);
    EXPECT_EQ(resp.config().input(0).data_type(), inference::TYPE_FP32);
    EXPECT_EQ(std::vector<int64_t>(resp.config().input(0).dims().begin(), resp.config().input(0).dims().end()),
              (std::vector<int64_t>{16}));
    EXPECT_EQ(resp.config().instance_group(0).count(), 1);
    req.set_name("slow");
    ASSERT_TRUE(stub().ModelConfig(Context().get(), req, &resp).ok());
    EXPECT_EQ(resp.config().dynamic_batching().max_queue_delay_microseconds(), 600000u);
    EXPECT_EQ(resp.config().dynamic_batching().default_queue_policy().max_queue_size(), 2u);
  }
  {
    inference::ModelInferResponse resp;
    auto st = Infer(MlpRequest("mlp", "first", /*raw=*/true, 3), &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.id(), "first");
    EXPECT_EQ(resp.model_name(), "mlp");
    EXPECT_EQ(resp.model_version(), "1");
    ExpectSoftmaxRows(resp, 3);
    auto stats = Statistics("mlp");
    EXPECT_EQ(stats.version(), "1");
    EXPECT_EQ(stats.inference_count(), 3u);  // rows, as Triton counts them
    EXPECT_EQ(stats.execution_count(), 1u);
    EXPECT_EQ(stats.inference_stats().success().count(), 1u);
    EXPECT_GT(stats.inference_stats().compute_infer().ns(), 0u);
  }
  {
    inference::ModelStatisticsResponse all;
    ASSERT_TRUE(stub().ModelStatistics(Context().get(), {}, &all).ok());
    EXPECT_EQ(all.model_stats_size(), 4 + 14);
    inference::ModelStatisticsRequest req;
    req.set_name("mlp");
    req.set_version("1");
    inference::ModelStatisticsResponse one;
    ASSERT_TRUE(stub().ModelStatistics(Context().get(), req, &one).ok());
    ASSERT_EQ(one.model_stats_size(), 1);
    EXPECT_EQ(one.model_stats(0).inference_count(), 3u);
    req.set_name("nosuch");
    req.clear_version();
    EXPECT_EQ(stub().ModelStatistics(Context().get(), req, &one).error_code(), ::grpc::StatusCode::NOT_FOUND);
  }
  {
    // model_control_mode none: the repository API refuses, as over HTTP.
    inference::RepositoryModelUnloadRequest req;
    req.set_model_name("mlp");
    inference::RepositoryModelUnloadResponse resp;
    auto st = stub().RepositoryModelUnload(Context().get(), req, &resp);
    EXPECT_EQ(st.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_NE(st.error_message().find("model_control_mode: none"), std::string::npos) << st.error_message();
    inference::ModelInferResponse infer;
    EXPECT_TRUE(Infer(MlpRequest("mlp", "x", true), &infer).ok());
  }
  // Graceful stop with the client's connection still open: nothing in
  // flight, so the drain does not wait out its grace period.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(server_->process().Stop(SIGTERM), 0) << server_->process().Output();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3)) << server_->process().Output();
  EXPECT_NE(server_->process().Output().find("grpc: stopped"), std::string::npos);
}

TEST_F(GrpcE2ETest, RepositoryLoadAndUnloadInExplicitMode) {
  StartServer({}, "explicit");
  auto index_state = [&](const std::string& model) {
    inference::RepositoryIndexResponse index;
    EXPECT_TRUE(stub().RepositoryIndex(Context().get(), {}, &index).ok());
    for (const auto& m : index.models()) {
      if (m.name() == model) return m.state();
    }
    return std::string("absent");
  };
  EXPECT_EQ(index_state("mlp"), "READY");
  {
    inference::RepositoryModelUnloadRequest req;
    req.set_model_name("mlp");
    inference::RepositoryModelUnloadResponse resp;
    auto st = stub().RepositoryModelUnload(Context().get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_NE(index_state("mlp"), "READY");
    inference::ModelInferResponse infer;
    EXPECT_NE(Infer(MlpRequest("mlp", "x", true), &infer).error_code(), ::grpc::StatusCode::OK);
  }
  {
    inference::RepositoryModelLoadRequest req;
    req.set_model_name("mlp");
    inference::RepositoryModelLoadResponse resp;
    auto st = stub().RepositoryModelLoad(Context().get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(index_state("mlp"), "READY");
    inference::ModelInferResponse infer;
    EXPECT_TRUE(Infer(MlpRequest("mlp", "x", false), &infer).ok());
    ExpectSoftmaxRows(infer, 1);
    req.set_model_name("nosuch");
    EXPECT_EQ(stub().RepositoryModelLoad(Context().get(), req, &resp).error_code(), ::grpc::StatusCode::NOT_FOUND);
  }
}

// Element bytes for `type`, `n` elements, in the KServe raw layout.
std::string RawElements(const std::string& type, int n, std::mt19937& rng) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (type == "BYTES") {
      std::string s = "v" + std::to_string(rng() % 1000) + std::string(i % 3, '\0');
      uint32_t len = static_cast<uint32_t>(s.size());
      out.append(reinterpret_cast<const char*>(&len), 4);
      out += s;
    } else if (type == "BOOL") {
      out.push_back(static_cast<char>(rng() % 2));
    } else {
      const size_t size = type.find("64") != std::string::npos ? 8
                          : type.find("32") != std::string::npos ? 4
                          : type.find("16") != std::string::npos ? 2
                                                                  : 1;
      for (size_t b = 0; b < size; ++b) out.push_back(static_cast<char>(rng() % 256));
      if (type == "FP32" || type == "FP64" || type == "FP16" || type == "BF16") out.back() &= 0x3f;  // finite
    }
  }
  return out;
}

// Typed contents holding the elements of `raw`.
void FillTyped(const std::string& type, const std::string& raw, inference::InferTensorContents* c) {
  auto each = [&](auto tag, auto add) {
    using T = decltype(tag);
    for (size_t off = 0; off + sizeof(T) <= raw.size(); off += sizeof(T)) {
      T v;
      std::memcpy(&v, raw.data() + off, sizeof(T));
      add(v);
    }
  };
  if (type == "BOOL") each(uint8_t{}, [&](uint8_t v) { c->add_bool_contents(v != 0); });
  if (type == "INT8") each(int8_t{}, [&](int8_t v) { c->add_int_contents(v); });
  if (type == "INT16") each(int16_t{}, [&](int16_t v) { c->add_int_contents(v); });
  if (type == "INT32") each(int32_t{}, [&](int32_t v) { c->add_int_contents(v); });
  if (type == "INT64") each(int64_t{}, [&](int64_t v) { c->add_int64_contents(v); });
  if (type == "UINT8") each(uint8_t{}, [&](uint8_t v) { c->add_uint_contents(v); });
  if (type == "UINT16") each(uint16_t{}, [&](uint16_t v) { c->add_uint_contents(v); });
  if (type == "UINT32") each(uint32_t{}, [&](uint32_t v) { c->add_uint_contents(v); });
  if (type == "UINT64") each(uint64_t{}, [&](uint64_t v) { c->add_uint64_contents(v); });
  if (type == "FP32") each(float{}, [&](float v) { c->add_fp32_contents(v); });
  if (type == "FP64") each(double{}, [&](double v) { c->add_fp64_contents(v); });
  if (type == "BYTES") {
    for (size_t off = 0; off < raw.size();) {
      uint32_t len;
      std::memcpy(&len, raw.data() + off, 4);
      c->add_bytes_contents(raw.substr(off + 4, len));
      off += 4 + len;
    }
  }
}

// A request to identity_<type> with an INPUT0 of `type` and shape [2, 3]
// that carries no contents yet.
inference::ModelInferRequest IdentityRequest(const std::string& type) {
  inference::ModelInferRequest req;
  req.set_model_name("identity_" + FileSuffix(type));
  auto* in = req.add_inputs();
  in->set_name("INPUT0");
  in->set_datatype(type);
  in->add_shape(2);
  in->add_shape(3);
  return req;
}

TEST_F(GrpcE2ETest, RawAndTypedContentsForEveryDatatype) {
  StartServer();
  std::mt19937 rng(5);
  for (const std::string type : kDatatypes) {
    SCOPED_TRACE(type);
    const std::string raw = RawElements(type, 6, rng);
    const inference::ModelInferRequest req = IdentityRequest(type);

    inference::ModelInferRequest raw_req = req;
    raw_req.add_raw_input_contents(raw);
    inference::ModelInferResponse resp;
    auto st = Infer(raw_req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_EQ(resp.outputs_size(), 1);
    EXPECT_EQ(resp.outputs(0).name(), "OUTPUT0");
    EXPECT_EQ(resp.outputs(0).datatype(), type);
    EXPECT_EQ(resp.outputs(0).shape_size(), 2);
    ASSERT_EQ(resp.raw_output_contents_size(), 1);
    EXPECT_EQ(resp.raw_output_contents(0), raw);

    inference::ModelInferRequest typed_req = req;
    FillTyped(type, raw, typed_req.mutable_inputs(0)->mutable_contents());
    inference::ModelInferResponse typed;
    st = Infer(typed_req, &typed);
    if (type == "FP16" || type == "BF16") {
      EXPECT_EQ(st.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_NE(st.error_message().find("raw_input_contents"), std::string::npos) << st.error_message();
      continue;
    }
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(typed.raw_output_contents_size(), 0);
    EXPECT_EQ(typed.outputs(0).contents().SerializeAsString(),
              typed_req.inputs(0).contents().SerializeAsString());
  }
}

// A sample of the server's /metrics (over its HTTP port), -1 when absent.
double Metric(testing::Process& server, const std::string& sample) {
  std::smatch m;
  const std::string log = server.Output();
  if (!std::regex_search(log, m, std::regex(R"(http: listening on ([0-9.]+):([0-9]+))"))) return -1;
  testing::CurlClient http("http://" + m[1].str() + ":" + m[2].str());
  const std::string text = "\n" + http.Get("/metrics").body;
  const size_t at = text.find("\n" + sample + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + sample.size() + 2));
}

// Triton's system shared memory extension through a generated stub: two
// regions of one object, every datatype read from the first and written to
// the second through ONNX Runtime, then status, unregister and refusals.
TEST_F(GrpcE2ETest, EveryDatatypeThroughSharedMemory) {
  TempDir conf;
  auto config = conf.Write("infergate.yaml", "shared_memory:\n  enabled: true\n  max_regions: 4\n");
  StartServer({"--config", config.string()});
  inference::ServerMetadataResponse meta;
  ASSERT_TRUE(stub().ServerMetadata(Context().get(), {}, &meta).ok());
  EXPECT_NE(std::find(meta.extensions().begin(), meta.extensions().end(), "system_shared_memory"),
            meta.extensions().end());

  constexpr size_t kHalf = 32 * 1024;
  testing::ShmObject object(2 * kHalf);
  for (const auto& [name, offset] : {std::pair<std::string, size_t>{"in", 0}, {"out", kHalf}}) {
    inference::SystemSharedMemoryRegisterRequest req;
    req.set_name(name);
    req.set_key(object.key());
    req.set_offset(offset);
    req.set_byte_size(kHalf);
    inference::SystemSharedMemoryRegisterResponse resp;
    auto st = stub().SystemSharedMemoryRegister(Context().get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  inference::SystemSharedMemoryStatusResponse status;
  ASSERT_TRUE(stub().SystemSharedMemoryStatus(Context().get(), {}, &status).ok());
  ASSERT_EQ(status.regions_size(), 2);
  EXPECT_EQ(status.regions().at("out").offset(), kHalf);
  EXPECT_EQ(status.regions().at("out").key(), object.key());
  EXPECT_EQ(Metric(server_->process(), "infergate_shared_memory_regions"), 2);

  std::mt19937 rng(11);
  int64_t at = 0;
  for (const std::string type : kDatatypes) {
    SCOPED_TRACE(type);
    const std::string raw = RawElements(type, 6, rng);
    std::memcpy(object.data() + at, raw.data(), raw.size());
    inference::ModelInferRequest req = IdentityRequest(type);
    testing::InSharedMemory(req.mutable_inputs(0)->mutable_parameters(), "in", at, static_cast<int64_t>(raw.size()));
    auto* out = req.add_outputs();
    out->set_name("OUTPUT0");
    testing::InSharedMemory(out->mutable_parameters(), "out", at, 1024);
    inference::ModelInferResponse resp;
    auto st = Infer(req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_EQ(resp.outputs_size(), 1);
    EXPECT_EQ(resp.outputs(0).datatype(), type);
    EXPECT_EQ(resp.outputs(0).parameters().at("shared_memory_region").string_param(), "out");
    EXPECT_EQ(resp.outputs(0).parameters().at("shared_memory_byte_size").int64_param(),
              static_cast<int64_t>(raw.size()));
    EXPECT_FALSE(resp.outputs(0).has_contents());
    ASSERT_EQ(resp.raw_output_contents_size(), 1);  // entry i is output i, empty when in shared memory
    EXPECT_EQ(resp.raw_output_contents(0), "");
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(object.data()) + kHalf + at, raw.size()), raw);
    at += 1024;
  }

  // Refusals: a name in use, an unknown region in a request, and after
  // unregistering every region, a status of one of them.
  inference::SystemSharedMemoryRegisterRequest dup;
  dup.set_name("in");
  dup.set_key(object.key());
  dup.set_byte_size(8);
  inference::SystemSharedMemoryRegisterResponse registered;
  EXPECT_EQ(stub().SystemSharedMemoryRegister(Context().get(), dup, &registered).error_code(),
            ::grpc::StatusCode::ALREADY_EXISTS);
  inference::ModelInferRequest unknown;
  unknown.set_model_name("identity_fp32");
  auto* in = unknown.add_inputs();
  in->set_name("INPUT0");
  in->set_datatype("FP32");
  in->add_shape(1);
  testing::InSharedMemory(in->mutable_parameters(), "nosuch", 0, 4);
  inference::ModelInferResponse resp;
  auto st = Infer(unknown, &resp);
  EXPECT_EQ(st.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("no shared memory region 'nosuch'"), std::string::npos) << st.error_message();
  inference::SystemSharedMemoryUnregisterResponse unregistered;
  ASSERT_TRUE(stub().SystemSharedMemoryUnregister(Context().get(), {}, &unregistered).ok());
  inference::SystemSharedMemoryStatusRequest one;
  one.set_name("in");
  EXPECT_EQ(stub().SystemSharedMemoryStatus(Context().get(), one, &status).error_code(),
            ::grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Metric(server_->process(), "infergate_grpc_requests_rejected_total{reason=\"shared_memory\"}"), 2);
  EXPECT_EQ(Metric(server_->process(), "infergate_shared_memory_regions"), 0);
}

// Without shared_memory.enabled the calls say why they are refused.
TEST_F(GrpcE2ETest, SharedMemoryIsOffUnlessEnabled) {
  StartServer();
  inference::SystemSharedMemoryStatusResponse status;
  auto st = stub().SystemSharedMemoryStatus(Context().get(), {}, &status);
  EXPECT_EQ(st.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("shared_memory.enabled"), std::string::npos) << st.error_message();
  EXPECT_EQ(Metric(server_->process(), "infergate_grpc_requests_rejected_total{reason=\"shared_memory\"}"), 1);
}

TEST_F(GrpcE2ETest, StreamInterleavesModelsAndMatchesResponsesById) {
  StartServer();
  auto context = Context();
  auto stream = stub().ModelStreamInfer(context.get());
  std::map<std::string, std::string> kind_of;  // id -> model
  const int kRequests = 30;
  for (int i = 0; i < kRequests; ++i) {
    const std::string id = "req-" + std::to_string(i);
    inference::ModelInferRequest req;
    switch (i % 3) {
      case 0:
        req = MlpRequest("mlp", id, /*raw=*/i % 2 == 0, 1 + i % 4);
        break;
      case 1: {
        req.set_model_name("simple");
        req.set_id(id);
        for (const char* name : {"INPUT0", "INPUT1"}) {
          auto* in = req.add_inputs();
          in->set_name(name);
          in->set_datatype("FP32");
          in->add_shape(1);
          in->add_shape(4);
          for (int k = 0; k < 4; ++k) in->mutable_contents()->add_fp32_contents(static_cast<float>(i + k));
        }
        break;
      }
      case 2: {
        req.set_model_name("upper");
        req.set_id(id);
        auto* in = req.add_inputs();
        in->set_name("text");
        in->set_datatype("BYTES");
        in->add_shape(2);
        in->mutable_contents()->add_bytes_contents("sensor-" + std::to_string(i));
        in->mutable_contents()->add_bytes_contents("ok");
        break;
      }
    }
    kind_of[id] = req.model_name();
    ASSERT_TRUE(stream->Write(req));
  }
  inference::ModelInferRequest bad;
  bad.set_model_name("nosuch");
  bad.set_id("bad-1");
  ASSERT_TRUE(stream->Write(bad));
  ASSERT_TRUE(stream->WritesDone());

  std::map<std::string, inference::ModelStreamInferResponse> by_id;
  inference::ModelStreamInferResponse r;
  while (stream->Read(&r)) by_id[r.infer_response().id()] = r;
  auto st = stream->Finish();
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(by_id.size(), static_cast<size_t>(kRequests + 1));
  EXPECT_NE(by_id["bad-1"].error_message().find("NOT_FOUND"), std::string::npos) << by_id["bad-1"].error_message();
  for (int i = 0; i < kRequests; ++i) {
    const std::string id = "req-" + std::to_string(i);
    SCOPED_TRACE(id);
    const auto& resp = by_id[id];
    ASSERT_TRUE(resp.error_message().empty()) << resp.error_message();
    EXPECT_EQ(resp.infer_response().model_name(), kind_of[id]);
    const auto& ir = resp.infer_response();
    if (i % 3 == 0) ExpectSoftmaxRows(ir, 1 + i % 4);
    if (i % 3 == 1) {
      ASSERT_EQ(ir.outputs_size(), 2);
      for (int k = 0; k < 4; ++k) {
        EXPECT_EQ(ir.outputs(0).contents().fp32_contents(k), 2.0f * static_cast<float>(i + k));
        EXPECT_EQ(ir.outputs(1).contents().fp32_contents(k), 0.0f);
      }
    }
    if (i % 3 == 2) {
      ASSERT_EQ(ir.outputs(0).contents().bytes_contents_size(), 2);
      EXPECT_EQ(ir.outputs(0).contents().bytes_contents(0), "SENSOR-" + std::to_string(i));
      EXPECT_EQ(ir.outputs(0).contents().bytes_contents(1), "OK");
    }
  }
}

TEST_F(GrpcE2ETest, EveryErrorGetsItsStatusCode) {
  TempDir conf;
  auto config = conf.Write("infergate.yaml",
                           "grpc:\n  max_message_bytes: 65536\n  max_tensor_elements: 1000\n");
  StartServer({"--config", config.string()});
  inference::ModelInferResponse resp;
  auto expect = [&](const inference::ModelInferRequest& req, ::grpc::StatusCode code, const std::string& text) {
    auto st = Infer(req, &resp);
    EXPECT_EQ(st.error_code(), code) << st.error_message();
    EXPECT_NE(st.error_message().find(text), std::string::npos) << st.error_message();
  };
  expect(MlpRequest("nosuch", "a", true), ::grpc::StatusCode::NOT_FOUND, "nosuch");
  auto versioned = MlpRequest("mlp", "a", true);
  versioned.set_model_version("7");
  expect(versioned, ::grpc::StatusCode::NOT_FOUND, "7");
  versioned.set_model_version("seven");
  expect(versioned, ::grpc::StatusCode::INVALID_ARGUMENT, "positive integer");
  auto shape = MlpRequest("mlp", "a", false);
  shape.mutable_inputs(0)->set_shape(1, 15);
  expect(shape, ::grpc::StatusCode::INVALID_ARGUMENT, "input 'input'");
  auto dtype = MlpRequest("mlp", "a", true);
  dtype.mutable_inputs(0)->set_datatype("FP64");
  expect(dtype, ::grpc::StatusCode::INVALID_ARGUMENT, "input");
  auto bogus = MlpRequest("mlp", "a", true);
  bogus.mutable_inputs(0)->set_datatype("FLOAT32");
  expect(bogus, ::grpc::StatusCode::INVALID_ARGUMENT, "unknown datatype 'FLOAT32'");
  auto unknown_input = MlpRequest("mlp", "a", true);
  unknown_input.mutable_inputs(0)->set_name("features");
  expect(unknown_input, ::grpc::StatusCode::INVALID_ARGUMENT, "features");
  auto truncated = MlpRequest("mlp", "a", true);
  truncated.mutable_raw_input_contents(0)->resize(60);
  expect(truncated, ::grpc::StatusCode::INVALID_ARGUMENT, "input 'input'");
  auto unknown_output = MlpRequest("mlp", "a", true);
  unknown_output.add_outputs()->set_name("logits");
  expect(unknown_output, ::grpc::StatusCode::INVALID_ARGUMENT, "logits");
  expect(MlpRequest("mlp", "a", true, 100), ::grpc::StatusCode::RESOURCE_EXHAUSTED, "limit of 1000 elements");
  auto huge = MlpRequest("mlp", "a", true);
  huge.mutable_raw_input_contents(0)->resize(100000);
  EXPECT_EQ(Infer(huge, &resp).error_code(), ::grpc::StatusCode::RESOURCE_EXHAUSTED);
  {
    inference::ModelMetadataRequest req;
    req.set_name("nosuch");
    inference::ModelMetadataResponse meta;
    EXPECT_EQ(stub().ModelMetadata(Context().get(), req, &meta).error_code(), ::grpc::StatusCode::NOT_FOUND);
    inference::ModelReadyRequest ready_req;
    ready_req.set_name("nosuch");
    inference::ModelReadyResponse ready;
    EXPECT_EQ(stub().ModelReady(Context().get(), ready_req, &ready).error_code(), ::grpc::StatusCode::NOT_FOUND);
  }

  // UNAVAILABLE: "slow" holds requests for 600 ms and queues at most 2, so
  // of 3 sent at once the one refused completes first, the others later.
  const auto req = MlpRequest("slow", "q", true);
  {
    ConcurrentCalls calls(stub(), req, 3);
    auto first = calls.WaitFor(1);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0].error_code(), ::grpc::StatusCode::UNAVAILABLE) << first[0].error_message();
    EXPECT_NE(first[0].error_message().find("queue"), std::string::npos) << first[0].error_message();
    auto all = calls.WaitFor(3);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_TRUE(all[1].ok()) << all[1].error_message();
    EXPECT_TRUE(all[2].ok()) << all[2].error_message();
  }

  // DEADLINE_EXCEEDED: the call's deadline passes while the request waits in
  // the queue; the server drops it unrun and counts a failure.
  const auto before = Statistics("slow");
  auto st = stub().ModelInfer(Context(std::chrono::milliseconds(100)).get(), req, &resp);
  EXPECT_EQ(st.error_code(), ::grpc::StatusCode::DEADLINE_EXCEEDED);
  inference::ModelStatistics after;
  for (int attempt = 0; attempt < 200; ++attempt) {  // the scheduler answers at the deadline
    after = Statistics("slow");
    if (after.inference_stats().fail().count() > before.inference_stats().fail().count()) break;
  }
  EXPECT_EQ(after.inference_stats().fail().count(), before.inference_stats().fail().count() + 1);
  EXPECT_EQ(after.execution_count(), before.execution_count());

  // The server is still serving.
  EXPECT_TRUE(Infer(MlpRequest("mlp", "after", true), &resp).ok());
}

TEST_F(GrpcE2ETest, CancelledCallsAreAnsweredAndDrained) {
  StartServer();
  const auto req = MlpRequest("slow", "c", true);
  inference::ModelInferResponse resp;
  {
    // Two are held in the queue (the third is refused at once); cancel them there.
    ConcurrentCalls calls(stub(), req, 3);
    auto first = calls.WaitFor(1);
    ASSERT_EQ(first.size(), 1u);
    ASSERT_EQ(first[0].error_code(), ::grpc::StatusCode::UNAVAILABLE);
    calls.CancelAll();
    auto all = calls.WaitFor(3);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[1].error_code(), ::grpc::StatusCode::CANCELLED);
    EXPECT_EQ(all[2].error_code(), ::grpc::StatusCode::CANCELLED);
  }

  // A cancelled stream with requests in flight.
  {
    auto context = Context();
    auto stream = stub().ModelStreamInfer(context.get());
    ASSERT_TRUE(stream->Write(MlpRequest("slow", "s1", true)));
    context->TryCancel();
    EXPECT_EQ(stream->Finish().error_code(), ::grpc::StatusCode::CANCELLED);
  }
  // The cancelled requests still ran (they were admitted) and the server
  // keeps serving; SIGTERM then drains with nothing left hanging.
  EXPECT_TRUE(Infer(MlpRequest("mlp", "after", true), &resp).ok());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(server_->process().Stop(SIGTERM), 0) << server_->process().Output();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5)) << server_->process().Output();
  EXPECT_NE(server_->process().Output().find("grpc: stopped"), std::string::npos);
}

TEST(GrpcE2EVersionTest, VersionsAreAddressedByNumber) {
  TempDir repo;
  CopyModel(repo, "mlp16.onnx", "mlp", 1);
  CopyModel(repo, "mlp16.onnx", "mlp", 2);
  repo.Write("mlp/config.yaml", "version_policy: {all: {}}\n");
  GrpcServer server({"--model-repository", repo.path().string(), "--model-control-mode", "none"});
  ASSERT_TRUE(server.ok()) << server.process().Output();
  auto& stub = server.stub();

  inference::ModelMetadataRequest meta_req;
  meta_req.set_name("mlp");
  inference::ModelMetadataResponse meta;
  ASSERT_TRUE(stub.ModelMetadata(Context().get(), meta_req, &meta).ok());
  EXPECT_EQ(std::vector<std::string>(meta.versions().begin(), meta.versions().end()),
            (std::vector<std::string>{"1", "2"}));

  for (const std::string version : {"1", "2", ""}) {
    auto req = MlpRequest("mlp", "v", true);
    req.set_model_version(version);
    inference::ModelInferResponse resp;
    auto st = stub.ModelInfer(Context().get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.model_version(), version.empty() ? "2" : version);
  }
  auto missing = MlpRequest("mlp", "v", true);
  missing.set_model_version("3");
  inference::ModelInferResponse resp;
  EXPECT_EQ(stub.ModelInfer(Context().get(), missing, &resp).error_code(), ::grpc::StatusCode::NOT_FOUND);

  inference::ModelReadyRequest ready_req;
  ready_req.set_name("mlp");
  ready_req.set_version("1");
  inference::ModelReadyResponse ready;
  ASSERT_TRUE(stub.ModelReady(Context().get(), ready_req, &ready).ok());
  EXPECT_TRUE(ready.ready());

  inference::ModelStatisticsRequest stats_req;
  stats_req.set_name("mlp");
  inference::ModelStatisticsResponse stats;
  ASSERT_TRUE(stub.ModelStatistics(Context().get(), stats_req, &stats).ok());
  ASSERT_EQ(stats.model_stats_size(), 2);
  EXPECT_EQ(stats.model_stats(0).version(), "1");
  EXPECT_EQ(stats.model_stats(0).inference_count(), 1u);
  EXPECT_EQ(stats.model_stats(1).version(), "2");
  EXPECT_EQ(stats.model_stats(1).inference_count(), 2u);
}

TEST(GrpcE2EStartTest, PortInUseFailsToStart) {
  TempDir repo;
  CopyModel(repo, "mlp16.onnx", "mlp");
  GrpcServer first({"--model-repository", repo.path().string()});
  ASSERT_TRUE(first.ok()) << first.process().Output();
  testing::Process second({INFERGATE_BINARY, "serve", "--model-repository", repo.path().string(), "--http-address",
                           "127.0.0.1", "--http-port", "0", "--grpc-address",
                           "127.0.0.1", "--grpc-port", std::to_string(first.port())});
  EXPECT_EQ(second.Wait(), 1) << second.Output();
  EXPECT_NE(second.Output().find("grpc: cannot listen on 127.0.0.1:" + std::to_string(first.port())),
            std::string::npos)
      << second.Output();
}

}  // namespace
}  // namespace infergate
