#include "net/listener.h"

#include <boost/asio/post.hpp>

namespace infergate::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string HostPort(const std::string& address, int port) {
  const bool v6 = address.find(':') != std::string::npos && address.front() != '[';
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

Listener::Listener(IoThreads* io, ConnectionRegistry* registry, OnAccept on_accept,
                   std::chrono::milliseconds retry_delay)
    : io_(io),
      registry_(registry),
      on_accept_(std::move(on_accept)),
      retry_delay_(retry_delay),
      acceptor_(io->context(0)),
      retry_(io->context(0)) {}

Listener::~Listener() = default;

core::StatusOr<std::unique_ptr<Listener>> Listener::Open(const ListenerOptions& options, IoThreads* io,
                                                         ConnectionRegistry* registry,
                                                         core::MetricsRegistry* metrics, OnAccept on_accept) {
  const std::string& name = registry->frontend();
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(options.address, ec);
  if (ec) return core::InvalidArgument(name + ": '" + options.address + "' is not an IP address");
  std::unique_ptr<Listener> l(new Listener(io, registry, std::move(on_accept), options.accept_retry_delay));
  l->accept_failures_ = &metrics->GetCounter("infergate_accept_failures_total",
                                             "Failed accepts on a listening socket (e.g. out of file descriptors)",
                                             {{"frontend", name}});
  if (options.tls) {
    l->tls_ = options.tls;
    l->handshake_ = TlsHandshakeSettings::For(name, options.handshake_timeout,
                                              options.tls->options().alpn == "http/1.1", metrics);
  }
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(options.port));
  // No SO_REUSEPORT: a second server on a busy port must fail, not share it.
  if (!l->acceptor_.open(endpoint.protocol(), ec) &&
      !l->acceptor_.set_option(asio::socket_base::reuse_address(true), ec) && !l->acceptor_.bind(endpoint, ec) &&
      !l->acceptor_.listen(asio::socket_base::max_listen_connections, ec)) {
    const auto bound = l->acceptor_.local_endpoint(ec);
    l->address_ = bound.address().to_string();
    l->port_ = bound.port();
  }
  if (ec) {
    return core::Unavailable(name + ": cannot listen on " + HostPort(options.address, options.port) + ": " +
                             ec.message());
  }
  l->Accept();
  return l;
}

void Listener::Accept() {
  acceptor_.async_accept(io_->Next().get_executor(), [this](boost::system::error_code ec, tcp::socket socket) {
    OnAccepted(ec, std::move(socket));
  });
}

void Listener::OnAccepted(boost::system::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    accept_failures_->Increment();
    retry_.expires_after(retry_delay_);
    retry_.async_wait([this](boost::system::error_code wait_ec) {
      if (!wait_ec && acceptor_.is_open()) Accept();
    });
    return;
  }
  if (auto registration = registry_->Admit()) {
    const uint64_t id = registration->id();
    if (tls_) {
      StartTls(id, std::move(socket), std::move(registration));
    } else {
      Admitted(id, Stream(std::move(socket), std::move(registration)));
    }
  } else {
    boost::system::error_code ignored;
    socket.close(ignored);  // beyond max_connections: closed at once
  }
  Accept();
}

void Listener::StartTls(uint64_t id, tcp::socket socket,
                        std::unique_ptr<ConnectionRegistry::Registration> registration) {
  Stream stream(std::move(socket), tls_->Current(), std::move(registration));
  auto handshake = std::make_shared<TlsHandshake>(std::move(stream), &handshake_,
                                                  [this, id](Stream done) { Admitted(id, std::move(done)); });
  // Tracked before it starts, so that the connection it becomes replaces it.
  registry_->Track(id, handshake);
  handshake->Start();
}

void Listener::Admitted(uint64_t id, Stream stream) {
  if (auto connection = on_accept_(std::move(stream))) registry_->Track(id, connection);
}

void Listener::StopAccepting() {
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    retry_.cancel();
  });
}

}  // namespace infergate::net

