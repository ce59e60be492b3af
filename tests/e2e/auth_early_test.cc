// Refusals before the body: the real binary with a tokens file answers a
// request without a valid token (or without the scope it needs) as soon as
// its header is complete, without reading the 32 MiB body it announces, over
// HTTP (no 100 Continue, the reply before the body) and gRPC (the trailers
// before the message; the message's DATA dropped with its flow-control
// credit returned, so the connection goes on serving).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "frontends/grpc/h2_attacker.h"
#include "grpc_service.pb.h"
#include "testing/auth_server.h"
#include "testing/gate.h"
#include "testing/http_client.h"

namespace infergate {
namespace {

using grpc_frontend::FramedMessage;
using grpc_frontend::H2Attacker;
using testing::kTestTimeout;

constexpr size_t kBody = size_t{32} << 20;
constexpr char kInferToken[] = "tok-infer-0123456789";
constexpr char kReadToken[] = "tok-read-0123456789";
constexpr char kInfer[] = "/inference.GRPCInferenceService/ModelInfer";

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

class AuthEarlyE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<testing::AuthServer>(testing::TokenEntry("inf", kInferToken, "infer") +
                                                    testing::TokenEntry("rd", kReadToken, "read"));
    ASSERT_TRUE(server_->ok()) << server_->process().Output();
  }

  // The header of an inference request announcing a 32 MiB body, with `extra` fields.
  static std::string BigInferHeader(const std::string& extra) {
    return "POST /v2/models/vib_a/infer HTTP/1.1\r\nHost: infergate\r\nContent-Type: application/json\r\n"
           "Content-Length: " + std::to_string(kBody) + "\r\n" + extra + "\r\n";
  }

  // One line of the metrics text, or empty.
  std::string Metric(const std::string& prefix) {
    testing::CurlClient http("http://127.0.0.1:" + std::to_string(server_->http_port()));
    const auto metrics = http.Get("/metrics", {std::string("Authorization: Bearer ") + kReadToken});
    const size_t at = metrics.body.find(prefix);
    if (at == std::string::npos) return {};
    return metrics.body.substr(at, metrics.body.find('\n', at) - at);
  }

  std::unique_ptr<testing::AuthServer> server_;
};

// No token, asking for 100 Continue: the 401 comes instead, and the
// connection closes without the body; a token without the infer scope and
// 64 KiB of the body sent: the 403 comes without the rest. (The server
// used to answer 100 Continue and wait for all 32 MiB before refusing.)
TEST_F(AuthEarlyE2ETest, HttpRefusesOnTheHeaderWithoutReadingTheBody) {
  {
    testing::RawConnection c("127.0.0.1", server_->http_port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send(BigInferHeader("Expect: 100-continue\r\n")));
    const std::string reply = Lower(c.ReadUntilClosed(kTestTimeout));
    EXPECT_EQ(reply.rfind("http/1.1 401", 0), 0u) << reply;
    EXPECT_NE(reply.find("www-authenticate: bearer realm=\"infergate\""), std::string::npos) << reply;
    EXPECT_NE(reply.find("connection: close"), std::string::npos) << reply;
    EXPECT_TRUE(c.closed());
  }
  {
    testing::RawConnection c("127.0.0.1", server_->http_port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send(BigInferHeader(std::string("Authorization: Bearer ") + kReadToken + "\r\n") +
                       std::string(64 << 10, ' ')));
    const std::string reply = Lower(c.ReadUntilClosed(kTestTimeout));
    EXPECT_EQ(reply.rfind("http/1.1 403", 0), 0u) << reply;
    EXPECT_NE(reply.find("connection: close"), std::string::npos) << reply;
    EXPECT_TRUE(c.closed());
  }
  {
    // Admitted: the server asks for the body as before.
    testing::RawConnection c("127.0.0.1", server_->http_port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send(BigInferHeader(std::string("Authorization: Bearer ") + kInferToken +
                                      "\r\nExpect: 100-continue\r\n")));
    const std::string reply = c.ReadUntil("\r\n\r\n", kTestTimeout);
    EXPECT_EQ(reply.rfind("HTTP/1.1 100 Continue", 0), 0u) << reply;
  }
  // Counted once each (at the header, not again by the router).
  EXPECT_EQ(Metric(R"(infergate_auth_failures_total{frontend="http",reason="missing"})"),
            R"(infergate_auth_failures_total{frontend="http",reason="missing"} 1)");
  EXPECT_EQ(Metric(R"(infergate_auth_failures_total{frontend="http",reason="scope"})"),
            R"(infergate_auth_failures_total{frontend="http",reason="scope"} 1)");
}

// A ModelInfer request for vib_a (identity) with one [1, 2] input.
std::string IdentityInfer() {
  inference::ModelInferRequest request;
  request.set_model_name("vib_a");
  auto* input = request.add_inputs();
  input->set_name("INPUT0");
  input->set_datatype("FP32");
  input->add_shape(1);
  input->add_shape(2);
  request.add_raw_input_contents(std::string(2 * sizeof(float), '\0'));
  return FramedMessage(request.SerializeAsString());
}

// Calls announcing a 32 MiB message get their trailers while the client has
// sent only the message's prefix (they used to wait for the whole message);
// a refused call that sends all 32 MiB has them dropped, its credit
// returned (the connection's window is 4 MiB), and an authorised call on the
// same connection is served afterwards.
TEST_F(AuthEarlyE2ETest, GrpcRefusesOnTheHeadersWithoutTakingTheMessage) {
  H2Attacker client(server_->grpc_port(), /*read_replies=*/true);
  const std::string prefix = FramedMessage("", static_cast<int64_t>(kBody));
  auto status_of = [&](int32_t id) {
    client.PumpUntil([&] { return !client.header(id, "grpc-status").empty(); }, kTestTimeout);
    return client.header(id, "grpc-status");
  };
  const int32_t missing = client.Submit(kInfer, prefix, /*end=*/false);
  EXPECT_EQ(status_of(missing), "16");  // UNAUTHENTICATED
  const int32_t scope = client.Submit(kInfer, prefix, /*end=*/false, 0, std::string("Bearer ") + kReadToken);
  EXPECT_EQ(status_of(scope), "7");  // PERMISSION_DENIED

  const size_t sent_before = client.sent();
  const int32_t whole = client.Submit(kInfer, prefix, /*end=*/true, kBody);
  EXPECT_TRUE(client.PumpUntil([&] { return client.closed(whole); }, kTestTimeout))
      << "sent " << client.sent() - sent_before << " of " << kBody + prefix.size();
  EXPECT_EQ(client.header(whole, "grpc-status"), "16");
  EXPECT_EQ(client.sent() - sent_before, kBody + prefix.size());

  const int32_t ok = client.Submit(kInfer, IdentityInfer(), /*end=*/true, 0, std::string("Bearer ") + kInferToken);
  EXPECT_EQ(status_of(ok), "0") << client.header(ok, "grpc-message");
  ASSERT_FALSE(client.failed());

  EXPECT_EQ(Metric(R"(infergate_auth_failures_total{frontend="grpc",reason="missing"})"),
            R"(infergate_auth_failures_total{frontend="grpc",reason="missing"} 2)");
  EXPECT_EQ(Metric(R"(infergate_auth_failures_total{frontend="grpc",reason="scope"})"),
            R"(infergate_auth_failures_total{frontend="grpc",reason="scope"} 1)");
}

}  // namespace
}  // namespace infergate
