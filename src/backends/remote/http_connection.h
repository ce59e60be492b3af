// HttpConnection and HttpPool: keep-alive HTTP/1.1 connections to one remote
// (plain TCP or TLS) for the HTTP RemoteClient. Each exchange runs on the
// calling thread, on the connection's own io_context, bounded by a deadline.
//
// Thread-safety: a connection is used by one thread at a time (the pool hands
// it out); HttpPool's methods may be called from any thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "backends/remote/remote_client.h"

namespace infergate::remote {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
using Deadline = std::chrono::steady_clock::time_point;

class HttpConnection {
 public:
  HttpConnection(const core::RemoteUrl& url, boost::asio::ssl::context* tls);
  ~HttpConnection();

  // Connects if needed, writes `request`, reads the response. UNAVAILABLE
  // when the remote cannot be reached or drops the connection,
  // DEADLINE_EXCEEDED at `deadline`. After an error the connection is closed.
  core::Status Exchange(HttpRequest& request, HttpResponse* response, Deadline deadline);
  // True once it has completed an exchange and may carry another one.
  bool reusable() const { return reusable_; }
  bool used() const { return used_; }

 private:
  core::Status Connect(Deadline deadline);
  core::Status Fail(const boost::beast::error_code& ec, const char* step);
  boost::beast::tcp_stream& lowest();

  const core::RemoteUrl url_;
  boost::asio::ssl::context* tls_context_;
  boost::asio::io_context ioc_;
  std::unique_ptr<boost::beast::tcp_stream> plain_;
  std::unique_ptr<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
  bool reusable_ = false;
  bool used_ = false;
};

class HttpPool {
 public:
  // `tls`: the verified TLS context for https://, else null.
  HttpPool(core::RemoteUrl url, std::unique_ptr<boost::asio::ssl::context> tls, int max_connections);

  // An idle connection, else a new one while fewer than max_connections are
  // out, else waits for one until `deadline` (UNAVAILABLE then).
  core::StatusOr<std::unique_ptr<HttpConnection>> Take(Deadline deadline);
  // Back into the pool if it is reusable, else closed.
  void Give(std::unique_ptr<HttpConnection> connection);
  // A new connection that counts against the limit; the caller gives it back.
  std::unique_ptr<HttpConnection> Fresh();

  const core::RemoteUrl& url() const { return url_; }

 private:
  const core::RemoteUrl url_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  const int max_connections_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<HttpConnection>> idle_;  // GUARDED_BY(mu_)
  int out_ = 0;                                         // GUARDED_BY(mu_): handed out
};

}  // namespace infergate::remote
