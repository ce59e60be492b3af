#include "frontends/http/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/execution/context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>

#include "frontends/http/http_session.h"
#include "frontends/http/router.h"
#include "net/connection_registry.h"
#include "net/in_flight.h"
#include "net/io_threads.h"
#include "net/listener.h"
#include "net/tls_context.h"

namespace infergate::http {
namespace {

// How long Stop lets closed connections finish their handlers before the
// IO contexts are stopped.
constexpr std::chrono::milliseconds kStopGrace{1000};

}  // namespace

struct HttpServer::Impl {
  Impl(HttpOptions opts, core::MetricsRegistry* registry, net::TlsContext* tls_context)
      : options(std::move(opts)),
        tls(tls_context),
        metrics_registry(registry),
        metrics(registry),
        connections("http", options.max_connections, registry),
        io("http", options.io_threads) {}

  std::shared_ptr<net::Connection> Accept(net::Stream stream);

  HttpOptions options;
  net::TlsContext* tls;
  core::MetricsRegistry* metrics_registry;
  HttpMetrics metrics;
  std::atomic<bool> own_ready{false};
  std::atomic<bool> draining{false};
  net::InFlight in_flight;
  std::unique_ptr<auth::Policy> own_policy;  // auth off, when HttpDeps::policy is null
  // Large /infer bodies are decoded here, with a decoder of its own; the
  // worker goes before the router it reaches through the jobs.
  std::unique_ptr<protocol::InferRequestDecoder> worker_decoder;
  std::unique_ptr<Router> router;
  std::unique_ptr<engine::Worker> decode_worker;
  SessionShared shared;
  net::ConnectionRegistry connections;
  net::IoThreads io;
  // One pair of decoders per IO thread, by context index.
  std::vector<std::unique_ptr<protocol::InferRequestDecoder>> decoders;
  std::vector<std::unique_ptr<protocol::TelemetryDecoder>> telemetry_decoders;
  std::unique_ptr<net::Listener> listener;  // after io: closed before the contexts go
  std::string bound_address;
  bool stopped = false;
};

std::shared_ptr<net::Connection> HttpServer::Impl::Accept(net::Stream stream) {
  // The IO thread's decoders: by the index of the stream's context.
  const auto executor = stream.get_executor();
  const boost::asio::execution_context* context = &boost::asio::query(executor, boost::asio::execution::context);
  size_t index = 0;
  while (index + 1 < io.size() && &io.context(index) != context) ++index;
  stream.SetNoDelay();
  auto session = std::make_shared<HttpSession>(std::move(stream), shared, decoders[index].get(),
                                               telemetry_decoders[index].get());
  boost::asio::post(executor, [session] { session->Start(); });
  return session;
}

core::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(HttpOptions options, HttpDeps deps) {
  if (options.io_threads < 1) return core::InvalidArgument("http io_threads must be >= 1");
  if (!deps.inference || !deps.metrics) return core::Internal("http frontend: a dependency is missing");
  auto impl = std::make_unique<Impl>(std::move(options), deps.metrics, deps.tls);
  RouteContext ctx;
  ctx.inference = deps.inference;
  ctx.repository = deps.repository;
  ctx.metrics = deps.metrics;
  ctx.statistics = deps.statistics;
  ctx.http_metrics = &impl->metrics;
  ctx.model_control = deps.model_control;
  ctx.devices = deps.devices;
  ctx.shared_memory = deps.shared_memory;
  ctx.ready = deps.ready ? deps.ready : &impl->own_ready;
  if (!deps.policy) {
    ASSIGN_OR_RETURN(impl->own_policy, auth::Policy::Create({}, nullptr));
  }
  ctx.policy = deps.policy ? deps.policy : impl->own_policy.get();
  ctx.server_version = impl->options.server_version;
  ctx.origin = deps.origin;
  core::SharedMemoryRegistry* shared_memory = deps.shared_memory;
  protocol::DecodeLimits limits;
  limits.max_elements_per_tensor = impl->options.max_elements_per_tensor;
  if (impl->options.decode_offload_bytes > 0) {
    impl->worker_decoder = std::make_unique<protocol::InferRequestDecoder>(limits);
    impl->worker_decoder->set_shared_memory(shared_memory);
    impl->decode_worker = std::make_unique<engine::Worker>(impl->options.max_queued_decodes);
    ctx.decode_worker = impl->decode_worker.get();
    ctx.worker_decoder = impl->worker_decoder.get();
    ctx.decode_offload_bytes = impl->options.decode_offload_bytes;
  }
  impl->router = std::make_unique<Router>(std::move(ctx));
  impl->shared = SessionShared{&impl->options, impl->router.get(), &impl->metrics, &impl->draining, &impl->in_flight};
  for (size_t i = 0; i < impl->io.size(); ++i) {
    impl->decoders.push_back(std::make_unique<protocol::InferRequestDecoder>(limits));
    impl->decoders.back()->set_shared_memory(shared_memory);
    impl->telemetry_decoders.push_back(std::make_unique<protocol::TelemetryDecoder>());
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

core::Status HttpServer::Start() {
  Impl& s = *impl_;
  if (s.listener || s.stopped) return core::FailedPrecondition("http: started already");
  net::ListenerOptions options;
  options.address = s.options.address;
  options.port = s.options.port;
  options.tls = s.tls;
  options.handshake_timeout = s.options.tls_handshake_timeout;
  ASSIGN_OR_RETURN(s.listener, net::Listener::Open(options, &s.io, &s.connections, s.metrics_registry,
                                                   [&s](net::Stream stream) { return s.Accept(std::move(stream)); }));
  s.bound_address = s.listener->address();
  s.io.Start();
  spdlog::info("http: listening on {}{}", net::HostPort(s.bound_address, s.listener->port()),
               !s.tls ? "" : s.tls->mutual() ? " (HTTPS, mutual TLS)" : " (HTTPS)");
  return core::Status::Ok();
}

bool HttpServer::Drain(core::TimePoint deadline) {
  Impl& s = *impl_;
  s.draining = true;
  s.own_ready = false;
  if (s.listener) s.listener->StopAccepting();
  s.connections.DrainAll();
  return s.in_flight.WaitIdle(deadline);
}

void HttpServer::Stop() {
  Impl& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  s.draining = true;
  s.own_ready = false;
  if (s.listener) s.listener->StopAccepting();
  s.connections.CloseAll();
  s.io.Join(kStopGrace);
  // Bodies still queued are decoded and submitted; their replies go nowhere.
  if (s.decode_worker) s.decode_worker->Stop();
}

void HttpServer::SetReady(bool ready) { impl_->own_ready = ready; }

const std::string& HttpServer::address() const { return impl_->bound_address; }

int HttpServer::port() const { return impl_->listener ? impl_->listener->port() : 0; }

}  // namespace infergate::http
