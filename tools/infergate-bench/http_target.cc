#include "http_target.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/ssl.hpp>

#include <deque>
#include <future>
#include <optional>
#include <thread>
#include <vector>

namespace infergate::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class HttpClient;

// One keep-alive connection: idle, or busy with one request.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  explicit Connection(HttpClient* client);
  void Connect();
  void Send(const Request& request);
  void Close();
  bool ready() const { return ready_; }

 private:
  void OnConnected(beast::error_code ec);
  void OnReply(beast::error_code ec);
  void Finish(const std::string& error, bool reusable);
  beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : stream_; }
  // Calls `f` with the stream requests go over: TLS or plain.
  template <typename F>
  void WithStream(F&& f) {
    if (tls_) return f(*tls_);
    f(stream_);
  }

  HttpClient* client_;
  beast::tcp_stream stream_;  // plain HTTP
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;  // HTTPS: a new one per connection
  beast::flat_buffer buffer_;
  // The body is a view of the run's payload (which outlives every request),
  // so sending a 600 KB tensor does not first copy it.
  http::request<http::span_body<const char>> req_;
  std::optional<http::response_parser<http::string_body>> parser_;
  Request current_;
  bool ready_ = false;
};

class HttpClient final : public Target {
 public:
  HttpClient(HttpOptions options, const PayloadSet* payloads)
      : options_(std::move(options)), payloads_(payloads), work_(asio::make_work_guard(ioc_)) {}
  ~HttpClient() override { Stop(); }

  core::Status Start(CompletionFn on_done) override;
  void Submit(Request request) override {
    asio::post(ioc_, [this, request] {
      queue_.push_back(request);
      Dispatch();
    });
  }
  void Stop() override {
    if (!thread_.joinable()) return;
    work_.reset();
    ioc_.stop();
    thread_.join();
    for (auto& c : connections_) c->Close();
  }

  // On the io_context thread, for Connection.
  asio::io_context& ioc() { return ioc_; }
  const HttpOptions& options() const { return options_; }
  const tcp::resolver::results_type& endpoints() const { return endpoints_; }
  const PayloadSet& payloads() const { return *payloads_; }
  asio::ssl::context* tls_context() { return tls_context_.get(); }
  void OnConnected(Connection* c, beast::error_code ec);
  void OnIdle(Connection* c) {
    idle_.push_back(c);
    Dispatch();
  }
  void Complete(const Request& request, const std::string& error) {
    on_done_({request, Clock::now(), error});
  }

 private:
  void Dispatch() {
    while (!queue_.empty() && !idle_.empty()) {
      Connection* c = idle_.back();
      idle_.pop_back();
      const Request r = queue_.front();
      queue_.pop_front();
      c->Send(r);
    }
  }

  const HttpOptions options_;
  const PayloadSet* payloads_;
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  tcp::resolver::results_type endpoints_;
  std::unique_ptr<asio::ssl::context> tls_context_;  // HTTPS
  CompletionFn on_done_;
  // io_context thread only:
  std::vector<std::shared_ptr<Connection>> connections_;
  std::vector<Connection*> idle_;
  std::deque<Request> queue_;
  // Start-up: the first connection error, or all connected.
  int connecting_ = 0;
  std::promise<std::string> started_;
  bool start_reported_ = false;
};

Connection::Connection(HttpClient* client) : client_(client), stream_(client->ioc()) {}

void Connection::Connect() {
  ready_ = false;
  if (asio::ssl::context* ctx = client_->tls_context()) {
    tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(client_->ioc(), *ctx);
    const std::string& host = client_->options().host;
    SSL_set_tlsext_host_name(tls_->native_handle(), host.c_str());  // SNI
    tls_->set_verify_callback(asio::ssl::host_name_verification(host));
  }
  tcp().expires_after(client_->options().timeout);
  tcp().async_connect(client_->endpoints(), [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
    if (!ec) self->tcp().socket().set_option(tcp::no_delay(true), ec);
    if (ec || !self->tls_) return self->OnConnected(ec);
    self->tls_->async_handshake(asio::ssl::stream_base::client,
                                [self](beast::error_code hs) { self->OnConnected(hs); });
  });
}

void Connection::OnConnected(beast::error_code ec) {
  ready_ = !ec;
  client_->OnConnected(this, ec);
}

void Connection::Send(const Request& request) {
  current_ = request;
  const Payload& p = client_->payloads().For(request.seq);
  const HttpOptions& o = client_->options();
  req_ = {};
  req_.method(http::verb::post);
  req_.target(o.path);
  req_.version(11);
  req_.set(http::field::host, o.host + ":" + o.port);
  req_.keep_alive(true);
  if (!o.security.token.empty()) req_.set(http::field::authorization, "Bearer " + o.security.token);
  if (p.json_length > 0) {
    req_.set(http::field::content_type, "application/octet-stream");
    req_.set("Inference-Header-Content-Length", std::to_string(p.json_length));
  } else {
    req_.set(http::field::content_type, "application/json");
  }
  req_.body() = {p.body.data(), p.body.size()};
  req_.prepare_payload();
  tcp().expires_after(o.timeout);
  WithStream([this](auto& stream) {
    http::async_write(stream, req_, [self = shared_from_this(), &stream](beast::error_code ec, size_t) {
      if (ec) return self->OnReply(ec);
      self->parser_.emplace();
      self->parser_->body_limit(64 * 1024 * 1024);
      http::async_read(stream, self->buffer_, *self->parser_,
                       [self](beast::error_code ec2, size_t) { self->OnReply(ec2); });
    });
  });
}

