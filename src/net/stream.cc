#include "net/stream.h"

#include <boost/asio/steady_timer.hpp>

namespace infergate::net {
namespace {

namespace asio = boost::asio;

// A TLS stream being shut down: lives in the close_notify exchange's and
// the grace timer's handlers; the last one gone closes the socket and frees
// the slot.
struct TlsClosing {
  TlsClosing(std::shared_ptr<asio::ssl::context> c, std::unique_ptr<Stream::TlsSocket> t,
             std::unique_ptr<ConnectionRegistry::Registration> r)
      : context(std::move(c)),
        tls(std::move(t)),
        registration(std::move(r)),
        timer(tls->get_executor()) {}
  ~TlsClosing() { CloseSocket(); }
  void CloseSocket() {
    boost::system::error_code ignored;
    tls->lowest_layer().close(ignored);
  }

  std::shared_ptr<asio::ssl::context> context;  // outlives tls
  std::unique_ptr<Stream::TlsSocket> tls;
  std::unique_ptr<ConnectionRegistry::Registration> registration;
  asio::steady_timer timer;
};

}  // namespace

void Stream::Close() {
  if (!tls_ || !handshake_done_ || !tls_->lowest_layer().is_open()) return CloseNow();
  boost::system::error_code ignored;
  tls_->lowest_layer().cancel(ignored);
  auto closing =
      std::make_shared<TlsClosing>(std::move(context_), std::move(tls_), std::move(registration_));
  closing->timer.expires_after(kTlsShutdownGrace);
  closing->timer.async_wait([closing](boost::system::error_code ec) {
    if (!ec) closing->CloseSocket();  // the client never answered: its side ends here
  });
  closing->tls->async_shutdown([closing](boost::system::error_code) {
    closing->timer.cancel();
    closing->CloseSocket();
  });
}

void Stream::CloseNow() {
  boost::system::error_code ignored;
  auto& socket = tcp();
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  registration_.reset();
}

}  // namespace infergate::net
