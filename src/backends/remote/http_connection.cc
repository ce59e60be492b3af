#include "backends/remote/http_connection.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>

#include <openssl/ssl.h>

namespace infergate::remote {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr uint64_t kMaxResponseBytes = 256ull * 1024 * 1024;

// Runs the operation `start` begins on `ioc` until its handler ran; the
// stream's expiry bounds it.
template <typename Start>
beast::error_code Await(asio::io_context& ioc, Start start) {
  beast::error_code result = asio::error::would_block;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

}  // namespace

HttpConnection::HttpConnection(const core::RemoteUrl& url, asio::ssl::context* tls)
    : url_(url), tls_context_(tls) {}

HttpConnection::~HttpConnection() {
  beast::error_code ec;
  if (connected_) lowest().socket().close(ec);
}

beast::tcp_stream& HttpConnection::lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

core::Status HttpConnection::Fail(const beast::error_code& ec, const char* step) {
  reusable_ = false;
  if (connected_) {
    beast::error_code ignored;
    lowest().socket().close(ignored);
    connected_ = false;
  }
  if (ec == beast::error::timeout) return core::DeadlineExceeded(std::string("no answer within the timeout (") + step + ")");
  return core::Unavailable("unreachable: " + std::string(step) + ": " + ec.message());
}

core::Status HttpConnection::Connect(Deadline deadline) {
  asio::ip::tcp::resolver resolver(ioc_);
  asio::ip::tcp::resolver::results_type endpoints;
  beast::error_code ec = Await(ioc_, [&](auto handler) {
    resolver.async_resolve(url_.host, std::to_string(url_.port),
                           [&endpoints, handler](beast::error_code e, asio::ip::tcp::resolver::results_type r) mutable {
                             endpoints = std::move(r);
                             handler(e);
                           });
  });
  if (ec) return Fail(ec, "resolve");
  if (tls_context_) {
    tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc_, *tls_context_);
    if (!SSL_set_tlsext_host_name(tls_->native_handle(), url_.host.c_str())) return Fail(asio::error::invalid_argument, "TLS SNI");
    tls_->set_verify_callback(asio::ssl::host_name_verification(url_.host));
  } else {
    plain_ = std::make_unique<beast::tcp_stream>(ioc_);
  }
  lowest().expires_at(deadline);
  ec = Await(ioc_, [&](auto handler) { lowest().async_connect(endpoints, handler); });
  if (ec) return Fail(ec, "connect");
  connected_ = true;
  lowest().socket().set_option(asio::ip::tcp::no_delay(true), ec);
  if (tls_) {
    ec = Await(ioc_, [&](auto handler) { tls_->async_handshake(asio::ssl::stream_base::client, handler); });
    if (ec) return Fail(ec, "TLS handshake");
  }
  return core::Status::Ok();
}

core::Status HttpConnection::Exchange(HttpRequest& request, HttpResponse* response, Deadline deadline) {
  used_ = connected_;
  reusable_ = false;
  if (!connected_) RETURN_IF_ERROR(Connect(deadline));
  lowest().expires_at(deadline);
  beast::error_code ec = Await(ioc_, [&](auto handler) {
    if (tls_) {
      http::async_write(*tls_, request, handler);
    } else {
      http::async_write(*plain_, request, handler);
    }
  });
  if (ec) return Fail(ec, "write");
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  ec = Await(ioc_, [&](auto handler) {
    if (tls_) {
      http::async_read(*tls_, buffer_, parser, handler);
    } else {
      http::async_read(*plain_, buffer_, parser, handler);
    }
  });
  if (ec) return Fail(ec, "read");
  *response = parser.release();
  reusable_ = response->keep_alive();
  if (!reusable_) Fail({}, "close").IgnoreError();
  return core::Status::Ok();
}

HttpPool::HttpPool(core::RemoteUrl url, std::unique_ptr<asio::ssl::context> tls, int max_connections)
    : url_(std::move(url)), tls_(std::move(tls)), max_connections_(max_connections) {}

core::StatusOr<std::unique_ptr<HttpConnection>> HttpPool::Take(Deadline deadline) {
  std::unique_lock lock(mu_);
  if (!freed_.wait_until(lock, deadline, [this] { return !idle_.empty() || out_ < max_connections_; })) {
    return core::Unavailable("all " + std::to_string(max_connections_) + " connections to the remote are busy");
  }
  ++out_;
  if (idle_.empty()) return std::make_unique<HttpConnection>(url_, tls_.get());
  auto connection = std::move(idle_.back());
  idle_.pop_back();
  return connection;
}

std::unique_ptr<HttpConnection> HttpPool::Fresh() {
  std::lock_guard lock(mu_);
  ++out_;
  return std::make_unique<HttpConnection>(url_, tls_.get());
}

void HttpPool::Give(std::unique_ptr<HttpConnection> connection) {
  {
    std::lock_guard lock(mu_);
    --out_;
    if (connection && connection->reusable()) idle_.push_back(std::move(connection));
  }
  freed_.notify_one();
}

}  // namespace infergate::remote
