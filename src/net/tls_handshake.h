// TlsHandshake: the server side of one TLS handshake, between accept and
// the frontend. The Listener makes one for each admitted connection of a
// TLS frontend; on success the frontend gets the Stream with the
// handshake done, on failure the connection is closed and counted.
//
// Before the handshake the first byte is peeked: a TLS connection starts
// with a handshake record (0x16). Anything else is refused as plain text;
// on an HTTP port (ALPN http/1.1) the client first gets a short plain
// "400 ... this port speaks TLS" reply, as nginx does.
//
// The whole of it (waiting for the first byte, the handshake, the 400) is
// bounded by `timeout`: a client that connects and sends nothing is closed
// then.
//
// Metrics (label frontend):
//   infergate_tls_handshake_failures_total{frontend,reason}   counter;
//     reason "timeout", "plaintext" (not TLS) or "handshake" (refused by
//     TLS: no shared version or cipher, bad or missing client certificate,
//     no ALPN protocol in common, the client left)
//
// Thread-safety: Start, and the callback, run on the stream's executor;
// Drain and Close (Connection) from any thread.
#pragma once

#include <array>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/metrics.h"
#include "net/connection_registry.h"
#include "net/stream.h"

namespace infergate::net {

// What every handshake of one listener shares; outlives its handshakes.
struct TlsHandshakeSettings {
  std::chrono::milliseconds timeout{10000};
  bool http_reply = false;  // plain HTTP gets a 400 before the close
  core::Counter* timeouts = nullptr;
  core::Counter* plaintext = nullptr;
  core::Counter* refused = nullptr;

  // The counters of `frontend` in `metrics`.
  static TlsHandshakeSettings For(const std::string& frontend, std::chrono::milliseconds timeout,
                                  bool http_reply, core::MetricsRegistry* metrics);
};

class TlsHandshake : public Connection, public std::enable_shared_from_this<TlsHandshake> {
 public:
  using Done = std::function<void(Stream stream)>;

  // `stream` is a TLS stream (Stream::tls() not null).
  TlsHandshake(Stream stream, const TlsHandshakeSettings* settings, Done done);
  // Posts the handshake to the stream's executor.
  void Start();
  // Both abandon the handshake (it is not yet a connection with requests).
  void Drain() override { Close(); }
  void Close() override;

 private:
  void OnReadable(boost::system::error_code ec);
  void Handshake();
  void RefusePlaintext();
  void Linger();
  void Fail(core::Counter* counter, const char* why, boost::system::error_code ec);

  Stream stream_;
  const TlsHandshakeSettings* settings_;
  Done done_;
  boost::asio::steady_timer timer_;
  bool finished_ = false;
  bool replying_ = false;  // the 400 to plain HTTP is under way
  std::array<char, 512> discard_{};
};

}  // namespace infergate::net
