// The gRPC frontend's HTTP/2 layer against what no well-behaved gRPC client
// sends: nghttp2's client posts hand-made calls, a raw socket sends bytes
// that are not HTTP/2. Each gets the status the gRPC
// protocol asks for, naming what was wrong, is counted, and the server goes
// on serving gRPC's own client.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <cstring>
#include <map>
#include <string>

#include "frontends/grpc/h2_attacker.h"
#include "frontends/grpc/in_process.h"
#include "testing/http_client.h"
#include "testing/mlp_request.h"
#include "testing/model_repo.h"

namespace infergate::grpc_frontend {
namespace {

constexpr char kInfer[] = "/inference.GRPCInferenceService/ModelInfer";

struct Reply {
  long http_status = 0;
  std::map<std::string, std::string> headers;  // trailers too; names in lower case
  std::string body;
  std::string error;  // when the exchange failed
};

// One POST over cleartext HTTP/2 from nghttp2's client session on a
// blocking socket: every header and trailer the server sends is kept. (A
// plain HTTP/2 client rather than gRPC's, so that it can send what gRPC's
// never would.) With `hold_replies`, what the server sends is not credited
// back (no WINDOW_UPDATE) until Consume(): a client that stops reading.
class H2Client {
 public:
  explicit H2Client(int port, bool hold_replies = false) {
    fd_ = ConnectLoopback(port);
    if (fd_ < 0) {
      reply_.error = "cannot connect";
      return;
    }
    authority_ = "127.0.0.1:" + std::to_string(port);
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(
        cb, [](nghttp2_session*, const nghttp2_frame*, const uint8_t* n, size_t nl, const uint8_t* v, size_t vl,
               uint8_t, void* self) {
          auto* c = static_cast<H2Client*>(self);
          const std::string name(reinterpret_cast<const char*>(n), nl), value(reinterpret_cast<const char*>(v), vl);
          if (name == ":status") c->reply_.http_status = std::stol(value);
          c->reply_.headers[name] = value;
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cb, [](nghttp2_session*, uint8_t, int32_t, const uint8_t* data, size_t len, void* self) {
          auto* c = static_cast<H2Client*>(self);
          c->reply_.body.append(reinterpret_cast<const char*>(data), len);
          c->unconsumed_ += len;
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, [](nghttp2_session*, int32_t, uint32_t, void* self) {
      static_cast<H2Client*>(self)->closed_ = true;
      return 0;
    });
    session_ = NewClientSession(cb, this, !hold_replies);
  }
  ~H2Client() {
    if (session_) nghttp2_session_del(session_);
    if (fd_ >= 0) close(fd_);
  }
  H2Client(const H2Client&) = delete;
  H2Client& operator=(const H2Client&) = delete;

  static Reply Post(int port, const std::string& path, const std::string& body,
                    const std::string& content_type = "application/grpc") {
    H2Client c(port);
    c.Submit(path, body, content_type);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!c.closed_ && std::chrono::steady_clock::now() < until && c.Pump(std::chrono::milliseconds(100))) {
    }
    if (!c.closed_ && c.reply_.error.empty()) c.reply_.error = "no complete response within 10 s";
    return c.reply_;
  }

  // Opens the one stream: a POST of `body` (kept by the caller until sent).
  void Submit(const std::string& path, const std::string& body, const std::string& content_type = "application/grpc") {
    if (!session_) return;
    body_ = &body;
    auto nv = [](const std::string& n, const std::string& v) {
      return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                        reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                        NGHTTP2_NV_FLAG_NONE};
    };
    const std::string names[] = {":method", ":scheme", ":authority", ":path", "content-type", "te"};
    const std::string values[] = {"POST", "http", authority_, path, content_type, "trailers"};
    std::vector<nghttp2_nv> headers;
    for (size_t i = 0; i < std::size(names); ++i) headers.push_back(nv(names[i], values[i]));
    nghttp2_data_provider provider{};
    provider.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                                nghttp2_data_source*, void* self) -> ssize_t {
      auto* c = static_cast<H2Client*>(self);
      const size_t n = std::min(length, c->body_->size() - c->sent_);
      std::memcpy(buf, c->body_->data() + c->sent_, n);
      c->sent_ += n;
      if (c->sent_ == c->body_->size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    };
    stream_id_ = nghttp2_submit_request(session_, nullptr, headers.data(), headers.size(), &provider, this);
  }

