// Remote models against a secured cloud: TLS (grpc:// with a CA file, and
// https://) and a bearer token from a file. The cloud refuses the edge
// without the token, and the edge says so.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "testing/auth_server.h"
#include "testing/http_client.h"
#include "testing/mlp_request.h"
#include "testing/model_repo.h"
#include "testing/serve_instance.h"
#include "testing/temp_dir.h"
#include "testing/test_pki.h"

namespace infergate {
namespace {

using testing::ServeInstance;
using testing::TempDir;

constexpr const char* kToken = "tok-edge-0123456789abcdef";

class SecureRemoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::TestPki pki(pki_dir_.path());
    ASSERT_TRUE(pki.MakeCa("ca"));
    ASSERT_TRUE(pki.MakeServer("cloud", "ca", 101));
    cloud_repo_.Write("tokens.yaml", testing::TokenEntry("edge", kToken, "infer, read"));
    testing::CopyModel(cloud_repo_, "mlp16.onnx", "repo/mlp");
    cloud_ = ServeInstance::Start(cloud_repo_.path() / "repo", 0, 0,
                                  {"--tls-cert", pki.Crt("cloud"), "--tls-key", pki.Key("cloud"), "--auth-tokens",
                                   (cloud_repo_.path() / "tokens.yaml").string()},
                                  /*tls=*/true);
    ASSERT_TRUE(cloud_.ready) << cloud_.process->Output();
    edge_repo_.Write("cloud.token", std::string(kToken) + "\n");
    std::filesystem::copy_file(pki.Crt("ca"), edge_repo_.path() / "ca.crt");
    const std::string common = "  model: mlp\n  token_file: ../cloud.token\n  tls: {ca_file: ../ca.crt}\n";
    edge_repo_.Write("grpc_tls/config.yaml",
                     "remote:\n  url: grpc://127.0.0.1:" + std::to_string(cloud_.grpc_port) + "\n" + common);
    edge_repo_.Write("https/config.yaml",
                     "remote:\n  url: https://127.0.0.1:" + std::to_string(cloud_.http_port) + "\n" + common);
    edge_repo_.Write("no_token/config.yaml", "remote:\n  url: https://127.0.0.1:" +
                                                 std::to_string(cloud_.http_port) +
                                                 "\n  model: mlp\n  tls: {ca_file: ../ca.crt}\n");
    edge_repo_.Write("wrong_ca/config.yaml",
                     "remote:\n  url: grpcs://127.0.0.1:" + std::to_string(cloud_.grpc_port) + "\n  model: mlp\n");
    edge_ = ServeInstance::Start(edge_repo_.path());
    ASSERT_TRUE(edge_.stub) << edge_.process->Output();
  }

  TempDir pki_dir_, cloud_repo_, edge_repo_;
  ServeInstance cloud_, edge_;
};

TEST_F(SecureRemoteTest, ServesOverTlsWithTheToken) {
  for (const char* model : {"grpc_tls", "https"}) {
    grpc::ClientContext context;
    inference::ModelInferResponse r;
    grpc::Status st = edge_.stub->ModelInfer(&context, testing::MlpRequest(model, "r", true, 2), &r);
    ASSERT_TRUE(st.ok()) << model << ": " << st.error_message() << edge_.process->Output();
    EXPECT_EQ(r.outputs(0).shape(0), 2);
  }
}

TEST_F(SecureRemoteTest, WithoutTheTokenOrTheCaTheModelSaysWhy) {
  auto index = testing::CurlClient(edge_.http()).Post("/v2/repository/index", "{}");
  // The cloud's refusal, named: its code and message.
  EXPECT_NE(index.body.find("model 'mlp': UNAUTHENTICATED"), std::string::npos) << index.body;
  // A certificate the system's CAs do not know.
  EXPECT_NE(index.body.find("grpcs://127.0.0.1:" + std::to_string(cloud_.grpc_port) + " model 'mlp': unreachable"),
            std::string::npos)
      << index.body;
}

}  // namespace
}  // namespace infergate
