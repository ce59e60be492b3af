// Stream: a client connection's byte stream. Today a TCP socket; TLS will
// be a second kind behind the same members (the handshake done before the
// frontend sees the stream), so the frontends never name the socket type.
//
// It is an Asio AsyncReadStream and AsyncWriteStream: Beast's
// http::async_read/async_write and net::async_read/async_write take it as
// they take a socket.
//
// It holds the connection's slot in its ConnectionRegistry: Close() (or
// destruction) frees it, so a connection counts as open until its socket is
// closed, however long its object lives on in callbacks.
//
// Thread-safety: like a socket, only on its executor's thread (the
// connection's IO thread).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <utility>

#include "net/connection_registry.h"

namespace infergate::net {

class Stream {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;

  explicit Stream(boost::asio::ip::tcp::socket socket,
                  std::unique_ptr<ConnectionRegistry::Registration> registration = nullptr)
      : socket_(std::move(socket)), registration_(std::move(registration)) {
    boost::system::error_code ignored;
    peer_ = socket_.remote_endpoint(ignored);
  }
  Stream(Stream&&) = default;
  Stream& operator=(Stream&&) = default;

  executor_type get_executor() { return socket_.get_executor(); }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return socket_.async_read_some(buffers, std::forward<Token>(token));
  }
  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return socket_.async_write_some(buffers, std::forward<Token>(token));
  }

  bool is_open() const { return socket_.is_open(); }
  // The client's address and port, as accepted (unspecified if the socket
  // had already failed).
  const boost::asio::ip::tcp::endpoint& peer() const { return peer_; }
  // Sets TCP_NODELAY (replies are written whole; no Nagle delay).
  void SetNoDelay() {
    boost::system::error_code ignored;
    socket_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
  }
  // Ends the pending operations with operation_aborted.
  void Cancel() {
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  }
  // No more bytes from us (the peer reads end of stream); reading goes on.
  void ShutdownSend() {
    boost::system::error_code ignored;
    socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
  }
  // Closes the socket and frees the registry slot. Idempotent.
  void Close() {
    boost::system::error_code ignored;
    socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    registration_.reset();
  }

 private:
  boost::asio::ip::tcp::socket socket_;
  boost::asio::ip::tcp::endpoint peer_;
  std::unique_ptr<ConnectionRegistry::Registration> registration_;
};

}  // namespace infergate::net
