#include "frontends/grpc/grpc_frontend.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <chrono>

#include "frontends/grpc/context.h"
#include "frontends/grpc/h2_connection.h"
#include "frontends/grpc/service.h"
#include "net/connection_registry.h"
#include "net/io_threads.h"
#include "net/listener.h"
#include "net/tls_context.h"

namespace infergate::grpc_frontend {

namespace {

// How long Stop lets closed connections finish their handlers before the
// IO contexts are stopped.
constexpr std::chrono::milliseconds kStopGrace{1000};

}  // namespace

struct GrpcFrontend::Impl {
  Impl(GrpcFrontendOptions options, GrpcFrontendDeps deps)
      : ctx(std::move(options), deps),
        connections("grpc", ctx.options.max_connections, deps.metrics),
        io("grpc", ctx.options.io_threads) {
    h2.max_message_bytes = ctx.options.max_message_bytes;
    h2.idle_timeout = Seconds(ctx.options.idle_timeout_secs);
    h2.max_connection_buffer_bytes = ctx.options.max_connection_buffer_bytes;
    h2.buffered = &buffered;
    h2.max_connection_unsent_bytes = static_cast<size_t>(ctx.options.max_connection_unsent_bytes);
    h2.write_timeout = Seconds(ctx.options.write_timeout_secs);
    h2.stall_timeout = Seconds(ctx.options.stall_timeout_secs);
  }
  static std::chrono::steady_clock::duration Seconds(double secs) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(secs));
  }

  std::shared_ptr<net::Connection> Accept(net::Stream stream) {
    auto connection = std::make_shared<H2Connection>(std::move(stream), &service, h2);
    boost::asio::post(connection->executor(), [connection] { connection->Start(); });
    return connection;
  }

  FrontendContext ctx;
  ByteBudget buffered{ctx.options.max_buffered_bytes, ctx.metrics.buffered_bytes};  // before the connections, which use it
  H2Options h2;
  net::ConnectionRegistry connections;
  net::IoThreads io;
  Service service{&ctx};
  std::unique_ptr<net::Listener> listener;  // after io: closed before the contexts go
  bool stopped = false;
};

core::StatusOr<std::unique_ptr<GrpcFrontend>> GrpcFrontend::Create(GrpcFrontendOptions options,
                                                                   GrpcFrontendDeps deps) {
  if (!deps.repository || !deps.inference || !deps.metrics || !deps.clock) {
    return core::Internal("grpc frontend: a dependency is missing");
  }
  if (options.io_threads < 1) return core::InvalidArgument("grpc io_threads must be >= 1");
  if (options.idle_timeout_secs < 0) return core::InvalidArgument("grpc idle_timeout_secs must be >= 0");
  if (options.write_timeout_secs < 0 || options.stall_timeout_secs < 0) {
    return core::InvalidArgument("grpc write_timeout_secs and stall_timeout_secs must be >= 0");
  }
  return std::unique_ptr<GrpcFrontend>(new GrpcFrontend(std::make_unique<Impl>(std::move(options), deps)));
}

GrpcFrontend::GrpcFrontend(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GrpcFrontend::~GrpcFrontend() {
  Stop();
  impl_->ctx.WaitIdle();
}

core::Status GrpcFrontend::Start() {
  Impl& s = *impl_;
  if (s.listener || s.stopped) return core::FailedPrecondition("grpc: started already");
  net::ListenerOptions options;
  options.address = s.ctx.options.address;
  options.port = s.ctx.options.port;
  options.tls = s.ctx.deps.tls;
  options.handshake_timeout = s.ctx.options.tls_handshake_timeout;
  ASSIGN_OR_RETURN(s.listener, net::Listener::Open(options, &s.io, &s.connections, s.ctx.deps.metrics,
                                                   [&s](net::Stream stream) { return s.Accept(std::move(stream)); }));
  s.io.Start();
  spdlog::info("grpc: listening on {}{}", net::HostPort(options.address, s.listener->port()),
               !options.tls ? "" : options.tls->mutual() ? " (TLS, mutual TLS)" : " (TLS)");
  return core::Status::Ok();
}

int GrpcFrontend::port() const { return impl_->listener ? impl_->listener->port() : 0; }

bool GrpcFrontend::Drain(core::TimePoint deadline) {
  Impl& s = *impl_;
  if (!s.ctx.draining.exchange(true)) spdlog::info("grpc: draining");
  // New inference calls and streams are refused from here on; every
  // connection gets a GOAWAY and closes once its calls are done.
  if (s.listener) s.listener->StopAccepting();
  s.connections.DrainAll();
  const bool drained = s.ctx.WaitIdle(deadline);
  if (!drained) spdlog::warn("grpc: calls still open at the drain deadline");
  // A call is done once its reply is handed to its connection; the
  // connection writes it, then (drained) closes. Stop closes what is still
  // open, so Drain waits, until `deadline`, for the connections to close.
  s.connections.WaitAllClosed(deadline);
  return drained;
}

void GrpcFrontend::Stop() {
  Impl& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  s.ctx.draining = true;
  if (s.listener) s.listener->StopAccepting();
  // What is still open is cancelled: its requests still complete in the
  // engine, their replies go nowhere.
  s.connections.CloseAll();
  s.io.Join(kStopGrace);
  spdlog::info("grpc: stopped");
}

}  // namespace infergate::grpc_frontend
