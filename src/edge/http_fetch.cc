#include "edge/http_fetch.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <functional>

namespace infergate::edge {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using beast::error_code;
using core::Status;

// Runs `ioc` until the one operation `start` begins has completed; returns
// its error.
template <typename Start>
error_code Run(asio::io_context& ioc, Start start) {
  error_code result;
  start([&result](error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

Status Fail(SyncFailure* why, SyncFailure kind, std::string message) {
  *why = kind;
  return core::Unavailable(std::move(message));
}

bool EndedEarly(const error_code& ec) {
  return ec == http::error::partial_message || ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated ||
         ec == beast::error::timeout;
}

// Checks the response header; the body is read only when it says OK.
using HeaderCheck = std::function<Status(const http::response_header<>&, SyncFailure*)>;

}  // namespace

std::string_view SyncFailureName(SyncFailure failure) {
  switch (failure) {
    case SyncFailure::kUnreachable: return "unreachable";
    case SyncFailure::kHttpStatus: return "http_status";
    case SyncFailure::kBadManifest: return "bad_manifest";
    case SyncFailure::kSizeMismatch: return "size_mismatch";
    case SyncFailure::kTruncated: return "truncated";
    case SyncFailure::kSha256Mismatch: return "sha256_mismatch";
    case SyncFailure::kDoesNotLoad: return "does_not_load";
    case SyncFailure::kDisk: return "disk";
  }
  return "disk";
}

core::StatusOr<ParsedUrl> ParseUrl(const std::string& url) {
  ParsedUrl out;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    out.tls = true;
    rest = url.substr(8);
  } else {
    return core::InvalidArgument("URL must start with http:// or https://: '" + url + "'");
  }
  const size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  out.port = out.tls ? "443" : "80";
  if (!authority.empty() && authority[0] == '[') {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == std::string::npos) return core::InvalidArgument("bad IPv6 address in '" + url + "'");
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') out.port = authority.substr(close + 2);
  } else if (const size_t colon = authority.rfind(':'); colon != std::string::npos) {
    out.host = authority.substr(0, colon);
    out.port = authority.substr(colon + 1);
  } else {
    out.host = authority;
  }
  if (out.host.empty() || out.port.empty() || authority.find('@') != std::string::npos) {
    return core::InvalidArgument("URL needs a host (and no user info): '" + url + "'");
  }
  return out;
}

struct HttpFetcher::Impl {
  HttpFetcherOptions options;
  asio::io_context ioc;
  asio::ssl::context ssl{asio::ssl::context::tls_client};

  template <typename Body>
  Status Fetch(const std::string& url, http::response_parser<Body>& parser, const HeaderCheck& check,
               SyncFailure* why);
  template <typename Stream, typename Body>
  Status Exchange(Stream& stream, beast::tcp_stream& lowest, const ParsedUrl& url,
                  http::response_parser<Body>& parser, const HeaderCheck& check, SyncFailure* why);
  Status Connect(const ParsedUrl& url, beast::tcp_stream& stream, SyncFailure* why);
};

Status HttpFetcher::Impl::Connect(const ParsedUrl& url, beast::tcp_stream& stream, SyncFailure* why) {
  tcp::resolver resolver(ioc);
  error_code ec;
  auto endpoints = resolver.resolve(url.host, url.port, ec);
  if (ec) return Fail(why, SyncFailure::kUnreachable, "cannot resolve " + url.host + ": " + ec.message());
  stream.expires_after(options.timeout);
  ec = Run(ioc, [&](auto handler) { stream.async_connect(endpoints, handler); });
  if (ec) return Fail(why, SyncFailure::kUnreachable, "cannot connect to " + url.host + ":" + url.port + ": " + ec.message());
  return Status::Ok();
}

template <typename Stream, typename Body>
Status HttpFetcher::Impl::Exchange(Stream& stream, beast::tcp_stream& lowest, const ParsedUrl& url,
                                   http::response_parser<Body>& parser, const HeaderCheck& check,
                                   SyncFailure* why) {
  http::request<http::empty_body> request{http::verb::get, url.target, 11};
  request.set(http::field::host, url.host);
  request.set(http::field::user_agent, options.user_agent);
  request.set(http::field::connection, "close");
  if (!options.token.empty()) request.set(http::field::authorization, "Bearer " + options.token);
  lowest.expires_after(options.timeout);
  error_code ec = Run(ioc, [&](auto handler) { http::async_write(stream, request, handler); });
  if (ec) return Fail(why, SyncFailure::kUnreachable, "cannot send the request: " + ec.message());
  beast::flat_buffer buffer;
  lowest.expires_after(options.timeout);
  ec = Run(ioc, [&](auto handler) { http::async_read_header(stream, buffer, parser, handler); });
  if (ec == http::error::body_limit) return Fail(why, SyncFailure::kSizeMismatch, "the origin sends more bytes than expected");
  if (ec) return Fail(why, SyncFailure::kUnreachable, "no answer: " + ec.message());
  RETURN_IF_ERROR(check(parser.get().base(), why));
  while (!parser.is_done()) {
    lowest.expires_after(options.timeout);
    ec = Run(ioc, [&](auto handler) { http::async_read_some(stream, buffer, parser, handler); });
    if (ec == http::error::body_limit) {
      return Fail(why, SyncFailure::kSizeMismatch, "the origin sends more bytes than expected");
    }
    if (ec && EndedEarly(ec)) {
      return Fail(why, SyncFailure::kTruncated, "the transfer ended early (" + ec.message() + ")");
    }
    if (ec) return Fail(why, SyncFailure::kUnreachable, "reading the answer: " + ec.message());
  }
  return Status::Ok();
}

template <typename Body>
Status HttpFetcher::Impl::Fetch(const std::string& url_text, http::response_parser<Body>& parser,
                                const HeaderCheck& check, SyncFailure* why) {
  auto url = ParseUrl(url_text);
  if (!url.ok()) return Fail(why, SyncFailure::kBadManifest, std::string(url.status().message()));
  if (!url->tls) {
    beast::tcp_stream stream(ioc);
    RETURN_IF_ERROR(Connect(*url, stream, why));
    return Exchange(stream, stream, *url, parser, check, why);
  }
  beast::ssl_stream<beast::tcp_stream> stream(ioc, ssl);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), url->host.c_str())) {
    return Fail(why, SyncFailure::kUnreachable, "cannot set the TLS server name " + url->host);
  }
  stream.set_verify_mode(asio::ssl::verify_peer);
  stream.set_verify_callback(asio::ssl::host_name_verification(url->host));
  RETURN_IF_ERROR(Connect(*url, beast::get_lowest_layer(stream), why));
  beast::get_lowest_layer(stream).expires_after(options.timeout);
  error_code ec = Run(ioc, [&](auto handler) { stream.async_handshake(asio::ssl::stream_base::client, handler); });
  if (ec) return Fail(why, SyncFailure::kUnreachable, "TLS handshake with " + url->host + " failed: " + ec.message());
  return Exchange(stream, beast::get_lowest_layer(stream), *url, parser, check, why);
}

