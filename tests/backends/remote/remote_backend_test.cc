// The remote backend without a remote server: error mapping, the v2 JSON
// client codec (checked against the server's own decoder), and loads that
// cannot reach the remote.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "backends/remote/remote_backend.h"
#include "backends/remote/remote_status.h"
#include "backends/remote/token_file.h"
#include "backends/remote/v2_json_client.h"
#include "core/model_config.h"
#include "protocol/v2_json.h"
#include "testing/temp_dir.h"

namespace infergate::remote {
namespace {

using core::StatusCode;

TEST(RemoteStatusTest, KeepsTheRemotesCodes) {
  EXPECT_EQ(FromGrpcCode(3), StatusCode::kInvalidArgument);
  EXPECT_EQ(FromGrpcCode(5), StatusCode::kNotFound);
  EXPECT_EQ(FromGrpcCode(4), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(FromGrpcCode(14), StatusCode::kUnavailable);
  EXPECT_EQ(FromGrpcCode(16), StatusCode::kUnauthenticated);
  EXPECT_EQ(FromGrpcCode(7), StatusCode::kPermissionDenied);
  EXPECT_EQ(FromGrpcCode(8), StatusCode::kResourceExhausted);
  EXPECT_EQ(FromGrpcCode(2), StatusCode::kInternal);   // UNKNOWN
  EXPECT_EQ(FromGrpcCode(15), StatusCode::kInternal);  // DATA_LOSS
  EXPECT_EQ(FromHttpStatus(400), StatusCode::kInvalidArgument);
  EXPECT_EQ(FromHttpStatus(401), StatusCode::kUnauthenticated);
  EXPECT_EQ(FromHttpStatus(403), StatusCode::kPermissionDenied);
  EXPECT_EQ(FromHttpStatus(404), StatusCode::kNotFound);
  EXPECT_EQ(FromHttpStatus(429), StatusCode::kResourceExhausted);
  EXPECT_EQ(FromHttpStatus(503), StatusCode::kUnavailable);
  EXPECT_EQ(FromHttpStatus(504), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(FromHttpStatus(500), StatusCode::kInternal);
  EXPECT_EQ(FromHttpStatus(418), StatusCode::kInvalidArgument);
  auto named = NameRemote(core::NotFound("unknown model 'x'"), "grpc://cloud:8001", "x");
  EXPECT_EQ(named.code(), StatusCode::kNotFound);
  EXPECT_EQ(named.message(), "remote grpc://cloud:8001 model 'x': unknown model 'x'");
}

TEST(V2JsonClientTest, RequestsAreWhatAV2ServerDecodes) {
  std::vector<core::InferInput> inputs;
  inputs.push_back({"x", core::Tensor::FromValues<float>(core::DataType::kFp32, {2, 2}, {1.5f, -2.25f, 0.1f, 3e-8f}), {}});
  inputs.push_back({"s", core::Tensor::FromStrings({"a", "bc"}), {}});
  inputs.push_back({"b", core::Tensor::FromValues<uint8_t>(core::DataType::kBool, {2}, {1, 0}), {}});
  for (bool binary : {false, true}) {
    auto encoded = EncodeInferRequest(inputs, {"y"}, binary);
    ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
    EXPECT_EQ(encoded->json_length < encoded->body.size(), binary);
    core::InferRequest decoded;
    auto st = protocol::DecodeInferRequest(encoded->body, encoded->json_length, nullptr, &decoded);
    ASSERT_TRUE(st.ok()) << st.ToString() << encoded->body;
    ASSERT_EQ(decoded.inputs.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      const auto& a = inputs[i].tensor;
      const auto& b = decoded.inputs[i].tensor;
      EXPECT_EQ(b.dtype(), a.dtype());
      EXPECT_EQ(b.shape(), a.shape());
      ASSERT_EQ(b.byte_size(), a.byte_size());
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.byte_size()), 0) << inputs[i].name;
    }
    ASSERT_EQ(decoded.outputs.size(), 1u);
    EXPECT_EQ(decoded.outputs[0].name, "y");
    EXPECT_EQ(protocol::OutputEncoding::ForRequest(decoded).binary("y"), binary);
  }
  EXPECT_TRUE(HasBinaryExtension(R"({"name":"infergate","extensions":["binary_tensor_data","statistics"]})"));
  EXPECT_FALSE(HasBinaryExtension(R"({"name":"kserve","extensions":[]})"));
}

TEST(V2JsonClientTest, DecodesJsonAndBinaryOutputs) {
  std::string json =
      R"({"model_name":"m","outputs":[{"name":"y","datatype":"FP32","shape":[2,2],"data":[[1,2],[3,4.5]]},)"
      R"({"name":"z","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":8}}]})";
  auto body = std::make_shared<std::string>(json);
  int32_t z[2] = {7, -9};
  body->append(reinterpret_cast<const char*>(z), sizeof(z));
  std::vector<core::InferOutput> out;
  auto st = DecodeInferResponse(*body, json.size(), body, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].tensor.shape(), (core::Shape{2, 2}));
  EXPECT_FLOAT_EQ(out[0].tensor.As<float>()[3], 4.5f);
  EXPECT_EQ(out[1].tensor.As<int32_t>()[1], -9);
  out.clear();
  auto short_data = DecodeInferResponse(R"({"outputs":[{"name":"y","datatype":"FP32","shape":[3],"data":[1]}]})",
                                        63, nullptr, &out);
  EXPECT_EQ(short_data.code(), StatusCode::kInternal) << short_data.ToString();
  EXPECT_EQ(ErrorMessage(R"({"error":"unknown model 'q'"})"), "unknown model 'q'");
  EXPECT_EQ(DecodeMaxBatchSize(R"({"name":"m","max_batch_size":8})"), 8);
  EXPECT_EQ(DecodeMaxBatchSize("not json"), -1);
}

TEST(V2JsonClientTest, DecodesMetadata) {
  auto sig = DecodeMetadata(R"({"name":"m","versions":["1"],"platform":"onnxruntime_onnx",)"
                            R"("inputs":[{"name":"input","datatype":"FP32","shape":[-1,16]}],)"
                            R"("outputs":[{"name":"probabilities","datatype":"FP32","shape":[-1,4]}]})");
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_EQ(sig->inputs[0].name, "input");
  EXPECT_EQ(sig->inputs[0].shape, (core::Shape{-1, 16}));
  EXPECT_EQ(sig->outputs[0].dtype, core::DataType::kFp32);
  EXPECT_EQ(DecodeMetadata(R"({"inputs":[]})").status().code(), StatusCode::kInternal);
}

// A loopback port: closed (nothing listens) or listening but never answering.
class Port {
 public:
  explicit Port(bool listen_on_it) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    socklen_t n = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n);
    port_ = ntohs(a.sin_port);
    if (listen_on_it) {
      listen(fd_, 16);
    } else {
      close(fd_);
      fd_ = -1;
    }
  }
  ~Port() {
    if (fd_ >= 0) close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

core::ModelConfig RemoteConfig(const std::string& url, int64_t timeout_ms) {
  core::ModelConfig c;
  c.name = "edge_name";
  c.backend = "remote";
  c.remote.emplace();
  c.remote->url = url;
  c.remote->model = "cloud_name";
  c.remote->timeout_ms = timeout_ms;
  return c;
}

TEST(RemoteBackendTest, AnUnreachableRemoteIsUnavailableNamingIt) {
  Port closed(false);
  RemoteBackend backend;
  for (const std::string scheme : {"grpc://", "http://"}) {
    const std::string url = scheme + "127.0.0.1:" + std::to_string(closed.port());
    auto loaded = backend.LoadModel(RemoteConfig(url, 2000), {});
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(loaded.status().message().find("remote " + url + " model 'cloud_name'"), std::string::npos)
        << loaded.status().message();
  }
}

TEST(RemoteBackendTest, ARemoteThatDoesNotAnswerTimesOut) {
  Port silent(true);
  RemoteBackend backend;
  for (const std::string scheme : {"grpc://", "http://"}) {
    const auto start = std::chrono::steady_clock::now();
    auto loaded = backend.LoadModel(RemoteConfig(scheme + "127.0.0.1:" + std::to_string(silent.port()), 200), {});
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), StatusCode::kUnavailable);  // a load is retried at the next poll
    EXPECT_LT(took, std::chrono::milliseconds(1500)) << scheme;
  }
}

