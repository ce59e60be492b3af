#include "frontends/grpc/service.h"

#include "frontends/grpc/model_info.h"
#include "frontends/grpc/stream.h"

namespace infergate::grpc_frontend {
namespace {

::grpc::ServerUnaryReactor* FinishWith(::grpc::CallbackServerContext* c, const ::grpc::Status& status) {
  auto* reactor = c->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

// Finishes with the value's status, or copies the value into `out`.
template <typename T>
::grpc::ServerUnaryReactor* FinishWithValue(::grpc::CallbackServerContext* c, core::StatusOr<T> value, T* out) {
  if (!value.ok()) return FinishWith(c, ToGrpcStatus(value.status()));
  *out = std::move(*value);
  return FinishWith(c, ::grpc::Status::OK);
}

// A ModelInfer call. It counts as active (FrontendContext::Enter) from its
// start until gRPC is done with it (OnDone: the reply is sent or the call is
// gone), so a drain never shuts the server down under a reply being sent.
class InferReactor final : public ::grpc::ServerUnaryReactor {
 public:
  explicit InferReactor(FrontendContext* ctx) : ctx_(ctx) { ctx_->Enter(); }
  void OnDone() override {
    FrontendContext* ctx = ctx_;
    delete this;
    ctx->Leave();
  }
  // gRPC hands the OnDone of an application reactor to its executor thread
  // pool unless the reactor says its reactions may run inline, as the
  // library's DefaultReactor does. OnDone here only frees the reactor and
  // takes a short lock that is never held across a gRPC call, so it may run
  // where the call completes (the scheduler thread that called Finish, or the
  // transport's poller): that saves one thread hand-off per request, which
  // was a third of the round trip on two cores (docs/benchmarks.md). gRPC
  // marks this hook internal; `override` turns its removal into a build error.
  bool InternalInlineable() override { return true; }

 private:
  FrontendContext* ctx_;
};

}  // namespace

AdminWorker::AdminWorker() : thread_([this] { Run(); }) {}

AdminWorker::~AdminWorker() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool AdminWorker::Post(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || jobs_.size() >= kMaxQueued) return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void AdminWorker::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping and nothing left
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

::grpc::ServerUnaryReactor* Service::ServerLive(::grpc::CallbackServerContext* c, const inference::ServerLiveRequest*,
                                                inference::ServerLiveResponse* resp) {
  resp->set_live(true);
  return FinishWith(c, ::grpc::Status::OK);
}

::grpc::ServerUnaryReactor* Service::ServerReady(::grpc::CallbackServerContext* c,
                                                 const inference::ServerReadyRequest*,
                                                 inference::ServerReadyResponse* resp) {
  resp->set_ready(!ctx_->draining.load());
  return FinishWith(c, ::grpc::Status::OK);
}

::grpc::ServerUnaryReactor* Service::ModelReady(::grpc::CallbackServerContext* c,
                                                const inference::ModelReadyRequest* req,
                                                inference::ModelReadyResponse* resp) {
  auto ready = grpc_frontend::ModelReady(*ctx_->deps.repository, *req);
  if (!ready.ok()) return FinishWith(c, ToGrpcStatus(ready.status()));
  resp->set_ready(*ready);
  return FinishWith(c, ::grpc::Status::OK);
}

::grpc::ServerUnaryReactor* Service::ServerMetadata(::grpc::CallbackServerContext* c,
                                                    const inference::ServerMetadataRequest*,
                                                    inference::ServerMetadataResponse* resp) {
  resp->set_name(ctx_->options.server_name);
  resp->set_version(ctx_->options.server_version);
  for (const char* e : {"model_repository", "statistics", "model_configuration"}) resp->add_extensions(e);
  return FinishWith(c, ::grpc::Status::OK);
}

::grpc::ServerUnaryReactor* Service::ModelMetadata(::grpc::CallbackServerContext* c,
                                                   const inference::ModelMetadataRequest* req,
                                                   inference::ModelMetadataResponse* resp) {
  return FinishWithValue(c, grpc_frontend::ModelMetadata(*ctx_->deps.repository, *req), resp);
}

::grpc::ServerUnaryReactor* Service::ModelInfer(::grpc::CallbackServerContext* c,
                                                const inference::ModelInferRequest* req,
                                                inference::ModelInferResponse* resp) {
  auto* reactor = new InferReactor(ctx_);
  FrontendContext* ctx = ctx_;
  ctx->metrics.unary_requests->Increment();
  if (ctx->draining.load()) {
    ctx->metrics.CountRejected(core::StatusCode::kUnavailable);
    reactor->Finish(::grpc::Status(::grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
    return reactor;
  }
  auto request = std::make_unique<core::InferRequest>();
  if (core::Status st = DecodeInferRequest(*req, ctx->limits, request.get()); !st.ok()) {
    ctx->metrics.CountRejected(st.code());
    reactor->Finish(ToGrpcStatus(st));
    return reactor;
  }
  request->deadline = RequestDeadline(c->deadline(), *ctx->deps.clock);
  const ContentsForm form = ResponseFormFor(*req);
  ctx->metrics.in_flight->Add(1);
  request->on_complete = [ctx, reactor, resp, form](std::unique_ptr<core::InferResponse> r) {
    core::Status st = r->status;
    if (st.ok()) st = EncodeInferResponse(*r, form, resp);
    if (!st.ok()) ctx->metrics.CountRejected(st.code());
    ctx->metrics.in_flight->Add(-1);
    reactor->Finish(ToGrpcStatus(st));
  };
  ctx->deps.inference->Submit(std::move(request));
  return reactor;
}

::grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse>*
Service::ModelStreamInfer(::grpc::CallbackServerContext* c) {
  return new StreamReactor(ctx_, c);
}

::grpc::ServerUnaryReactor* Service::ModelConfig(::grpc::CallbackServerContext* c,
                                                 const inference::ModelConfigRequest* req,
                                                 inference::ModelConfigResponse* resp) {
  return FinishWithValue(c, grpc_frontend::ModelConfig(*ctx_->deps.repository, *req), resp);
}

::grpc::ServerUnaryReactor* Service::ModelStatistics(::grpc::CallbackServerContext* c,
                                                     const inference::ModelStatisticsRequest* req,
                                                     inference::ModelStatisticsResponse* resp) {
  return FinishWithValue(c, grpc_frontend::ModelStatistics(*ctx_->deps.repository, *ctx_->deps.metrics, *req),
                         resp);
}

::grpc::ServerUnaryReactor* Service::RepositoryIndex(::grpc::CallbackServerContext* c,
                                                     const inference::RepositoryIndexRequest* req,
                                                     inference::RepositoryIndexResponse* resp) {
  *resp = grpc_frontend::RepositoryIndex(*ctx_->deps.repository, *req);
  return FinishWith(c, ::grpc::Status::OK);
}

::grpc::ServerUnaryReactor* Service::RepositoryModelLoad(::grpc::CallbackServerContext* c,
                                                         const inference::RepositoryModelLoadRequest* req,
                                                         inference::RepositoryModelLoadResponse*) {
  if (!req->parameters().empty()) {
    return FinishWith(c, ::grpc::Status(::grpc::StatusCode::INVALID_ARGUMENT,
                                        "load parameters (config, file overrides) are not supported"));
  }
  core::ModelRepository* repository = ctx_->deps.repository;
  return RunAdmin(c, [repository, name = req->model_name()] {
    if (name.empty()) return core::InvalidArgument("model_name is empty");
    return repository->Load(name);
  });
}

::grpc::ServerUnaryReactor* Service::RepositoryModelUnload(::grpc::CallbackServerContext* c,
                                                           const inference::RepositoryModelUnloadRequest* req,
                                                           inference::RepositoryModelUnloadResponse*) {
  core::ModelRepository* repository = ctx_->deps.repository;
  return RunAdmin(c, [repository, name = req->model_name()] {
    if (name.empty()) return core::InvalidArgument("model_name is empty");
    return repository->Unload(name);
  });
}

::grpc::ServerUnaryReactor* Service::RunAdmin(::grpc::CallbackServerContext* c, std::function<core::Status()> job) {
  auto* reactor = c->DefaultReactor();
  const bool posted = admin_.Post([reactor, job = std::move(job)] { reactor->Finish(ToGrpcStatus(job())); });
  if (!posted) {
    reactor->Finish(::grpc::Status(::grpc::StatusCode::UNAVAILABLE,
                                   "too many repository operations queued; retry later"));
  }
  return reactor;
}

}  // namespace infergate::grpc_frontend
