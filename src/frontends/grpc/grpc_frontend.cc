#include "frontends/grpc/grpc_frontend.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mutex>
#include <thread>
#include <vector>

#include "frontends/grpc/context.h"
#include "frontends/grpc/h2_connection.h"
#include "frontends/grpc/service.h"

namespace infergate::grpc_frontend {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using WorkGuard = net::executor_work_guard<net::io_context::executor_type>;

namespace {

// After a failed accept (e.g. out of file descriptors) the next one waits this
// long, so a persistent failure does not spin an IO thread.
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};

std::string HostPort(const std::string& address, int port) {
  const bool v6 = address.find(':') != std::string::npos && address.front() != '[';
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

// Runs an IO thread's loop. Handlers report errors as values; an exception
// (e.g. std::bad_alloc) is caught here, the one place, and the loop goes on.
void RunLoop(net::io_context* context) {
  while (true) {
    try {
      context->run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("grpc: IO thread: {}", e.what());
    }
  }
}

}  // namespace

struct GrpcFrontend::Impl {
  Impl(GrpcFrontendOptions options, GrpcFrontendDeps deps) : ctx(std::move(options), deps) {
    const int count = ctx.options.io_threads < 1 ? 1 : ctx.options.io_threads;
    for (int i = 0; i < count; ++i) {
      contexts.push_back(std::make_unique<net::io_context>(1));
      guards.push_back(net::make_work_guard(*contexts.back()));
    }
    h2.max_message_bytes = ctx.options.max_message_bytes;
  }

  void Accept();
  // Closes the listening socket (on its thread).
  void StopAccepting();
  // Calls `f` on every connection still open.
  template <typename F>
  void ForEachConnection(F f);

  FrontendContext ctx;
  H2Options h2;
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<WorkGuard> guards;
  Service service{&ctx};
  std::unique_ptr<tcp::acceptor> acceptor;  // on contexts[0]
  std::unique_ptr<net::steady_timer> accept_retry;
  size_t next_context = 0;  // contexts[0]'s thread only
  std::vector<std::thread> threads;

  std::mutex connections_mu;
  std::vector<std::weak_ptr<H2Connection>> connections;  // GUARDED_BY(connections_mu)

  int port = 0;
  bool stopped = false;
};

void GrpcFrontend::Impl::Accept() {
  const size_t index = next_context++ % contexts.size();
  acceptor->async_accept(contexts[index]->get_executor(), [this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
    if (ec) {
      spdlog::warn("grpc: accept failed: {}", ec.message());
      accept_retry->expires_after(kAcceptRetryDelay);
      accept_retry->async_wait([this](boost::system::error_code wait_ec) {
        if (!wait_ec) Accept();
      });
      return;
    }
    auto connection = std::make_shared<H2Connection>(std::move(socket), &service, h2);
    {
      std::lock_guard lock(connections_mu);
      std::erase_if(connections, [](const auto& c) { return c.expired(); });
      connections.push_back(connection);
    }
    net::post(connection->executor(), [connection] { connection->Start(); });
    Accept();
  });
}

void GrpcFrontend::Impl::StopAccepting() {
  net::post(*contexts[0], [this] {
    boost::system::error_code ignored;
    acceptor->close(ignored);
    accept_retry->cancel();
  });
}

template <typename F>
void GrpcFrontend::Impl::ForEachConnection(F f) {
  std::lock_guard lock(connections_mu);
  for (auto& weak : connections) {
    if (auto c = weak.lock()) f(*c);
  }
}

core::StatusOr<std::unique_ptr<GrpcFrontend>> GrpcFrontend::Create(GrpcFrontendOptions options,
                                                                   GrpcFrontendDeps deps) {
  if (!deps.repository || !deps.inference || !deps.metrics || !deps.clock) {
    return core::Internal("grpc frontend: a dependency is missing");
  }
  if (options.io_threads < 1) return core::InvalidArgument("grpc io_threads must be >= 1");
  return std::unique_ptr<GrpcFrontend>(new GrpcFrontend(std::make_unique<Impl>(std::move(options), deps)));
}

core::Status GrpcFrontend::Start() {
  Impl& s = *impl_;
  const auto& o = s.ctx.options;
  const std::string where = HostPort(o.address, o.port);
  boost::system::error_code ec;
  const auto address = net::ip::make_address(o.address, ec);
  if (ec) return core::InvalidArgument("grpc: '" + o.address + "' is not an IP address");
  s.acceptor = std::make_unique<tcp::acceptor>(*s.contexts[0]);
  s.accept_retry = std::make_unique<net::steady_timer>(*s.contexts[0]);
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(o.port));
  // No SO_REUSEPORT: a second server on a busy port must fail, not share it.
  if (!s.acceptor->open(endpoint.protocol(), ec) &&
      !s.acceptor->set_option(net::socket_base::reuse_address(true), ec) &&
      !s.acceptor->bind(endpoint, ec) && !s.acceptor->listen(net::socket_base::max_listen_connections, ec)) {
    s.port = s.acceptor->local_endpoint(ec).port();
  }
  if (ec) return core::Unavailable("grpc: cannot listen on " + where + ": " + ec.message());
  s.Accept();
  for (auto& context : s.contexts) s.threads.emplace_back(RunLoop, context.get());
  spdlog::info("grpc: listening on {}", HostPort(o.address, s.port));
  return core::Status::Ok();
}

GrpcFrontend::GrpcFrontend(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GrpcFrontend::~GrpcFrontend() { Stop(); }

int GrpcFrontend::port() const { return impl_->port; }

bool GrpcFrontend::Drain(core::TimePoint deadline) {
  Impl& s = *impl_;
  if (s.threads.empty()) return true;  // never started
  // New inference calls and streams are refused from here on; the ones in
  // flight are waited for.
  if (!s.ctx.draining.exchange(true)) s.StopAccepting();
  return s.ctx.WaitIdle(deadline);
}

void GrpcFrontend::Stop() {
  Impl& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  if (s.threads.empty()) return;
  if (!s.ctx.draining.exchange(true)) s.StopAccepting();
  if (!s.ctx.WaitIdle(std::chrono::steady_clock::now())) {
    spdlog::warn("grpc: calls still open at shutdown are cancelled");
  }
  s.ForEachConnection([](H2Connection& c) {
    c.GoAway();
    c.Close();
  });
  // Requests of cancelled calls still complete in the scheduler; their
  // replies go nowhere, but the connections' threads must outlive them.
  s.ctx.WaitIdle();
  for (auto& guard : s.guards) guard.reset();
  for (auto& thread : s.threads) thread.join();
  spdlog::info("grpc: stopped");
}

}  // namespace infergate::grpc_frontend