void Connection::OnReply(beast::error_code ec) {
  if (ec) return Finish(ec == beast::error::timeout ? "timeout" : "io", false);
  const auto& res = parser_->get();
  const unsigned status = res.result_int();
  const bool keep = res.keep_alive();
  if (status != 200) return Finish("http_" + std::to_string(status), keep);
  // A v2 reply names its outputs; the JSON (or the binary reply's JSON
  // header) comes first in the body.
  if (res.body().find("\"outputs\"") == std::string::npos) return Finish("bad_reply", keep);
  Finish("", keep);
}

void Connection::Finish(const std::string& error, bool reusable) {
  parser_.reset();
  client_->Complete(current_, error);
  if (reusable) return client_->OnIdle(this);
  Close();
  Connect();
}

void Connection::Close() {
  beast::error_code ec;
  tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
  tcp().close();
  buffer_.clear();
  ready_ = false;
}

void HttpClient::OnConnected(Connection* c, beast::error_code ec) {
  if (!start_reported_) {
    if (ec) {
      start_reported_ = true;
      started_.set_value("cannot connect to " + options_.host + ":" + options_.port + ": " + ec.message());
      return;
    }
    idle_.push_back(c);
    if (--connecting_ == 0) {
      start_reported_ = true;
      started_.set_value("");
    }
    return;
  }
  if (!ec) return OnIdle(c);
  // A reconnect failed while running: fail one waiting request so the error
  // shows, and try again shortly.
  if (!queue_.empty()) {
    const Request r = queue_.front();
    queue_.pop_front();
    Complete(r, "connect");
  }
  auto timer = std::make_shared<asio::steady_timer>(ioc_, std::chrono::milliseconds(100));
  for (auto& owned : connections_) {
    if (owned.get() != c) continue;
    timer->async_wait([timer, conn = owned](beast::error_code) {
      conn->Close();
      conn->Connect();
    });
  }
}

core::StatusOr<std::unique_ptr<asio::ssl::context>> MakeClientTlsContext(const ClientSecurity& s) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  beast::error_code ec;
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  if (ctx->load_verify_file(s.tls_ca, ec)) return core::InvalidArgument("--tls-ca " + s.tls_ca + ": " + ec.message());
  ctx->set_verify_mode(asio::ssl::verify_peer, ec);
  if (s.tls_cert.empty()) return ctx;
  if (ctx->use_certificate_chain_file(s.tls_cert, ec)) {
    return core::InvalidArgument("--tls-cert " + s.tls_cert + ": " + ec.message());
  }
  if (ctx->use_private_key_file(s.tls_key, asio::ssl::context::pem, ec)) {
    return core::InvalidArgument("--tls-key " + s.tls_key + ": " + ec.message());
  }
  return ctx;
}

core::Status HttpClient::Start(CompletionFn on_done) {
  on_done_ = std::move(on_done);
  if (options_.security.tls()) {
    auto ctx = MakeClientTlsContext(options_.security);
    if (!ctx.ok()) return ctx.status();
    tls_context_ = std::move(*ctx);
  }
  try {
    tcp::resolver resolver(ioc_);
    endpoints_ = resolver.resolve(options_.host, options_.port);
  } catch (const boost::system::system_error& e) {
    return core::InvalidArgument("cannot resolve " + options_.host + ":" + options_.port + ": " + e.what());
  }
  const int n = std::max(options_.connections, 1);
  connecting_ = n;
  for (int i = 0; i < n; ++i) connections_.push_back(std::make_shared<Connection>(this));
  auto started = started_.get_future();
  asio::post(ioc_, [this] {
    for (auto& c : connections_) c->Connect();
  });
  thread_ = std::thread([this] { ioc_.run(); });
  if (started.wait_for(options_.timeout + std::chrono::seconds(1)) != std::future_status::ready) {
    Stop();
    return core::DeadlineExceeded("connecting to " + options_.host + ":" + options_.port + " timed out");
  }
  const std::string error = started.get();
  if (!error.empty()) {
    Stop();
    return core::Unavailable(error);
  }
  return core::Status::Ok();
}

}  // namespace

core::Status ParseHttpUrl(const std::string& url, std::string* host, std::string* port) {
  std::string rest = url;
  const bool https = rest.rfind("https://", 0) == 0;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  else if (https) rest = rest.substr(8);
  else if (rest.find("://") != std::string::npos) {
    return core::InvalidArgument("url '" + url + "': only http:// and https:// are supported");
  }
  rest = rest.substr(0, rest.find('/'));
  const size_t colon = rest.rfind(':');
  if (rest.empty()) return core::InvalidArgument("url '" + url + "': no host");
  *host = colon == std::string::npos ? rest : rest.substr(0, colon);
  *port = colon == std::string::npos ? (https ? "443" : "80") : rest.substr(colon + 1);
  if (host->empty() || port->empty()) return core::InvalidArgument("url '" + url + "': expected http://HOST:PORT");
  return core::Status::Ok();
}

std::unique_ptr<Target> MakeHttpTarget(const HttpOptions& options, const PayloadSet* payloads) {
  return std::make_unique<HttpClient>(options, payloads);
}

}  // namespace infergate::bench