  // Sends what nghttp2 has ready, then waits up to `wait` for bytes from the
  // server and takes them in. False once the connection failed (reply().error).
  bool Pump(std::chrono::milliseconds wait) {
    if (!session_) return false;
    const uint8_t* out = nullptr;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(session_, &out)) > 0) {
      if (send(fd_, out, static_cast<size_t>(n), MSG_NOSIGNAL) != n) {
        reply_.error = "send failed";
        return false;
      }
    }
    pollfd p{fd_, POLLIN, 0};
    // Waits for the first bytes, then takes whatever else is there.
    for (int timeout = static_cast<int>(wait.count()); poll(&p, 1, timeout) > 0; timeout = 0) {
      uint8_t buf[65536];
      const ssize_t got = recv(fd_, buf, sizeof(buf), 0);
      if (got <= 0) {
        reply_.error = "connection closed";
        return false;
      }
      if (nghttp2_session_mem_recv(session_, buf, static_cast<size_t>(got)) < 0) {
        reply_.error = "bad HTTP/2 from the server";
        return false;
      }
    }
    return true;
  }

  // Credits the server with everything received so far (stream and
  // connection) and widens both windows, as a client reading again.
  void Consume() {
    if (unconsumed_ > 0) nghttp2_session_consume(session_, stream_id_, unconsumed_);
    unconsumed_ = 0;
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, 64 << 20);
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, stream_id_, 64 << 20);
  }

  const Reply& reply() const { return reply_; }
  bool closed() const { return closed_; }
  size_t sent() const { return sent_; }
  // What the server still lets the stream send.
  int32_t send_window() const { return nghttp2_session_get_stream_remote_window_size(session_, stream_id_); }

 private:
  int fd_ = -1;
  nghttp2_session* session_ = nullptr;
  std::string authority_;
  const std::string* body_ = nullptr;
  size_t sent_ = 0;
  int32_t stream_id_ = -1;
  size_t unconsumed_ = 0;
  bool closed_ = false;
  Reply reply_;
};

Reply Post(int port, const std::string& path, const std::string& body,
           const std::string& content_type = "application/grpc") {
  return H2Client::Post(port, path, body, content_type);
}

// `payload` behind a gRPC message prefix announcing `length` bytes.
std::string Framed(const std::string& payload, uint8_t flag = 0, int64_t length = -1) {
  const uint32_t n = static_cast<uint32_t>(length < 0 ? payload.size() : length);
  std::string out{static_cast<char>(flag), static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                  static_cast<char>(n >> 8), static_cast<char>(n)};
  return out + payload;
}

std::string InferMessage() { return testing::MlpRequest("mlp", "h2", true).SerializeAsString(); }

class GrpcH2Test : public InProcessGrpcTest {
 protected:
  void SetUp() override {
    testing::CopyModel(repo_dir_, "mlp16.onnx", "mlp");
    GrpcFrontendOptions options;
    options.max_message_bytes = 4096;
    Serve(options);
    port_ = frontend_->port();
  }

  double Rejected(const std::string& reason) {
    return Counter("infergate_grpc_requests_rejected_total", {{"reason", reason}});
  }

  // gRPC's own client still gets an answer.
  void ExpectServing() {
    ::grpc::ClientContext context;
    inference::ModelInferResponse resp;
    auto st = stub_->ModelInfer(&context, testing::MlpRequest("mlp", "ok", true), &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.id(), "ok");
  }

  int port_ = 0;
};

TEST_F(GrpcH2Test, AWellFormedCallByHandGetsItsReplyAndTrailers) {
  Reply r = Post(port_, kInfer, Framed(InferMessage()));
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.headers["content-type"], "application/grpc");
  EXPECT_EQ(r.headers["grpc-status"], "0");
  ASSERT_GT(r.body.size(), 5u);
  inference::ModelInferResponse resp;
  ASSERT_TRUE(resp.ParseFromString(r.body.substr(5)));
  EXPECT_EQ(resp.id(), "h2");
  EXPECT_EQ(resp.raw_output_contents_size(), 1);
}