TEST(RemoteBackendTest, AMissingTokenFileIsUnavailable) {
  RemoteBackend backend;
  auto config = RemoteConfig("grpc://127.0.0.1:1", 100);
  config.remote->token_file = "/nonexistent/token";
  auto loaded = backend.LoadModel(config, {});
  EXPECT_EQ(loaded.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(loaded.status().message().find("remote.token_file '/nonexistent/token' cannot be read"),
            std::string::npos)
      << loaded.status().message();
}

TEST(TokenFileTest, ARotatedTokenIsUsedFromTheNextCall) {
  testing::TempDir dir;
  auto path = dir.Write("cloud.token", "  first-token\n");
  auto token = TokenFile::Open(path);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ((*token)->Get(), "first-token");
  // Replaced as one should: a new file renamed over the old one.
  auto next = dir.Write("cloud.token.new", "second-token\n");
  std::filesystem::rename(next, path);
  EXPECT_EQ((*token)->Get(), "second-token");
  // Gone, or empty for a moment: the token read before stays.
  std::filesystem::remove(path);
  EXPECT_EQ((*token)->Get(), "second-token");
  dir.Write("cloud.token", "");
  EXPECT_EQ((*token)->Get(), "second-token");
  EXPECT_EQ(TokenFile::Open(path).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace infergate::remote
