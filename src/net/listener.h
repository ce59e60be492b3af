// Listener: the listening socket of one frontend. Accepts on the first IO
// context, refuses what is beyond the registry's connection cap (closed at
// once, counted), and hands each admitted connection, as a Stream bound to
// the next IO context, to the frontend.
//
// A failed accept (e.g. EMFILE, out of file descriptors) is counted in
// infergate_accept_failures_total{frontend} and retried after a short
// pause, so a persistent failure neither stops accepting nor spins a thread.
//
// Thread-safety: Open from the frontend's owner thread; StopAccepting and
// the getters from any thread. The OnAccept callback runs on the first IO
// context's thread (plain) or on the stream's own IO thread after its TLS
// handshake; a connection being handshaken is tracked in the registry, so
// DrainAll/CloseAll end it too.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/metrics.h"
#include "core/status.h"
#include "net/connection_registry.h"
#include "net/io_threads.h"
#include "net/stream.h"
#include "net/tls_context.h"
#include "net/tls_handshake.h"

namespace infergate::net {

struct ListenerOptions {
  std::string address = "127.0.0.1";  // an IPv4 or IPv6 address
  int port = 0;                      // 0: any free port (see port())
  // Pause after a failed accept before the next.
  std::chrono::milliseconds accept_retry_delay{50};
  // Set: every connection is TLS, handshaken (net/tls_handshake.h) with
  // tls->Current() before the frontend gets it. Outlives the listener.
  TlsContext* tls = nullptr;
  std::chrono::milliseconds handshake_timeout{10000};
};

// "host:port", IPv6 hosts in brackets.
std::string HostPort(const std::string& address, int port);

class Listener {
 public:
  // Makes the frontend's connection from an admitted stream and starts it
  // (by posting to stream.get_executor()); returns it for the registry.
  // Null: the frontend declined it (the stream is closed by then).
  using OnAccept = std::function<std::shared_ptr<Connection>(Stream stream)>;

  // Binds and listens, then accepts on io->context(0) once its thread runs.
  // INVALID_ARGUMENT when the address is not an IP address; UNAVAILABLE
  // naming "<frontend>: cannot listen on host:port" when it cannot bind.
  // `io`, `registry` and `metrics` outlive the listener.
  static core::StatusOr<std::unique_ptr<Listener>> Open(const ListenerOptions& options, IoThreads* io,
                                                        ConnectionRegistry* registry,
                                                        core::MetricsRegistry* metrics, OnAccept on_accept);
  ~Listener();  // call StopAccepting and let the IO threads run it first
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Closes the listening socket: new connections are refused by the OS.
  // Posts to the accepting thread; idempotent.
  void StopAccepting();

  const std::string& address() const { return address_; }  // as bound
  int port() const { return port_; }                        // as bound

 private:
  Listener(IoThreads* io, ConnectionRegistry* registry, OnAccept on_accept, std::chrono::milliseconds retry_delay);
  void Accept();
  void OnAccepted(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);
  void StartTls(uint64_t id, boost::asio::ip::tcp::socket socket,
                std::unique_ptr<ConnectionRegistry::Registration> registration);
  void Admitted(uint64_t id, Stream stream);

  IoThreads* io_;
  ConnectionRegistry* registry_;
  OnAccept on_accept_;
  std::chrono::milliseconds retry_delay_;
  core::Counter* accept_failures_ = nullptr;
  TlsContext* tls_ = nullptr;
  TlsHandshakeSettings handshake_;
  boost::asio::ip::tcp::acceptor acceptor_;  // on io_->context(0)
  boost::asio::steady_timer retry_;          // on io_->context(0)
  std::string address_;
  int port_ = 0;
};

}  // namespace infergate::net
