// HttpServer on a loopback socket, with an inference service that holds
// requests until the test answers them: Drain answers every request in
// flight, closes idle keep-alive connections, refuses new connections and
// new requests, and returns once the last reply is written.
#include "frontends/http/http_server.h"

#include <gtest/gtest.h>

#include <future>
#include <string>
#include <vector>

#include "testing/held_inference.h"
#include "testing/http_client.h"

namespace infergate::http {
namespace {

using std::chrono::steady_clock;

constexpr char kBody[] = R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]})";

std::string InferRequest(const std::string& body = kBody) {
  return "POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.io_threads = 2;
    HttpDeps deps;
    deps.inference = &inference_;
    deps.metrics = &metrics_;
    deps.ready = &ready_;
    auto server = HttpServer::Create(options, deps);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    ASSERT_TRUE(server_->Start().ok());
  }

  core::MetricsRegistry metrics_;
  testing::HeldInference inference_;
  std::atomic<bool> ready_{true};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, DrainAnswersEveryRequestInFlightThenReturns) {
  constexpr int kInFlight = 32;
  std::vector<std::unique_ptr<testing::RawConnection>> busy;
  for (int i = 0; i < kInFlight; ++i) {
    busy.push_back(std::make_unique<testing::RawConnection>("127.0.0.1", server_->port()));
    ASSERT_TRUE(busy.back()->Send(InferRequest()));
  }
  testing::RawConnection idle("127.0.0.1", server_->port());  // keep-alive, no request
  testing::RawConnection late("127.0.0.1", server_->port());  // a request that arrives during the drain
  // Its header is read (the server asks for the body) before the drain.
  ASSERT_TRUE(late.Send("POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                        "Content-Length: " + std::to_string(sizeof(kBody) - 1) + "\r\n\r\n"));
  ASSERT_NE(late.ReadUntil("100 Continue\r\n\r\n", std::chrono::seconds(10)).find("100 Continue"), std::string::npos);
  ASSERT_TRUE(inference_.WaitHeld(kInFlight));

  ready_ = false;  // what the engine does before draining
  auto drained = std::async(std::launch::async, [this] { return server_->Drain(steady_clock::now() + std::chrono::seconds(20)); });
  // New connections are refused once the drain began.
  const auto until = steady_clock::now() + testing::kTestTimeout;
  bool refused = false;
  while (!refused && steady_clock::now() < until) {
    refused = !testing::RawConnection("127.0.0.1", server_->port()).connected();
  }
  EXPECT_TRUE(refused);
  // The idle keep-alive connection is closed at once, without a reply.
  EXPECT_EQ(idle.ReadUntilClosed(std::chrono::seconds(10)), "");
  EXPECT_TRUE(idle.closed());
  // A request completed during the drain is refused, and its connection closed.
  ASSERT_TRUE(late.Send(kBody));
  const std::string refusal = late.ReadUntilClosed(std::chrono::seconds(10));
  EXPECT_EQ(refusal.rfind("HTTP/1.1 503", 0), 0u) << refusal;
  EXPECT_NE(refusal.find("Connection: close"), std::string::npos) << refusal;
  EXPECT_EQ(inference_.held(), static_cast<size_t>(kInFlight));  // it never reached inference
  EXPECT_EQ(drained.wait_for(std::chrono::seconds(0)), std::future_status::timeout);  // 32 still in flight

  const auto released = steady_clock::now();
  inference_.ReleaseAll();
  for (auto& c : busy) {
    const std::string reply = c->ReadUntilClosed(std::chrono::seconds(10));
    EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
    EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
    EXPECT_TRUE(c->closed());
  }
  EXPECT_TRUE(drained.get());
  EXPECT_LT(steady_clock::now() - released, std::chrono::seconds(5));
  server_->Stop();
}

TEST_F(HttpServerTest, DrainWithNothingInFlightReturnsAtOnce) {
  testing::RawConnection idle("127.0.0.1", server_->port());
  ASSERT_TRUE(idle.Send("GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(idle.ReadUntil("\r\n\r\n", std::chrono::seconds(10)).rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_TRUE(server_->Drain(steady_clock::now() + std::chrono::seconds(20)));
  idle.ReadUntilClosed(std::chrono::seconds(10));
  EXPECT_TRUE(idle.closed());
  server_->Stop();
}

TEST_F(HttpServerTest, ReadinessIsTheFlagTheCreatorOwns) {
  auto ready = [&] {
    testing::RawConnection c("127.0.0.1", server_->port());
    c.Send("GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n\r\n");
    return c.ReadUntil("\r\n\r\n", std::chrono::seconds(10)).substr(0, 12);
  };
  EXPECT_EQ(ready(), "HTTP/1.1 200");
  ready_ = false;
  EXPECT_EQ(ready(), "HTTP/1.1 503");
}

// A body under a coding the server does not decode is refused rather than
// read as empty (or as the coded bytes): 501 for a transfer coding other than
// chunked (RFC 9112 6.1), 415 for a content coding other than identity; each
// reply names the coding and each refusal is counted with its reason.
TEST_F(HttpServerTest, RefusesBodyCodingsItDoesNotDecode) {
  auto send = [&](const std::string& headers, const std::string& body) {
    testing::RawConnection c("127.0.0.1", server_->port());
    c.Send("POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
           headers + "\r\n" + body);
    return c.ReadUntilClosed(std::chrono::seconds(10));
  };
  auto rejected = [&](const char* reason) {
    return metrics_
        .GetCounter("infergate_http_requests_rejected_total", "", {{"reason", reason}})
        .value();
  };
  const std::string chunked_body = "2\r\n{}\r\n0\r\n\r\n";
  std::string reply = send("Transfer-Encoding: gzip\r\n", "\x1f\x8b");
  EXPECT_EQ(reply.rfind("HTTP/1.1 501", 0), 0u) << reply;
  EXPECT_NE(reply.find("transfer coding 'gzip' is not implemented"), std::string::npos) << reply;
  reply = send("Transfer-Encoding: gzip, chunked\r\n", chunked_body);
  EXPECT_EQ(reply.rfind("HTTP/1.1 501", 0), 0u) << reply;
  EXPECT_EQ(rejected("unsupported_transfer_coding"), 2u);

  reply = send("Content-Encoding: br\r\nContent-Length: 2\r\n", "{}");
  EXPECT_EQ(reply.rfind("HTTP/1.1 415", 0), 0u) << reply;
  EXPECT_NE(reply.find("content coding 'br' of the request body is not supported"),
            std::string::npos)
      << reply;
  EXPECT_EQ(rejected("unsupported_content_coding"), 1u);

  // chunked and identity are read as before (the empty object is a 400 for
  // its missing inputs, not a refusal of its coding).
  reply = send("Transfer-Encoding: chunked\r\nContent-Encoding: identity\r\nConnection: close\r\n",
               chunked_body);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  EXPECT_NE(reply.find("no 'inputs'"), std::string::npos) << reply;
}

// An error that quotes what the client sent (here a 10,000-byte content
// coding) carries at most 1 KiB of message: the reply does not grow with
// the client's input.
TEST_F(HttpServerTest, ErrorBodiesClipWhatTheyQuoteOfTheClient) {
  testing::RawConnection c("127.0.0.1", server_->port());
  c.Send("POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: " +
         std::string(10000, 'z') + "\r\nContent-Length: 2\r\n\r\n{}");
  const std::string reply = c.ReadUntilClosed(std::chrono::seconds(10));
  ASSERT_EQ(reply.rfind("HTTP/1.1 415", 0), 0u) << reply.substr(0, 200);
  const size_t body = reply.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  EXPECT_LE(reply.size() - body, 1100u) << "the error body echoes the whole input";
  EXPECT_NE(reply.find("zzz...\""), std::string::npos) << "the clip is not marked";
}

}  // namespace
}  // namespace infergate::http
