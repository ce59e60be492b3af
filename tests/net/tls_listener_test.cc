// A TLS listener on a loopback socket: the frontend gets a stream with the
// handshake done and ALPN chosen; a client offering ALPN without the
// frontend's protocol, plain text and a client that never handshakes are
// closed and counted; a connection still handshaking is closed by CloseAll;
// closing waits for the client's close_notify only kTlsShutdownGrace.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <functional>

#include "net/listener.h"
#include "net/listener_fixture.h"
#include "testing/gate.h"
#include "testing/http_client.h"
#include "testing/temp_dir.h"
#include "testing/test_pki.h"

namespace infergate::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Echoes what it reads until the client leaves or Close; a read is pending
// all the while, so the connection stays open.
class EchoConnection : public Connection, public std::enable_shared_from_this<EchoConnection> {
 public:
  explicit EchoConnection(Stream stream) : stream_(std::move(stream)) {}
  void Start() {
    stream_.async_read_some(asio::buffer(buf_),
                            [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                              if (ec) return;
                              asio::async_write(self->stream_, asio::buffer(self->buf_, n),
                                                [self](boost::system::error_code write_ec, size_t) {
                                                  if (!write_ec) self->Start();
                                                });
                            });
  }
  void Drain() override { Close(); }
  void Close() override {
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->stream_.Close(); });
  }

 private:
  Stream stream_;
  char buf_[64];
};

class TlsListenerTest : public ListenerFixture {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_.MakeCa("ca"));
    ASSERT_TRUE(pki_.MakeServer("server", "ca", 1));
  }
  std::shared_ptr<Connection> MakeConnection(Stream stream) override {
    auto c = std::make_shared<EchoConnection>(std::move(stream));
    c->Start();
    return c;
  }
  void Open(const std::string& alpn, bool alpn_required) {
    TlsOptions o;
    o.frontend = "test";
    o.files = TlsFiles{pki_.Crt("server"), pki_.Key("server"), ""};
    o.alpn = alpn;
    o.alpn_required = alpn_required;
    auto tls = TlsContext::Create(o, &metrics_);
    ASSERT_TRUE(tls.ok()) << tls.status().ToString();
    tls_ = std::move(*tls);
    ListenerOptions options;
    options.tls = tls_.get();
    options.handshake_timeout = 300ms;
    ListenerFixture::Open(options, 0);
  }
  uint64_t Failures(const char* reason) {
    return metrics_
        .GetCounter("infergate_tls_handshake_failures_total", "",
                    {{"frontend", "test"}, {"reason", reason}})
        .value();
  }
  bool WaitFailures(const char* reason, uint64_t n) {
    const auto until = std::chrono::steady_clock::now() + testing::kTestTimeout;
    while (Failures(reason) < n) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::yield();
    }
    return true;
  }

  // A client handshake offering `alpn` (wire format), then a ping echoed;
  // returns the error. `while_open` runs after the echo, the client still
  // connected but reading nothing.
  boost::system::error_code Handshake(const std::string& alpn_wire, std::string* selected = nullptr,
                                      std::string* echoed = nullptr,
                                      const std::function<void()>& while_open = nullptr) {
    asio::io_context ioc;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.load_verify_file(pki_.Crt("ca"));
    ctx.set_verify_mode(asio::ssl::verify_peer);
    asio::ssl::stream<asio::ip::tcp::socket> client(ioc, ctx);
    if (!alpn_wire.empty()) {
      SSL_set_alpn_protos(client.native_handle(),
                          reinterpret_cast<const unsigned char*>(alpn_wire.data()),
                          static_cast<unsigned>(alpn_wire.size()));
    }
    boost::system::error_code ec;
    client.next_layer().connect(
        {asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(listener_->port())}, ec);
    if (!ec) client.handshake(asio::ssl::stream_base::client, ec);
    if (ec) return ec;
    if (selected) {
      const unsigned char* p = nullptr;
      unsigned len = 0;
      SSL_get0_alpn_selected(client.native_handle(), &p, &len);
      selected->assign(reinterpret_cast<const char*>(p), len);
    }
    // TLS 1.3: a refusal after the client's Finished shows on the first read.
    asio::write(client, asio::buffer(std::string("ping")), ec);
    char buf[4];
    if (!ec) asio::read(client, asio::buffer(buf), ec);
    if (!ec && echoed) echoed->assign(buf, 4);
    if (!ec && while_open) while_open();
    return ec;
  }

  testing::TempDir dir_;
  testing::TestPki pki_{dir_.path()};
  std::unique_ptr<TlsContext> tls_;  // outlives the listener: TearDown joins the IO threads first
};

