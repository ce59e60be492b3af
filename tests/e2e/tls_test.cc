// TLS on the HTTP and gRPC frontends end to end: the real binary with
// certificates made by the openssl command line, reached by libcurl and
// gRPC's C++ client verifying against the test CA. Covers HTTPS and gRPC
// over TLS, mutual TLS, refusing plain text and silent clients, and
// certificate rotation (SIGHUP and the file watch) without dropping an open
// connection.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>

#include "auth/token.h"
#include "grpc_service.grpc.pb.h"
#include "testing/http_client.h"
#include "testing/mlp_request.h"
#include "testing/model_repo.h"
#include "testing/process.h"
#include "testing/serve_command.h"
#include "testing/temp_dir.h"
#include "testing/test_pki.h"

namespace infergate {
namespace {

using namespace std::chrono_literals;
using testing::CurlClient;
using testing::CurlTls;
using testing::HttpResult;
using testing::Process;
using testing::RawConnection;
using testing::TempDir;
using testing::TestPki;
namespace fs = std::filesystem;

constexpr char kInfer[] =
    R"({"inputs":[{"name":"input","shape":[1,16],"datatype":"FP32","data":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]}]})";

// Polls `done` until it holds or `timeout` passes.
template <typename F>
bool Eventually(F done, std::chrono::milliseconds timeout = 15s) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::yield();
  }
  return true;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::CopyModel(repo_, "mlp16.onnx", "mlp");
    ASSERT_TRUE(pki_.MakeCa("ca"));
    ASSERT_TRUE(pki_.MakeServer("server1", "ca", 101));
    ASSERT_TRUE(pki_.MakeServer("server2", "ca", 202));
    ASSERT_TRUE(pki_.MakeClient("client", "ca", 301));
    ASSERT_TRUE(pki_.MakeCa("other"));
    ASSERT_TRUE(pki_.MakeClient("stranger", "other", 401));
    Install("server1");
  }

  // Puts <name>.crt/.key where the server reads its certificate, each by a
  // rename (as certificate tools do): a new inode.
  void Install(const std::string& name) {
    for (const char* ext : {".crt", ".key"}) {
      const fs::path tmp = certs_.path() / (std::string("next") + ext);
      fs::copy_file(pki_dir_.path() / (name + ext), tmp, fs::copy_options::overwrite_existing);
      fs::rename(tmp, certs_.path() / (std::string("served") + ext));
    }
  }
  std::string Served(const char* ext) const {
    return (certs_.path() / (std::string("served") + ext)).string();
  }

  // Starts the server with TLS on both frontends; `mutual`: clients need a
  // certificate from the test CA.
  void Start(bool mutual, double reload_check_secs = 0, const std::vector<std::string>& extra = {}) {
    const fs::path config =
        certs_.Write("infergate.yaml", "tls:\n  handshake_timeout_secs: 1\n  reload_check_secs: " +
                                           std::to_string(reload_check_secs) + "\n");
    std::vector<std::string> args = {"--model-repository", repo_.path().string(), "--config",
                                     config.string(),      "--tls-cert",          Served(".crt"),
                                     "--tls-key",          Served(".key")};
    if (mutual) args.insert(args.end(), {"--tls-client-ca", pki_.Crt("ca")});
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<Process>(testing::ServeCommand(args));
    auto http = server_->WaitForLine(R"(http: listening on 127\.0\.0\.1:([0-9]+) \((.*)\))");
    ASSERT_TRUE(http) << server_->Output();
    http_port_ = std::stoi((*http)[1]);
    EXPECT_EQ((*http)[2], mutual ? "HTTPS, mutual TLS" : "HTTPS");
    auto grpc = server_->WaitForLine(R"(grpc: listening on 127\.0\.0\.1:([0-9]+) \(TLS)");
    ASSERT_TRUE(grpc) << server_->Output();
    grpc_port_ = std::stoi((*grpc)[1]);
    ASSERT_TRUE(server_->WaitForLine("infergate ready")) << server_->Output();
  }

  std::string HttpsUrl() const { return "https://127.0.0.1:" + std::to_string(http_port_); }
  std::unique_ptr<CurlClient> Client(const std::string& client_cert = "") {
    auto c = std::make_unique<CurlClient>(HttpsUrl());
    CurlTls tls{pki_.Crt("ca"), "", ""};
    if (!client_cert.empty())
      tls = CurlTls{pki_.Crt("ca"), pki_.Crt(client_cert), pki_.Key(client_cert)};
    c->SetTls(tls);
    return c;
  }
  // A counter from /metrics (read over mutual TLS when `client_cert`).
  long Metric(const std::string& series, const std::string& client_cert = "") {
    auto r = Client(client_cert)->Get("/metrics");
    const size_t at = r.body.find(series + " ");
    return at == std::string::npos ? -1 : std::stol(r.body.substr(at + series.size() + 1));
  }

  std::unique_ptr<inference::GRPCInferenceService::Stub> GrpcStub(
      const std::string& client_cert = "") {
    ::grpc::SslCredentialsOptions o;
    o.pem_root_certs = TestPki::Read(pki_.Crt("ca"));
    if (!client_cert.empty()) {
      o.pem_cert_chain = TestPki::Read(pki_.Crt(client_cert));
      o.pem_private_key = TestPki::Read(pki_.Key(client_cert));
    }
    ::grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");  // checked against the certificate's DNS:localhost
    auto channel = ::grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(grpc_port_),
                                               ::grpc::SslCredentials(o), args);
    return inference::GRPCInferenceService::NewStub(channel);
  }
  ::grpc::Status Live(inference::GRPCInferenceService::Stub& stub) {
    ::grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    inference::ServerLiveRequest req;
    inference::ServerLiveResponse resp;
    return stub.ServerLive(&ctx, req, &resp);
  }

  TempDir repo_;
  TempDir pki_dir_;
  TempDir certs_;
  TestPki pki_{pki_dir_.path()};
  std::unique_ptr<Process> server_;
  int http_port_ = 0;
  int grpc_port_ = 0;
};

