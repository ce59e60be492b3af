#include "frontends/grpc/service.h"

#include <algorithm>

#include "frontends/grpc/model_info.h"
#include "frontends/grpc/stream.h"
#include "frontends/grpc/wire.h"

namespace infergate::grpc_frontend {
namespace {

constexpr std::string_view kPrefix = "/inference.GRPCInferenceService/";
constexpr std::string_view kStreamInfer = "/inference.GRPCInferenceService/ModelStreamInfer";

// Parses the request message into `out`; false (and the call answered with
// INVALID_ARGUMENT, counted in `refused` when given) when it is not one.
template <typename Request>
bool Parse(const std::string& message, const Responder& r, Request* out, core::Counter* refused = nullptr) {
  if (out->ParseFromString(message)) return true;
  if (refused) refused->Increment();
  r.Finish(core::InvalidArgument("cannot parse the " + out->GetTypeName() + " message"));
  return false;
}

// Answers with `response`, or with the status that keeps it from being sent.
void Answer(const google::protobuf::MessageLite& response, int64_t max_bytes, const Responder& r) {
  std::string framed;
  if (core::Status st = AppendMessage(response, max_bytes, &framed); !st.ok()) return r.Finish(st);
  r.Reply(std::move(framed));
}

template <typename Response>
void AnswerValue(const core::StatusOr<Response>& value, int64_t max_bytes, const Responder& r) {
  if (!value.ok()) return r.Finish(value.status());
  Answer(*value, max_bytes, r);
}

}  // namespace

Service::Service(FrontendContext* context) : ctx_(context) {
  using auth::Access;
  const std::pair<const char*, Method> methods[] = {
      {"ServerLive", {&Service::ServerLive, Access::kOpen}},
      {"ServerReady", {&Service::ServerReady, Access::kOpen}},
      {"ModelReady", {&Service::ModelReady, Access::kRead}},
      {"ServerMetadata", {&Service::ServerMetadata, Access::kRead}},
      {"ModelMetadata", {&Service::ModelMetadata, Access::kRead}},
      {"ModelInfer", {&Service::ModelInfer, Access::kInfer}},
      {"ModelConfig", {&Service::ModelConfig, Access::kRead}},
      {"ModelStatistics", {&Service::ModelStatistics, Access::kRead}},
      {"RepositoryIndex", {&Service::RepositoryIndex, Access::kRead}},
      {"RepositoryModelLoad", {&Service::RepositoryModelLoad, Access::kAdmin}},
      {"RepositoryModelUnload", {&Service::RepositoryModelUnload, Access::kAdmin}},
      {"SystemSharedMemoryStatus", {&Service::SystemSharedMemoryStatus, Access::kAdmin}},
      {"SystemSharedMemoryRegister", {&Service::SystemSharedMemoryRegister, Access::kLocalAdmin}},
      {"SystemSharedMemoryUnregister", {&Service::SystemSharedMemoryUnregister, Access::kAdmin}},
  };
  for (const auto& [name, method] : methods) unary_.emplace(std::string(kPrefix) + name, method);
}

MethodTable::Kind Service::Find(std::string_view path) const {
  if (path == kStreamInfer) return Kind::kBidiStream;
  return unary_.count(path) ? Kind::kUnary : Kind::kUnknown;
}

core::Status Service::Admit(CallInfo* info) {
  // Find() said the method is known.
  const auth::Access access =
      info->method == kStreamInfer ? auth::Access::kInfer : unary_.find(info->method)->second.access;
  auth::Decision d = ctx_->policy->Check({"grpc", info->authorization, info->peer_loopback, access, {}});
  if (d.ok()) info->grant = std::move(d.grant);
  return d.status;
}

bool Service::AllowModel(const CallInfo& info, const std::string& model, const Responder& r) {
  core::Status st = ctx_->policy->CheckModel(info.grant, "grpc", model);
  if (st.ok()) return true;
  ctx_->metrics.CountRejected(st.code());
  r.Finish(st);
  return false;
}

void Service::OnUnary(const CallInfo& info, std::string message, Responder responder) {
  // Find() said the method is unary; Admit() admitted the call.
  const Method& method = unary_.find(info.method)->second;
  (this->*(method.handler))(info, message, responder);
}

std::shared_ptr<StreamHandler> Service::OnStream(const CallInfo& info, Responder responder) {
  // Admit() admitted the call.
  if (ctx_->draining.load()) {
    ctx_->metrics.CountRejected(core::StatusCode::kUnavailable);
    responder.Finish(core::Unavailable("the server is shutting down"));
    return nullptr;
  }
  return std::make_shared<InferStream>(ctx_, std::move(responder), RequestDeadline(info.timeout, *ctx_->deps.clock),
                                       info.grant);
}

void Service::OnRefused(const core::Status& status) { ctx_->metrics.CountRejected(status.code()); }

void Service::OnProtocolError(std::string_view) { ctx_->metrics.protocol_errors->Increment(); }

void Service::OnClosed(CloseReason reason) { ctx_->metrics.closed[static_cast<size_t>(reason)]->Increment(); }

void Service::ServerLive(const CallInfo&, const std::string& message, const Responder& r) {
  inference::ServerLiveRequest req;
  if (!Parse(message, r, &req)) return;
  inference::ServerLiveResponse resp;
  resp.set_live(true);
  Answer(resp, ctx_->options.max_message_bytes, r);
}

void Service::ServerReady(const CallInfo&, const std::string& message, const Responder& r) {
  inference::ServerReadyRequest req;
  if (!Parse(message, r, &req)) return;
  inference::ServerReadyResponse resp;
  const std::atomic<bool>* ready = ctx_->deps.ready;
  resp.set_ready(!ctx_->draining.load() && (!ready || ready->load()));
  Answer(resp, ctx_->options.max_message_bytes, r);
}

void Service::ModelReady(const CallInfo& info, const std::string& message, const Responder& r) {
  inference::ModelReadyRequest req;
  if (!Parse(message, r, &req) || !AllowModel(info, req.name(), r)) return;
  auto ready = grpc_frontend::ModelReady(*ctx_->deps.repository, req);
  if (!ready.ok()) return r.Finish(ready.status());
  inference::ModelReadyResponse resp;
  resp.set_ready(*ready);
  Answer(resp, ctx_->options.max_message_bytes, r);
}

void Service::ServerMetadata(const CallInfo&, const std::string& message, const Responder& r) {
  inference::ServerMetadataRequest req;
  if (!Parse(message, r, &req)) return;
  inference::ServerMetadataResponse resp;
  resp.set_name(ctx_->options.server_name);
  resp.set_version(ctx_->options.server_version);
  for (const char* e : {"model_repository", "statistics", "model_configuration"}) resp.add_extensions(e);
  if (ctx_->deps.shared_memory) resp.add_extensions("system_shared_memory");
  Answer(resp, ctx_->options.max_message_bytes, r);
}

void Service::ModelMetadata(const CallInfo& info, const std::string& message, const Responder& r) {
  inference::ModelMetadataRequest req;
  if (!Parse(message, r, &req) || !AllowModel(info, req.name(), r)) return;
  AnswerValue(grpc_frontend::ModelMetadata(*ctx_->deps.repository, req), ctx_->options.max_message_bytes, r);
}

void Service::ModelInfer(const CallInfo& info, const std::string& message, const Responder& r) {
  FrontendContext* ctx = ctx_;
  ctx->metrics.unary_requests->Increment();
  auto wire = std::make_shared<inference::ModelInferRequest>();
  auto request = std::make_unique<core::InferRequest>();
  core::Status st = wire->ParseFromString(message)
                        ? DecodeInferRequest(wire, ctx->limits, ctx->deps.shared_memory, request.get())
                        : core::InvalidArgument("cannot parse the ModelInferRequest message");
  if (st.ok()) st = ctx->policy->CheckModel(info.grant, "grpc", request->model_name);
  if (st.ok() && ctx->draining.load()) st = core::Unavailable("the server is shutting down");
  if (!st.ok()) {
    ctx->metrics.CountRejected(st.code());
    return r.Finish(st);
  }
  request->deadline = RequestDeadline(info.timeout, *ctx->deps.clock);
  ctx->Enter();
  ctx->metrics.in_flight->Add(1);
  request->on_complete = [ctx, responder = r, encoding = ResponseEncodingFor(*wire, *request)](
                             std::unique_ptr<core::InferResponse> resp) mutable {
    core::Status status = resp->status;
    std::string framed;
    if (status.ok()) {
      inference::ModelInferResponse out;
      status = EncodeInferResponse(*resp, encoding, &out);
      if (status.ok()) status = AppendMessage(out, ctx->options.max_message_bytes, &framed);
    }
    ctx->metrics.in_flight->Add(-1);
    {
      // The responder (and with it the connection) is let go before the
      // call leaves the active count, after which the frontend may stop.
      Responder reply = std::move(responder);
      if (status.ok()) {
        reply.Reply(std::move(framed));
      } else {
        ctx->metrics.CountRejected(status.code());
        reply.Finish(status);
      }
    }
    ctx->Leave();
  };
  ctx->deps.inference->Submit(std::move(request));
}

void Service::ModelConfig(const CallInfo& info, const std::string& message, const Responder& r) {
  inference::ModelConfigRequest req;
  if (!Parse(message, r, &req) || !AllowModel(info, req.name(), r)) return;
  AnswerValue(grpc_frontend::ModelConfig(*ctx_->deps.repository, req), ctx_->options.max_message_bytes, r);
}

void Service::ModelStatistics(const CallInfo& info, const std::string& message, const Responder& r) {
  inference::ModelStatisticsRequest req;
  if (!Parse(message, r, &req)) return;
  if (!req.name().empty() && !AllowModel(info, req.name(), r)) return;
  auto stats = grpc_frontend::ModelStatistics(*ctx_->deps.repository, ctx_->deps.statistics, req);
  if (stats.ok()) {  // every model's: those the token may use
    auto* list = stats->mutable_model_stats();
    list->erase(std::remove_if(list->begin(), list->end(),
                               [&](const auto& s) { return !info.grant.AllowsModel(s.name()); }),
                list->end());
  }
  AnswerValue(stats, ctx_->options.max_message_bytes, r);
}

void Service::RepositoryIndex(const CallInfo& info, const std::string& message, const Responder& r) {
  inference::RepositoryIndexRequest req;
  if (!Parse(message, r, &req)) return;
  auto index = grpc_frontend::RepositoryIndex(*ctx_->deps.repository, req);
  auto* models = index.mutable_models();
  models->erase(std::remove_if(models->begin(), models->end(),
                               [&](const auto& m) { return !info.grant.AllowsModel(m.name()); }),
                models->end());
  Answer(index, ctx_->options.max_message_bytes, r);
}

void Service::RepositoryModelLoad(const CallInfo& info, const std::string& message, const Responder& r) {
  inference::RepositoryModelLoadRequest req;
  if (!Parse(message, r, &req) || !AllowModel(info, req.model_name(), r)) return;
  if (!req.parameters().empty()) {
    return r.Finish(core::InvalidArgument("load parameters (config, file overrides) are not supported"));
  }
  RunAdmin(r, req.model_name(), true);
}

void Service::RepositoryModelUnload(const CallInfo& info, const std::string& message, const Responder& r) {
  inference::RepositoryModelUnloadRequest req;
  if (!Parse(message, r, &req) || !AllowModel(info, req.model_name(), r)) return;
  RunAdmin(r, req.model_name(), false);
}

void Service::RunAdmin(const Responder& r, std::string model, bool load) {
  engine::ModelControl* control = ctx_->deps.model_control;
  if (!control) return r.Finish(core::FailedPrecondition("this server has no repository API"));
  const int64_t max_bytes = ctx_->options.max_message_bytes;
  auto done = [r, max_bytes](core::Status st) {
    if (!st.ok()) return r.Finish(st);
    // Both responses are empty messages.
    Answer(inference::RepositoryModelLoadResponse(), max_bytes, r);
  };
  core::Status queued = load ? control->Load(std::move(model), std::move(done))
                             : control->Unload(std::move(model), std::move(done));
  if (!queued.ok()) r.Finish(queued);
}

void Service::FinishSharedMemory(const Responder& r, const core::Status& status) {
  if (!status.ok()) ctx_->metrics.shared_memory_rejected->Increment();
  r.Finish(status);
}

void Service::SystemSharedMemoryStatus(const CallInfo&, const std::string& message, const Responder& r) {
  inference::SystemSharedMemoryStatusRequest req;
  if (!Parse(message, r, &req, ctx_->metrics.shared_memory_rejected)) return;
  if (!ctx_->deps.shared_memory) {
    return FinishSharedMemory(r, core::FailedPrecondition(std::string(core::kSharedMemoryDisabled)));
  }
  auto regions = ctx_->deps.shared_memory->List(req.name());
  if (!regions.ok()) return FinishSharedMemory(r, regions.status());
  inference::SystemSharedMemoryStatusResponse resp;
  for (const auto& region : *regions) {
    auto& status = (*resp.mutable_regions())[region.name];
    status.set_name(region.name);
    status.set_key(region.key);
    status.set_offset(region.offset);
    status.set_byte_size(region.byte_size);
  }
  Answer(resp, ctx_->options.max_message_bytes, r);
}

void Service::SystemSharedMemoryRegister(const CallInfo&, const std::string& message, const Responder& r) {
  inference::SystemSharedMemoryRegisterRequest req;
  if (!Parse(message, r, &req, ctx_->metrics.shared_memory_rejected)) return;
  if (!ctx_->deps.shared_memory) {
    return FinishSharedMemory(r, core::FailedPrecondition(std::string(core::kSharedMemoryDisabled)));
  }
  core::Status st = ctx_->deps.shared_memory->Register(req.name(), req.key(), req.offset(), req.byte_size());
  if (!st.ok()) return FinishSharedMemory(r, st);
  Answer(inference::SystemSharedMemoryRegisterResponse(), ctx_->options.max_message_bytes, r);
}

void Service::SystemSharedMemoryUnregister(const CallInfo&, const std::string& message, const Responder& r) {
  inference::SystemSharedMemoryUnregisterRequest req;
  if (!Parse(message, r, &req, ctx_->metrics.shared_memory_rejected)) return;
  if (!ctx_->deps.shared_memory) {
    return FinishSharedMemory(r, core::FailedPrecondition(std::string(core::kSharedMemoryDisabled)));
  }
  if (req.name().empty()) {
    ctx_->deps.shared_memory->UnregisterAll();
  } else if (core::Status st = ctx_->deps.shared_memory->Unregister(req.name()); !st.ok()) {
    return FinishSharedMemory(r, st);
  }
  Answer(inference::SystemSharedMemoryUnregisterResponse(), ctx_->options.max_message_bytes, r);
}

}  // namespace infergate::grpc_frontend
