// The gRPC frontend's HTTP/2 layer against what no well-behaved gRPC client
// sends: libcurl over HTTP/2 (prior knowledge) posts hand-made calls, a raw
// socket sends bytes that are not HTTP/2. Each gets the status the gRPC
// protocol asks for, naming what was wrong, is counted, and the server goes
// on serving gRPC's own client.
#include <curl/curl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

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
  std::string error;  // libcurl's, when the exchange failed
};

size_t OnBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  const size_t colon = line.find(':');
  if (colon != std::string::npos && colon > 0) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r\n") + 1);
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

// One POST over HTTP/2 without TLS, as gRPC sends it (or not quite).
Reply Post(int port, const std::string& path, const std::string& body,
           const std::string& content_type = "application/grpc") {
  Reply r;
  CURL* curl = curl_easy_init();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_slist* list = nullptr;
  list = curl_slist_append(list, ("Content-Type: " + content_type).c_str());
  list = curl_slist_append(list, "TE: trailers");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  const CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) r.error = curl_easy_strerror(code);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.http_status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return r;
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
    curl_global_init(CURL_GLOBAL_DEFAULT);
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
  frontend_->Stop();  // returns: nothing is left waiting
  EXPECT_EQ(Gauge("infergate_grpc_inferences_in_flight"), 0);
}

}  // namespace
}  // namespace infergate::grpc_frontend