TEST_F(TlsListenerTest, TheFrontendGetsAHandshakenStreamWithAlpnSelected) {
  Open("h2", true);
  std::string selected, echoed;
  const auto ec = Handshake(std::string("\x08http/1.1\x02h2", 12), &selected, &echoed);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(selected, "h2");
  EXPECT_EQ(echoed, "ping");
  EXPECT_EQ(accepted(), 1u);
}

TEST_F(TlsListenerTest, ClosingWaitsForTheClientsCloseNotifyOnlyBriefly) {
  Open("http/1.1", false);
  std::chrono::steady_clock::duration took{};
  const auto ec = Handshake("", nullptr, nullptr, [&] {
    ASSERT_EQ(registry_->open(), 1u);
    const auto start = std::chrono::steady_clock::now();
    registry_->CloseAll();  // the server sends close_notify; this client never answers
    const auto until = start + testing::kTestTimeout;
    while (registry_->open() != 0 && std::chrono::steady_clock::now() < until)
      std::this_thread::yield();
    took = std::chrono::steady_clock::now() - start;
  });
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(registry_->open(), 0u);
  EXPECT_GE(took, kTlsShutdownGrace - 100ms);
  EXPECT_LT(took, kTlsShutdownGrace + 2s);
}

TEST_F(TlsListenerTest, AClientOfferingAlpnWithoutH2IsRefused) {
  Open("h2", true);
  EXPECT_TRUE(Handshake(std::string("\x08http/1.1", 9)));
  EXPECT_TRUE(WaitFailures("handshake", 1));
  // No ALPN offered at all is served.
  EXPECT_FALSE(Handshake(""));
  EXPECT_EQ(accepted(), 1u);
}

TEST_F(TlsListenerTest, PlainHttpGetsA400AndIsClosed) {
  Open("http/1.1", false);
  testing::RawConnection plain("127.0.0.1", listener_->port());
  ASSERT_TRUE(plain.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string reply = plain.ReadUntilClosed(5s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << reply;
  EXPECT_TRUE(plain.closed());
  EXPECT_EQ(Failures("plaintext"), 1u);
  EXPECT_EQ(Failures("timeout"), 0u);
  testing::RawConnection binary("127.0.0.1", listener_->port());
  ASSERT_TRUE(binary.Send(std::string("\x00\x01\x02", 3)));
  EXPECT_EQ(binary.ReadUntilClosed(5s), "");
  EXPECT_TRUE(WaitFailures("plaintext", 2));
}

TEST_F(TlsListenerTest, ASilentClientIsClosedAfterTheHandshakeTimeout) {
  Open("http/1.1", false);
  testing::RawConnection silent("127.0.0.1", listener_->port());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(silent.ReadUntilClosed(5s), "");
  EXPECT_TRUE(silent.closed());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);
  EXPECT_TRUE(WaitFailures("timeout", 1));
  const auto until = std::chrono::steady_clock::now() + testing::kTestTimeout;
  while (registry_->open() != 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
  EXPECT_EQ(registry_->open(), 0u);  // its slot is free again
}

TEST_F(TlsListenerTest, CloseAllClosesAConnectionStillHandshaking) {
  Open("http/1.1", false);
  testing::RawConnection silent("127.0.0.1", listener_->port());
  const auto until = std::chrono::steady_clock::now() + testing::kTestTimeout;
  while (registry_->open() != 1 && std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
  ASSERT_EQ(registry_->open(), 1u);
  registry_->CloseAll();
  const auto start = std::chrono::steady_clock::now();
  silent.ReadUntilClosed(5s);
  EXPECT_TRUE(silent.closed());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 250ms);  // not by the handshake timeout
}

}  // namespace
}  // namespace infergate::net