TEST_F(GrpcH2Test, EveryMalformedCallGetsTheProtocolsStatusNamingTheProblem) {
  struct Case {
    const char* what;
    std::string path, body, content_type;
    const char* status;  // grpc-status
    const char* text;    // in grpc-message (percent-encoded)
    const char* reason;  // infergate_grpc_requests_rejected_total
  };
  const Case cases[] = {
      {"unknown method", "/inference.GRPCInferenceService/Nope", Framed(InferMessage()), "application/grpc", "12",
       "unknown method /inference.GRPCInferenceService/Nope", "unimplemented"},
      {"compressed message", kInfer, Framed("\x1f\x8b", 1), "application/grpc", "12", "compressed",
       "unimplemented"},
      {"message over the limit", kInfer, Framed(std::string(5000, 'x')), "application/grpc", "8", "5000",
       "resource_exhausted"},
      {"cut short", kInfer, Framed("abc", 0, 100), "application/grpc+proto", "3", "ended inside a message",
       "invalid_argument"},
      {"not protobuf", kInfer, Framed("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), "application/grpc", "3",
       "cannot parse", "invalid_argument"},
      {"two messages", kInfer, Framed(InferMessage()) + Framed(InferMessage()), "application/grpc", "3",
       "more than one request message", "invalid_argument"},
      {"no message", kInfer, "", "application/grpc", "3", "no request message", "invalid_argument"},
  };
  for (const Case& c : cases) {
    const double before = Rejected(c.reason);
    Reply r = Post(port_, c.path, c.body, c.content_type);
    ASSERT_TRUE(r.error.empty()) << c.what << ": " << r.error;
    EXPECT_EQ(r.http_status, 200) << c.what;
    EXPECT_EQ(r.headers["grpc-status"], c.status) << c.what;
    EXPECT_NE(r.headers["grpc-message"].find(c.text), std::string::npos) << c.what << ": " << r.headers["grpc-message"];
    EXPECT_EQ(Rejected(c.reason), before + 1) << c.what;
  }
  ExpectServing();
}

TEST_F(GrpcH2Test, NotGrpcGetsHttp415) {
  Reply r = Post(port_, kInfer, "{\"inputs\": []}", "application/json");
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.http_status, 415);
  EXPECT_EQ(Rejected("invalid_argument"), 1);
  ExpectServing();
}

TEST_F(GrpcH2Test, BytesThatAreNotHttp2CloseTheConnectionAndAreCounted) {
  {
    testing::RawConnection raw("127.0.0.1", port_);
    ASSERT_TRUE(raw.connected());
    ASSERT_TRUE(raw.Send("GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"));
    raw.ReadUntilClosed(std::chrono::seconds(10));
    EXPECT_TRUE(raw.closed());
  }
  EXPECT_EQ(Counter("infergate_grpc_protocol_errors_total"), 1);
  {
    // The preface, then a frame header announcing a frame larger than allowed.
    testing::RawConnection raw("127.0.0.1", port_);
    ASSERT_TRUE(raw.Send(std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + std::string("\xff\xff\xff\x00\x00\x00\x00\x00\x00", 9)));
    raw.ReadUntilClosed(std::chrono::seconds(10));
    EXPECT_TRUE(raw.closed());
  }
  EXPECT_EQ(Counter("infergate_grpc_protocol_errors_total"), 2);
  ExpectServing();
}

TEST_F(GrpcH2Test, AClientThatVanishesMidCallLeavesNothingBehind) {
  {
    // Half a message, then the socket closes.
    testing::RawConnection raw("127.0.0.1", port_);
    ASSERT_TRUE(raw.Send(std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9)));
  }
  ExpectServing();
  EXPECT_TRUE(frontend_->Drain(std::chrono::steady_clock::now() + std::chrono::seconds(10)));  // nothing waits
  frontend_->Stop();
  EXPECT_EQ(Gauge("infergate_grpc_inferences_in_flight"), 0);
}