TEST_F(TlsTest, HttpsInferenceVerifiedAgainstTheCa) {
  Start(false);
  auto client = Client();
  auto r = client->Post("/v2/models/mlp/infer", kInfer);
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_NE(r.body.find("probabilities"), std::string::npos);
  EXPECT_NE(r.peer_subject.find("server1"), std::string::npos) << r.peer_subject;
  // A client that does not trust the CA refuses the server.
  CurlClient untrusting(HttpsUrl());
  untrusting.SetTls(CurlTls{pki_.Crt("other"), "", ""});
  EXPECT_EQ(untrusting.Get("/v2/health/live").status, 0);
}

// TLS and bearer tokens together, as a deployment beyond one host runs them:
// the token travels inside TLS and is checked as over plain TCP.
TEST_F(TlsTest, GrpcAndHttpsOverTlsWithATokenAreAuthorised) {
  const std::string token = "tls-e2e-device-token";
  const fs::path tokens = certs_.Write("tokens.yaml", "- name: devices\n  sha256: " +
                                                          auth::HexDigest(auth::Sha256(token)) +
                                                          "\n  scopes: [infer]\n  models: [\"ml*\"]\n");
  Start(false, 0, {"--auth-tokens", tokens.string()});
  auto stub = GrpcStub();
  const auto infer = [&](const std::string& authorization) {
    ::grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    if (!authorization.empty()) ctx.AddMetadata("authorization", authorization);
    inference::ModelInferResponse resp;
    return stub->ModelInfer(&ctx, testing::MlpRequest("mlp", "1", true), &resp);
  };
  EXPECT_TRUE(infer("Bearer " + token).ok());
  EXPECT_EQ(infer("").error_code(), ::grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(infer("Bearer not-" + token).error_code(), ::grpc::StatusCode::UNAUTHENTICATED);
  {
    ::grpc::ClientContext ctx;  // the token has infer, not read
    ctx.AddMetadata("authorization", "Bearer " + token);
    inference::ModelMetadataRequest req;
    req.set_name("mlp");
    inference::ModelMetadataResponse resp;
    EXPECT_EQ(stub->ModelMetadata(&ctx, req, &resp).error_code(), ::grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_TRUE(Live(*stub).ok());  // probes stay open

  auto client = Client();
  EXPECT_EQ(client->Post("/v2/models/mlp/infer", kInfer, {"Authorization: Bearer " + token}).status, 200);
  auto refused = client->Post("/v2/models/mlp/infer", kInfer);
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.headers["www-authenticate"], "Bearer realm=\"infergate\"");
}

TEST_F(TlsTest, GrpcOverTls) {
  Start(false);
  auto stub = GrpcStub();
  auto live = Live(*stub);
  ASSERT_TRUE(live.ok()) << live.error_message();
  ::grpc::ClientContext ctx;
  inference::ModelInferResponse resp;
  auto st = stub->ModelInfer(&ctx, testing::MlpRequest("mlp", "1", true), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.outputs_size(), 1);
  // Plain gRPC (h2c) to the TLS port fails; the server serves on.
  auto plain = inference::GRPCInferenceService::NewStub(::grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(grpc_port_), ::grpc::InsecureChannelCredentials()));
  EXPECT_FALSE(Live(*plain).ok());
  EXPECT_TRUE(Live(*GrpcStub()).ok());
}

TEST_F(TlsTest, MutualTlsNeedsAClientCertificateFromTheCa) {
  Start(true);
  EXPECT_EQ(Client("client")->Post("/v2/models/mlp/infer", kInfer).status, 200);
  auto none = Client()->Get("/v2/health/live");
  EXPECT_EQ(none.status, 0) << none.body;
  auto stranger = Client("stranger")->Get("/v2/health/live");
  EXPECT_EQ(stranger.status, 0) << stranger.body;
  EXPECT_EQ(Client("client")->Get("/v2/health/live").status, 200);
  EXPECT_GE(Metric(R"(infergate_tls_handshake_failures_total{frontend="http",reason="handshake"})",
                   "client"),
            2);
  // gRPC the same way.
  EXPECT_TRUE(Live(*GrpcStub("client")).ok());
  EXPECT_FALSE(Live(*GrpcStub()).ok());
  EXPECT_FALSE(Live(*GrpcStub("stranger")).ok());
  EXPECT_TRUE(Live(*GrpcStub("client")).ok());
}

TEST_F(TlsTest, PlainTextToTheTlsPortsIsRefusedCleanly) {
  Start(false);
  RawConnection http("127.0.0.1", http_port_);
  ASSERT_TRUE(http.connected());
  ASSERT_TRUE(http.Send("GET /v2/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  const std::string reply = http.ReadUntilClosed(5s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400 ", 0), 0u) << reply;
  EXPECT_NE(reply.find("speaks HTTPS"), std::string::npos) << reply;
  EXPECT_TRUE(http.closed());

  RawConnection grpc("127.0.0.1", grpc_port_);
  ASSERT_TRUE(grpc.connected());
  ASSERT_TRUE(grpc.Send(std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")));
  EXPECT_EQ(grpc.ReadUntilClosed(5s), "");
  EXPECT_TRUE(grpc.closed());

  EXPECT_EQ(Client()->Post("/v2/models/mlp/infer", kInfer).status, 200);
  EXPECT_TRUE(Live(*GrpcStub()).ok());
  EXPECT_EQ(Metric(R"(infergate_tls_handshake_failures_total{frontend="http",reason="plaintext"})"),
            1);
  EXPECT_EQ(Metric(R"(infergate_tls_handshake_failures_total{frontend="grpc",reason="plaintext"})"),
            1);
}

TEST_F(TlsTest, ClientThatNeverHandshakesIsClosedAfterTheTimeout) {
  Start(false);
  for (int port : {http_port_, grpc_port_}) {
    RawConnection silent("127.0.0.1", port);
    ASSERT_TRUE(silent.connected());
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(silent.ReadUntilClosed(8s), "");
    EXPECT_TRUE(silent.closed()) << "port " << port;
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, 900ms);  // handshake_timeout_secs: 1
    EXPECT_LT(took, 5s);
  }
  EXPECT_EQ(Metric(R"(infergate_tls_handshake_failures_total{frontend="http",reason="timeout"})"),
            1);
  EXPECT_EQ(Metric(R"(infergate_tls_handshake_failures_total{frontend="grpc",reason="timeout"})"),
            1);
}

TEST_F(TlsTest, SighupRotatesTheCertificateKeepingOpenConnections) {
  Start(false);
  auto kept = Client();
  auto first = kept->Get("/v2/health/live");
  ASSERT_EQ(first.status, 200) << first.error;
  EXPECT_NE(first.peer_subject.find("server1"), std::string::npos) << first.peer_subject;

  // A broken renewal first: the certificate without its key. Kept out.
  fs::copy_file(pki_dir_.path() / "server2.crt", Served(".crt"),
                fs::copy_options::overwrite_existing);
  kill(server_->pid(), SIGHUP);
  // gRPC's context is reloaded after HTTP's: once its refusal is logged,
  // this SIGHUP is done with (else its gRPC half could read the files below).
  ASSERT_TRUE(server_->WaitForLine("grpc: TLS certificate reload failed.*does not match"))
      << server_->Output();
  auto still = Client()->Get("/v2/health/live");
  EXPECT_NE(still.peer_subject.find("server1"), std::string::npos) << still.peer_subject;

  Install("server2");
  kill(server_->pid(), SIGHUP);
  ASSERT_TRUE(server_->WaitForLine("grpc: TLS certificate reloaded")) << server_->Output();
  auto fresh = Client()->Get("/v2/health/live");
  ASSERT_EQ(fresh.status, 200) << fresh.error;
  EXPECT_NE(fresh.peer_subject.find("server2"), std::string::npos) << fresh.peer_subject;
  // The keep-alive connection made before the rotation goes on.
  auto again = kept->Post("/v2/models/mlp/infer", kInfer);
  EXPECT_EQ(again.status, 200) << again.error;
  EXPECT_EQ(again.new_connections, 0);
  EXPECT_TRUE(Live(*GrpcStub()).ok());
  EXPECT_EQ(Metric(R"(infergate_tls_reloads_total{frontend="http",result="ok"})"), 1);
  EXPECT_EQ(Metric(R"(infergate_tls_reloads_total{frontend="http",result="error"})"), 1);
}

TEST_F(TlsTest, FileWatchRotatesTheCertificate) {
  Start(false, 0.1);
  auto kept = Client();
  ASSERT_EQ(kept->Get("/v2/health/live").status, 200);
  Install("server2");
  std::string subject;
  EXPECT_TRUE(Eventually([&] {
    subject = Client()->Get("/v2/health/live").peer_subject;
    return subject.find("server2") != std::string::npos;
  })) << subject;
  auto again = kept->Get("/v2/health/live");
  EXPECT_EQ(again.status, 200) << again.error;
  EXPECT_EQ(again.new_connections, 0);
}

TEST_F(TlsTest, StartUpFailsOnAKeyThatDoesNotMatch) {
  Process bad(testing::ServeCommand({"--model-repository", repo_.path().string(), "--tls-cert",
                                     Served(".crt"), "--tls-key", pki_.Key("server2")}));
  EXPECT_EQ(bad.Wait(20s), 2);
  EXPECT_NE(bad.Output().find("tls.key_file"), std::string::npos) << bad.Output();
  EXPECT_NE(bad.Output().find("does not match the certificate"), std::string::npos) << bad.Output();

  Process half(testing::ServeCommand(
      {"--model-repository", repo_.path().string(), "--tls-cert", Served(".crt")}));
  EXPECT_EQ(half.Wait(20s), 2);
  EXPECT_NE(half.Output().find("cert_file is set but key_file is not"), std::string::npos)
      << half.Output();
}

}  // namespace
}  // namespace infergate
