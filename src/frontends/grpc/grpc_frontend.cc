#include "frontends/grpc/grpc_frontend.h"

#include <spdlog/spdlog.h>

#include <limits>

#include "frontends/grpc/context.h"
#include "frontends/grpc/service.h"

namespace infergate::grpc_frontend {

struct GrpcFrontend::Impl {
  Impl(GrpcFrontendOptions options, GrpcFrontendDeps deps) : ctx(std::move(options), deps), service(&ctx) {}
  FrontendContext ctx;
  Service service;
  std::unique_ptr<::grpc::Server> server;
  int port = 0;
  std::string address;
  bool stopped = false;
};

namespace {

std::string HostPort(const std::string& address, int port) {
  const bool v6 = address.find(':') != std::string::npos && address.front() != '[';
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

int ClampToInt(int64_t v) {
  return static_cast<int>(std::min<int64_t>(v, std::numeric_limits<int>::max()));
}

}  // namespace

core::StatusOr<std::unique_ptr<GrpcFrontend>> GrpcFrontend::Start(GrpcFrontendOptions options,
                                                                  GrpcFrontendDeps deps) {
  if (!deps.repository || !deps.inference || !deps.metrics || !deps.clock) {
    return core::Internal("grpc frontend: a dependency is missing");
  }
  auto impl = std::make_unique<Impl>(std::move(options), deps);
  const auto& o = impl->ctx.options;
  ::grpc::ServerBuilder builder;
  builder.AddListeningPort(HostPort(o.address, o.port), ::grpc::InsecureServerCredentials(), &impl->port);
  // gRPC sets SO_REUSEPORT by default, which would let a second server take
  // the same port silently; a busy port must be an error.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(&impl->service);
  builder.SetMaxReceiveMessageSize(ClampToInt(o.max_message_bytes));
  builder.SetMaxSendMessageSize(ClampToInt(o.max_message_bytes));
  impl->server = builder.BuildAndStart();
  if (!impl->server || impl->port == 0) {
    return core::Unavailable("grpc: cannot listen on " + HostPort(o.address, o.port));
  }
  impl->address = o.address;
  spdlog::info("grpc: listening on {}", HostPort(o.address, impl->port));
  return std::unique_ptr<GrpcFrontend>(new GrpcFrontend(std::move(impl)));
}

GrpcFrontend::GrpcFrontend(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GrpcFrontend::~GrpcFrontend() { Stop(); }

int GrpcFrontend::port() const { return impl_->port; }

void GrpcFrontend::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->ctx.draining = true;
  const auto grace = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(impl_->ctx.options.drain_secs));
  spdlog::info("grpc: draining (up to {} s)", impl_->ctx.options.drain_secs);
  // New inference calls are refused from here on; wait for the ones in flight
  // (gRPC's own Shutdown(deadline) would also wait out idle client
  // connections), then shut down: what is left is cancelled, and Shutdown
  // returns once every callback has run.
  if (!impl_->ctx.WaitIdle(std::chrono::steady_clock::now() + grace)) {
    spdlog::warn("grpc: calls still open after {} s are cancelled", impl_->ctx.options.drain_secs);
  }
  impl_->server->Shutdown(std::chrono::system_clock::now());
  impl_->server->Wait();
  spdlog::info("grpc: stopped");
}

}  // namespace infergate::grpc_frontend