// A ModelStreamInfer client that sends 1 MiB requests and stops reading the
// 1 MiB replies: once more than max_unsent_reply_bytes (4 MiB) of replies wait
// for it, the server takes no more of its messages and stops crediting its
// flow-control window, so the client is stopped instead of buffered for. When
// the client reads again, every reply arrives.
class GrpcStreamHoldBackTest : public InProcessGrpcTest {
 protected:
  void SetUp() override {
    testing::CopyModel(repo_dir_, "identity_fp32.onnx", "id");
    repo_dir_.Write("id/config.yaml", "max_batch_size: 0\n");
    GrpcFrontendOptions options;
    options.max_stream_in_flight = 2;  // so what the hold-back allows is exact
    Serve(options);
  }
};

TEST_F(GrpcStreamHoldBackTest, AClientThatStopsReadingIsStoppedNotBufferedFor) {
  constexpr int kRequests = 24;
  constexpr size_t kFloats = 256 * 1024;  // 1 MiB each way
  inference::ModelInferRequest request;
  request.set_model_name("id");
  auto* input = request.add_inputs();
  input->set_name("INPUT0");
  input->set_datatype("FP32");
  input->add_shape(1);
  input->add_shape(static_cast<int64_t>(kFloats));
  request.add_raw_input_contents(std::string(kFloats * sizeof(float), '\x01'));
  std::string body;
  for (int i = 0; i < kRequests; ++i) {
    request.set_id("r" + std::to_string(i));
    body += Framed(request.SerializeAsString());
  }
  const core::Labels done = {{"model", "id"}, {"version", "1"}, {"outcome", "success"}};

  H2Client client(frontend_->port(), /*hold_replies=*/true);
  client.Submit("/inference.GRPCInferenceService/ModelStreamInfer", body);
  // Five replies are more than 4 MiB with only 64 KB of them sent: the
  // server then takes no more messages. Wait for that, and for the stream to
  // be out of credit with nothing being inferred.
  const auto answered = [&] { return Counter("infergate_inference_requests_total", done); };
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until &&
         !(answered() >= 5 && client.send_window() == 0 && Gauge("infergate_grpc_inferences_in_flight") == 0)) {
    ASSERT_TRUE(client.Pump(std::chrono::milliseconds(20))) << client.reply().error;
  }
  ASSERT_GE(answered(), 5) << "the replies never piled up";
  const double stopped_at = answered();
  // It stays stopped: nothing moves while the client keeps not reading.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client.Pump(std::chrono::milliseconds(20)));
  EXPECT_EQ(client.send_window(), 0) << "the server credited the client again";
  EXPECT_EQ(answered(), stopped_at);
  // The line is crossed by the fifth reply; at most the two in flight then follow.
  EXPECT_LE(stopped_at, 7);
  EXPECT_LT(client.sent(), body.size());
  EXPECT_LE(client.reply().body.size(), 65535u);

  // Reading again lets everything through.
  while (!client.closed() && std::chrono::steady_clock::now() < until + std::chrono::seconds(30)) {
    client.Consume();
    ASSERT_TRUE(client.Pump(std::chrono::milliseconds(100))) << client.reply().error;
  }
  ASSERT_TRUE(client.closed());
  EXPECT_EQ(client.reply().headers.at("grpc-status"), "0");
  EXPECT_EQ(client.sent(), body.size());
  EXPECT_EQ(Counter("infergate_inference_requests_total", done), kRequests);
  // Every reply is there: count the gRPC messages in what arrived.
  const std::string& got = client.reply().body;
  int messages = 0;
  for (size_t at = 0; at + 5 <= got.size(); ++messages) {
    const uint32_t n = (uint32_t{static_cast<uint8_t>(got[at + 1])} << 24) |
                       (uint32_t{static_cast<uint8_t>(got[at + 2])} << 16) |
                       (uint32_t{static_cast<uint8_t>(got[at + 3])} << 8) | static_cast<uint8_t>(got[at + 4]);
    at += 5 + n;
  }
  EXPECT_EQ(messages, kRequests);
  EXPECT_EQ(Gauge("infergate_grpc_buffered_bytes"), 0) << "request bytes still counted after the call";
}

}  // namespace
}  // namespace infergate::grpc_frontend
