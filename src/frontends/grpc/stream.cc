#include "frontends/grpc/stream.h"

#include "frontends/grpc/wire.h"

namespace infergate::grpc_frontend {
namespace {

inference::ModelStreamInferResponse ErrorResponse(const std::string& model, int64_t version, const std::string& id,
                                                  const core::Status& status) {
  inference::ModelStreamInferResponse r;
  r.set_error_message(status.ToString());
  auto* ir = r.mutable_infer_response();
  ir->set_model_name(model);
  if (version != core::kLatestVersion) ir->set_model_version(std::to_string(version));
  ir->set_id(id);
  return r;
}

// The framed error response; empty in the unlikely case it is over the
// message limit itself.
std::string FramedError(const std::string& model, int64_t version, const std::string& id,
                        const core::Status& status, int64_t max_bytes) {
  std::string framed;
  if (!AppendMessage(ErrorResponse(model, version, id, status), max_bytes, &framed).ok()) framed.clear();
  return framed;
}

}  // namespace

InferStream::InferStream(FrontendContext* ctx, Responder responder, std::optional<core::TimePoint> deadline,
                         auth::Grant grant)
    : ctx_(ctx), responder_(std::move(responder)), deadline_(deadline), grant_(std::move(grant)) {
  ctx_->metrics.streams_open->Add(1);
  ctx_->Enter();
}

bool InferStream::OnMessage(std::string message) {
  ctx_->metrics.stream_requests->Increment();
  auto wire = std::make_shared<inference::ModelInferRequest>();
  auto request = std::make_unique<core::InferRequest>();
  core::Status st = wire->ParseFromString(message)
                        ? DecodeInferRequest(wire, ctx_->limits, ctx_->deps.shared_memory, request.get())
                        : core::InvalidArgument("cannot parse the ModelInferRequest message");
  if (st.ok()) st = ctx_->policy->CheckModel(grant_, "grpc", request->model_name);
  if (!st.ok()) {
    ctx_->metrics.CountRejected(st.code());
    responder_.Send(FramedError(request->model_name, request->model_version, request->id, st,
                                ctx_->options.max_message_bytes));
    return true;
  }
  request->deadline = deadline_;
  request->on_complete = [self = shared_from_this(), encoding = ResponseEncodingFor(*wire, *request)](
                             std::unique_ptr<core::InferResponse> r) mutable {
    std::shared_ptr<InferStream> me = std::move(self);
    FrontendContext* ctx = me->ctx_;
    const bool leave = me->Complete(*r, encoding);
    me.reset();  // the last reference may go here, before the frontend may stop
    if (leave) ctx->Leave();
  };
  bool more;
  {
    std::lock_guard lock(mu_);
    ++in_flight_;
    more = in_flight_ < ctx_->options.max_stream_in_flight;
    paused_ = !more;
  }
  ctx_->metrics.in_flight->Add(1);
  ctx_->deps.inference->Submit(std::move(request));
  return more;
}

bool InferStream::Complete(const core::InferResponse& response, const ResponseEncoding& encoding) {
  ctx_->metrics.in_flight->Add(-1);
  core::Status status = response.status;
  inference::ModelStreamInferResponse out;
  if (status.ok()) status = EncodeInferResponse(response, encoding, out.mutable_infer_response());
  std::string framed;
  if (status.ok()) status = AppendMessage(out, ctx_->options.max_message_bytes, &framed);
  if (!status.ok()) {
    ctx_->metrics.CountRejected(status.code());
    framed = FramedError(response.model_name, response.model_version, response.id, status,
                         ctx_->options.max_message_bytes);
  }
  responder_.Send(std::move(framed));
  bool resume = false, finish = false, leave = false;
  {
    std::lock_guard lock(mu_);
    --in_flight_;
    if (paused_ && in_flight_ < ctx_->options.max_stream_in_flight) {
      paused_ = false;
      resume = true;
    }
    if (half_closed_ && in_flight_ == 0 && !finished_) finish = finished_ = true;
    if (closed_ && in_flight_ == 0 && !left_) leave = left_ = true;
  }
  if (resume) responder_.ResumeReading();
  if (finish) responder_.Finish(core::Status::Ok());
  return leave;
}

void InferStream::OnHalfClose() {
  bool finish = false;
  {
    std::lock_guard lock(mu_);
    half_closed_ = true;
    if (in_flight_ == 0 && !finished_) finish = finished_ = true;
  }
  if (finish) responder_.Finish(core::Status::Ok());
}

void InferStream::OnClose() {
  ctx_->metrics.streams_open->Add(-1);
  bool leave = false;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    if (in_flight_ == 0 && !left_) leave = left_ = true;
  }
  if (leave) ctx_->Leave();
}

}  // namespace infergate::grpc_frontend
