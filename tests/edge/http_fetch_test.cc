#include "edge/http_fetch.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "testing/network.h"
#include "testing/temp_dir.h"

namespace infergate::edge {
namespace {

// Answers one connection with `reply` (raw bytes), then closes it; keeps the
// request it read.
class OneShotServer {
 public:
  explicit OneShotServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd_, 1) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen";
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~OneShotServer() {
    thread_.join();
    close(fd_);
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  std::string request() {
    thread_.join();
    thread_ = std::thread([] {});
    return request_;
  }

 private:
  void Serve() {
    const int c = accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    char buf[4096];
    while (request_.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = recv(c, buf, sizeof(buf), 0);
      if (n <= 0) break;
      request_.append(buf, static_cast<size_t>(n));
    }
    (void)send(c, reply_.data(), reply_.size(), MSG_NOSIGNAL);
    close(c);
  }

  std::string reply_;
  std::string request_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

std::unique_ptr<HttpFetcher> Fetcher(const std::string& token = "") {
  HttpFetcherOptions o;
  o.token = token;
  o.timeout = std::chrono::seconds(5);
  auto f = HttpFetcher::Create(o);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return std::move(*f);
}

std::string Read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(HttpFetchTest, DownloadsAndSendsTheToken) {
  testing::TempDir dir;
  OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  SyncFailure why{};
  auto fetcher = Fetcher("secret-token");
  ASSERT_TRUE(fetcher->Download(server.url("/m/1/model.onnx"), dir.path() / "f", 5, &why).ok());
  EXPECT_EQ(Read(dir.path() / "f"), "hello");
  const std::string request = server.request();
  EXPECT_EQ(request.rfind("GET /m/1/model.onnx HTTP/1.1\r\n", 0), 0u) << request;
  EXPECT_NE(request.find("Authorization: Bearer secret-token\r\n"), std::string::npos) << request;
}

TEST(HttpFetchTest, ATransferCutShortIsTruncated) {
  testing::TempDir dir;
  OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello");
  SyncFailure why{};
  core::Status st = Fetcher()->Download(server.url("/f"), dir.path() / "f", 10, &why);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(why, SyncFailure::kTruncated) << st.message();
}

TEST(HttpFetchTest, AShorterOrLongerFileIsRefusedBeforeItsBody) {
  testing::TempDir dir;
  SyncFailure why{};
  {
    OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
    core::Status st = Fetcher()->Download(server.url("/f"), dir.path() / "f", 10, &why);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(why, SyncFailure::kTruncated);
    EXPECT_NE(st.message().find("3 of the 10 bytes"), std::string::npos) << st.message();
  }
  {
    OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n" + std::string(30, 'x'));
    core::Status st = Fetcher()->Download(server.url("/f"), dir.path() / "g", 10, &why);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(why, SyncFailure::kSizeMismatch) << st.message();
  }
  {  // Chunked, so the size shows only while the body arrives.
    OneShotServer server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1e\r\n" + std::string(30, 'x') +
                         "\r\n0\r\n\r\n");
    core::Status st = Fetcher()->Download(server.url("/f"), dir.path() / "h", 10, &why);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(why, SyncFailure::kSizeMismatch) << st.message();
  }
}

TEST(HttpFetchTest, StatusAndUnreachable) {
  testing::TempDir dir;
  SyncFailure why{};
  {
    OneShotServer server("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    std::string body;
    core::Status st = Fetcher()->Get(server.url("/manifest.json"), 1 << 20, &body, &why);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(why, SyncFailure::kHttpStatus);
    EXPECT_NE(st.message().find("HTTP 404"), std::string::npos) << st.message();
  }
  std::string body;
  core::Status st = Fetcher()->Get("http://127.0.0.1:" + std::to_string(testing::FreePort()) + "/", 100, &body, &why);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(why, SyncFailure::kUnreachable) << st.message();
}

TEST(HttpFetchTest, ParsesUrls) {
  auto u = ParseUrl("https://models.example:8443/fleet/manifest.json?x=1");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "models.example");
  EXPECT_EQ(u->port, "8443");
  EXPECT_EQ(u->target, "/fleet/manifest.json?x=1");
  auto v6 = ParseUrl("http://[::1]/");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, "80");
  EXPECT_FALSE(ParseUrl("ftp://x/").ok());
  EXPECT_FALSE(ParseUrl("http://user@x/").ok());
  EXPECT_FALSE(ParseUrl("http:///x").ok());
}

}  // namespace
}  // namespace infergate::edge
