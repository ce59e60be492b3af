#include "net/tls_handshake.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace infergate::net {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

constexpr unsigned char kTlsHandshakeRecord = 0x16;

constexpr std::string_view kPlainHttpReply =
    "HTTP/1.1 400 Bad Request\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 55\r\n"
    "Connection: close\r\n"
    "\r\n"
    "This port speaks HTTPS (TLS); use https:// to reach it.\n";

}  // namespace

TlsHandshakeSettings TlsHandshakeSettings::For(const std::string& frontend,
                                               std::chrono::milliseconds timeout, bool http_reply,
                                               core::MetricsRegistry* metrics) {
  constexpr const char* kHelp = "TLS connections closed before the handshake completed, by reason";
  auto counter = [&](const char* reason) {
    return &metrics->GetCounter("infergate_tls_handshake_failures_total", kHelp,
                                {{"frontend", frontend}, {"reason", reason}});
  };
  TlsHandshakeSettings s;
  s.timeout = timeout;
  s.http_reply = http_reply;
  s.timeouts = counter("timeout");
  s.plaintext = counter("plaintext");
  s.refused = counter("handshake");
  return s;
}

TlsHandshake::TlsHandshake(Stream stream, const TlsHandshakeSettings* settings, Done done)
    : stream_(std::move(stream)),
      settings_(settings),
      done_(std::move(done)),
      timer_(stream_.get_executor()) {}

void TlsHandshake::Start() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->timer_.expires_after(self->settings_->timeout);
    self->timer_.async_wait([self](error_code ec) {
      // After a 400 to plain HTTP the refusal is counted already.
      if (!ec)
        self->Fail(self->replying_ ? nullptr : self->settings_->timeouts, "no handshake in time",
                   {});
    });
    self->stream_.tcp().async_wait(asio::socket_base::wait_read,
                                   [self](error_code ec) { self->OnReadable(ec); });
  });
}

void TlsHandshake::Close() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->finished_) return;
    self->finished_ = true;
    self->timer_.cancel();
    self->stream_.Close();
  });
}

void TlsHandshake::OnReadable(error_code ec) {
  if (finished_) return;
  unsigned char first = 0;
  if (!ec) stream_.tcp().receive(asio::buffer(&first, 1), asio::socket_base::message_peek, ec);
  if (ec) return Fail(settings_->refused, "the client left", ec);
  if (first == kTlsHandshakeRecord) return Handshake();
  if (settings_->http_reply && first >= 'A' && first <= 'Z') return RefusePlaintext();
  Fail(settings_->plaintext, "not TLS", {});
}

void TlsHandshake::Handshake() {
  stream_.tls()->async_handshake(
      asio::ssl::stream_base::server, [self = shared_from_this()](error_code ec) {
        if (self->finished_) return;
        if (ec) return self->Fail(self->settings_->refused, "handshake refused", ec);
        self->finished_ = true;
        self->timer_.cancel();
        self->stream_.SetHandshakeDone();
        self->done_(std::move(self->stream_));
      });
}

// Plain HTTP on the TLS port: what has arrived is read, the 400 written,
// then the client's remaining bytes are discarded until it closes (or the
// timer ends it), so that the reply is not lost to a reset.
void TlsHandshake::RefusePlaintext() {
  settings_->plaintext->Increment();
  replying_ = true;
  spdlog::debug("tls: plain HTTP from {} refused with 400", stream_.peer().address().to_string());
  error_code ignored;
  stream_.tcp().non_blocking(true, ignored);
  while (stream_.tcp().read_some(asio::buffer(discard_), ignored) > 0 && !ignored) {
  }
  asio::async_write(stream_.tcp(), asio::buffer(kPlainHttpReply.data(), kPlainHttpReply.size()),
                    [self = shared_from_this()](error_code ec, size_t) {
                      if (ec || self->finished_) return self->Fail(nullptr, "plain HTTP", ec);
                      self->stream_.ShutdownSend();
                      self->Linger();
                    });
}

void TlsHandshake::Linger() {
  stream_.tcp().async_read_some(asio::buffer(discard_),
                                [self = shared_from_this()](error_code ec, size_t) {
                                  if (ec || self->finished_)
                                    return self->Fail(nullptr, "plain HTTP", ec);
                                  self->Linger();
                                });
}

void TlsHandshake::Fail(core::Counter* counter, const char* why, error_code ec) {
  if (finished_) return;
  finished_ = true;
  if (counter) counter->Increment();
  if (counter) {
    spdlog::debug("tls: connection from {} closed: {}{}{}", stream_.peer().address().to_string(),
                  why, ec ? ": " : "", ec ? ec.message() : "");
  }
  timer_.cancel();
  stream_.Close();
}

}  // namespace infergate::net
