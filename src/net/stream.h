// Stream: a client connection's byte stream, plain TCP or TLS (OpenSSL
// through Asio's ssl::stream). The frontends never name the socket type: a
// TLS stream reaches them with its handshake done (net/tls_accept.h).
//
// It is an Asio AsyncReadStream and AsyncWriteStream: Beast's
// http::async_read/async_write and net::async_read/async_write take it as
// they take a socket.
//
// It holds the connection's slot in its ConnectionRegistry: Close() (or
// destruction) frees it, so a connection counts as open until its socket is
// closed, however long its object lives on in callbacks. A TLS stream's
// Close sends close_notify and waits for the client's at most
// kTlsShutdownGrace before closing the socket (the slot is held until then).
//
// Thread-safety: like a socket, only on its executor's thread (the
// connection's IO thread).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <chrono>
#include <memory>
#include <utility>

#include "net/connection_registry.h"

namespace infergate::net {

// How long a closing TLS stream waits for the client's close_notify.
inline constexpr std::chrono::milliseconds kTlsShutdownGrace{1000};

class Stream {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;
  using TlsSocket = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

  // A plain TCP stream.
  explicit Stream(boost::asio::ip::tcp::socket socket,
                  std::unique_ptr<ConnectionRegistry::Registration> registration = nullptr)
      : socket_(std::move(socket)), registration_(std::move(registration)) {
    boost::system::error_code ignored;
    peer_ = socket_.remote_endpoint(ignored);
  }
  // A TLS stream over `socket` using `context` (kept for the stream's life);
  // the handshake is still to do (tls()->async_handshake).
  Stream(boost::asio::ip::tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> context,
         std::unique_ptr<ConnectionRegistry::Registration> registration)
      : socket_(socket.get_executor()),
        registration_(std::move(registration)),
        context_(std::move(context)) {
    boost::system::error_code ignored;
    peer_ = socket.remote_endpoint(ignored);
    tls_ = std::make_unique<TlsSocket>(std::move(socket), *context_);
    // Asio turns on SSL_MODE_RELEASE_BUFFERS, which frees OpenSSL's record
    // buffers after every record and allocates them again for the next: on a
    // keep-alive connection that is two ~17 KB allocations per request. They
    // are kept instead (about 34 KB per open TLS connection).
    SSL_clear_mode(tls_->native_handle(), SSL_MODE_RELEASE_BUFFERS);
  }
  Stream(Stream&&) = default;
  Stream& operator=(Stream&&) = default;
  // Closes at once (no close_notify: the IO context may be gone).
  ~Stream() { CloseNow(); }

  executor_type get_executor() { return socket_.get_executor(); }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Token>(token));
    return socket_.async_read_some(buffers, std::forward<Token>(token));
  }
  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<Token>(token));
    return socket_.async_write_some(buffers, std::forward<Token>(token));
  }

  bool is_open() const { return tls_ ? tls_->lowest_layer().is_open() : socket_.is_open(); }
  // The TLS layer (null for a plain stream), for the handshake.
  TlsSocket* tls() { return tls_.get(); }
  // The TCP socket underneath (either kind).
  boost::asio::ip::tcp::socket& tcp() { return tls_ ? tls_->next_layer() : socket_; }
  // The client's address and port, as accepted (unspecified if the socket
  // had already failed).
  const boost::asio::ip::tcp::endpoint& peer() const { return peer_; }
  // Sets TCP_NODELAY (replies are written whole; no Nagle delay).
  void SetNoDelay() {
    boost::system::error_code ignored;
    tcp().set_option(boost::asio::ip::tcp::no_delay(true), ignored);
  }
  // Ends the pending operations with operation_aborted.
  void Cancel() {
    boost::system::error_code ignored;
    tcp().cancel(ignored);
  }
  // No more bytes from us (the peer reads end of stream); reading goes on.
  void ShutdownSend() {
    boost::system::error_code ignored;
    tcp().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
  }
  // Marks the TLS handshake done: Close then says close_notify.
  void SetHandshakeDone() { handshake_done_ = true; }
  // Closes the socket (a TLS stream: after a bounded close_notify exchange)
  // and frees the registry slot. Idempotent.
  void Close();

 private:
  void CloseNow();

  boost::asio::ip::tcp::socket socket_;  // a plain stream's socket (a TLS one's: unused)
  boost::asio::ip::tcp::endpoint peer_;
  std::unique_ptr<ConnectionRegistry::Registration> registration_;
  std::shared_ptr<boost::asio::ssl::context> context_;  // outlives tls_
  std::unique_ptr<TlsSocket> tls_;
  bool handshake_done_ = false;
};

}  // namespace infergate::net