core::StatusOr<std::unique_ptr<HttpFetcher>> HttpFetcher::Create(HttpFetcherOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  error_code ec;
  if (impl->options.ca_file.empty()) {
    impl->ssl.set_default_verify_paths(ec);
  } else {
    impl->ssl.load_verify_file(impl->options.ca_file, ec);
  }
  if (ec) {
    return core::InvalidArgument("repository_origin.tls.ca_file '" + impl->options.ca_file +
                                 "' cannot be loaded: " + ec.message());
  }
  return std::unique_ptr<HttpFetcher>(new HttpFetcher(std::move(impl)));
}

HttpFetcher::HttpFetcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpFetcher::~HttpFetcher() = default;

namespace {

Status CheckOk(const http::response_header<>& header, SyncFailure* why) {
  if (header.result() == http::status::ok) return Status::Ok();
  return Fail(why, SyncFailure::kHttpStatus,
              "HTTP " + std::to_string(header.result_int()) + " " + std::string(header.reason()));
}

}  // namespace

Status HttpFetcher::Get(const std::string& url, size_t max_bytes, std::string* body, SyncFailure* why) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_bytes);
  RETURN_IF_ERROR(impl_->Fetch(url, parser, &CheckOk, why));
  *body = std::move(parser.get().body());
  return Status::Ok();
}

Status HttpFetcher::Download(const std::string& url, const std::filesystem::path& file, uint64_t size,
                             SyncFailure* why) {
  http::response_parser<http::file_body> parser;
  parser.body_limit(size);
  const std::string expected = std::to_string(size);
  auto check = [&](const http::response_header<>& header, SyncFailure* w) -> Status {
    RETURN_IF_ERROR(CheckOk(header, w));
    if (auto length = parser.content_length(); length && *length < size) {
      return Fail(w, SyncFailure::kTruncated,
                  "the origin sends " + std::to_string(*length) + " of the " + expected + " bytes the manifest lists");
    }
    error_code ec;
    parser.get().body().open(file.c_str(), beast::file_mode::write, ec);
    if (ec) return Fail(w, SyncFailure::kDisk, file.string() + ": cannot be created: " + ec.message());
    return Status::Ok();
  };
  Status st = impl_->Fetch(url, parser, check, why);
  if (parser.get().body().is_open()) parser.get().body().close();
  if (!st.ok()) return st;
  std::error_code ec;
  const uintmax_t got = std::filesystem::file_size(file, ec);
  if (ec) return Fail(why, SyncFailure::kDisk, file.string() + ": " + ec.message());
  if (got < size) {
    return Fail(why, SyncFailure::kTruncated, "got " + std::to_string(got) + " of the " + expected + " bytes");
  }
  return Status::Ok();
}

}  // namespace infergate::edge
