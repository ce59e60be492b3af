#include "frontends/http/http_server.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <exception>
#include <thread>
#include <vector>

#include "frontends/http/blocking_worker.h"
#include "frontends/http/http_session.h"
#include "frontends/http/router.h"

namespace infergate::http {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using WorkGuard = net::executor_work_guard<net::io_context::executor_type>;

constexpr size_t kMaxQueuedRepositoryJobs = 16;
// After a failed accept (e.g. out of file descriptors) the next one waits this
// long, so a persistent failure does not spin an IO thread.
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};

// Runs an IO thread's loop. Handlers report errors as values; an exception
// (e.g. std::bad_alloc) is caught here, the one place, and the loop goes on.
void RunLoop(net::io_context* context) {
  while (true) {
    try {
      context->run();
      return;
    } catch (const std::exception&) {
      continue;
    }
  }
}

}  // namespace

struct HttpServer::Impl {
  Impl(HttpOptions opts, core::MetricsRegistry* registry)
      : options(std::move(opts)), metrics(registry), worker(kMaxQueuedRepositoryJobs) {}

  void Accept();

  HttpOptions options;
  HttpMetrics metrics;
  BlockingWorker worker;
  std::atomic<bool> ready{false};
  std::unique_ptr<Router> router;
  SessionShared shared;
  // One io_context, work guard and pair of decoders per IO thread.
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<WorkGuard> guards;
  std::vector<std::unique_ptr<protocol::InferRequestDecoder>> decoders;
  std::vector<std::unique_ptr<protocol::TelemetryDecoder>> telemetry_decoders;
  std::unique_ptr<tcp::acceptor> acceptor;  // on contexts[0]
  std::unique_ptr<net::steady_timer> accept_retry;  // on contexts[0]
  size_t next_context = 0;                  // used on contexts[0]'s thread only
  std::vector<std::thread> threads;
  std::string bound_address;
  int bound_port = 0;
  bool stopped = false;
};

void HttpServer::Impl::Accept() {
  const size_t index = next_context;
  next_context = (next_context + 1) % contexts.size();
  acceptor->async_accept(contexts[index]->get_executor(),
                         [this, index](boost::system::error_code ec, tcp::socket socket) {
                           if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
                           if (ec) {
                             accept_retry->expires_after(kAcceptRetryDelay);
                             accept_retry->async_wait([this](boost::system::error_code wait_ec) {
                               if (!wait_ec) Accept();
                             });
                             return;
                           }
                           boost::system::error_code ignored;
                           socket.set_option(tcp::no_delay(true), ignored);
                           auto session = std::make_shared<HttpSession>(
                               std::move(socket), shared, decoders[index].get(),
                               telemetry_decoders[index].get());
                           net::post(*contexts[index], [session] { session->Start(); });
                           Accept();
                         });
}

core::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(HttpOptions options,
                                                               core::InferenceService* inference,
                                                               core::ModelRepository* repository,
                                                               core::MetricsRegistry* metrics,
                                                               pipeline::DeviceContracts* contracts,
                                                               core::SharedMemoryRegistry* shared_memory,
                                                               const core::StatisticsSource* statistics) {
  if (options.io_threads < 1) return core::InvalidArgument("http io_threads must be >= 1");
  auto impl = std::make_unique<Impl>(std::move(options), metrics);
  RouteContext ctx;
  ctx.inference = inference;
  ctx.repository = repository;
  ctx.metrics = metrics;
  ctx.statistics = statistics;
  ctx.http_metrics = &impl->metrics;
  ctx.worker = &impl->worker;
  ctx.contracts = contracts;
  ctx.shared_memory = shared_memory;
  ctx.ready = &impl->ready;
  ctx.server_version = impl->options.server_version;
  ctx.allow_model_control = impl->options.allow_model_control;
  impl->router = std::make_unique<Router>(std::move(ctx));
  impl->shared = SessionShared{&impl->options, impl->router.get(), &impl->metrics};
  protocol::DecodeLimits limits;
  limits.max_elements_per_tensor = impl->options.max_elements_per_tensor;
  for (int i = 0; i < impl->options.io_threads; ++i) {
    impl->contexts.push_back(std::make_unique<net::io_context>(1));
    impl->guards.push_back(net::make_work_guard(*impl->contexts.back()));
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
  const std::string where = s.options.address + ":" + std::to_string(s.options.port);
  boost::system::error_code ec;
  const auto address = net::ip::make_address(s.options.address, ec);
  if (ec) {
    return core::InvalidArgument("http: '" + s.options.address + "' is not an IP address");
  }
  s.acceptor = std::make_unique<tcp::acceptor>(*s.contexts[0]);
  s.accept_retry = std::make_unique<net::steady_timer>(*s.contexts[0]);
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(s.options.port));
  if (!s.acceptor->open(endpoint.protocol(), ec) &&
      !s.acceptor->set_option(net::socket_base::reuse_address(true), ec) &&
      !s.acceptor->bind(endpoint, ec) && !s.acceptor->listen(net::socket_base::max_listen_connections, ec)) {
    const auto bound = s.acceptor->local_endpoint(ec);
    s.bound_address = bound.address().to_string();
    s.bound_port = bound.port();
  }
  if (ec) return core::Unavailable("http: cannot listen on " + where + ": " + ec.message());
  s.Accept();
  for (auto& context : s.contexts) s.threads.emplace_back(RunLoop, context.get());
  return core::Status::Ok();
}

void HttpServer::Stop() {
  Impl& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  s.ready = false;
  for (auto& guard : s.guards) guard.reset();
  for (auto& context : s.contexts) context->stop();
  for (auto& thread : s.threads) thread.join();
  if (s.acceptor) {  // no IO thread runs any more
    boost::system::error_code ignored;
    s.acceptor->close(ignored);
  }
  s.worker.Stop();
}

void HttpServer::SetReady(bool ready) { impl_->ready = ready; }

const std::string& HttpServer::address() const { return impl_->bound_address; }

int HttpServer::port() const { return impl_->bound_port; }

}  // namespace infergate::http
