#include "frontends/grpc/stream.h"

namespace infergate::grpc_frontend {
namespace {

std::unique_ptr<inference::ModelStreamInferResponse> ErrorResponse(const core::InferRequest& request,
                                                                   const core::Status& status) {
  auto r = std::make_unique<inference::ModelStreamInferResponse>();
  r->set_error_message(status.ToString());
  auto* ir = r->mutable_infer_response();
  ir->set_model_name(request.model_name);
  if (request.model_version != core::kLatestVersion) ir->set_model_version(std::to_string(request.model_version));
  ir->set_id(request.id);
  return r;
}

}  // namespace

StreamReactor::StreamReactor(FrontendContext* ctx, ::grpc::CallbackServerContext* call)
    : ctx_(ctx), call_(call) {
  ctx_->metrics.streams_open->Add(1);
  ctx_->Enter();
  if (ctx_->draining.load()) {
    finished_ = true;
    Finish(::grpc::Status(::grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
    return;
  }
  reading_ = true;
  StartRead(&read_);
}

void StreamReactor::OnReadDone(bool ok) {
  if (!ok) {
    Actions a;
    {
      std::lock_guard lock(mu_);
      reading_ = false;
      reads_done_ = true;
      Plan(&a);
    }
    return Act(a);
  }
  ctx_->metrics.stream_requests->Increment();
  auto request = std::make_unique<core::InferRequest>();
  core::Status st = DecodeInferRequest(read_, ctx_->limits, request.get());
  const ContentsForm form = ResponseFormFor(read_);
  // read_ may be reused from here on: the request holds copies.
  if (!st.ok()) {
    ctx_->metrics.CountRejected(st.code());
    Actions a;
    {
      std::lock_guard lock(mu_);
      reading_ = false;
    }
    Respond(ErrorResponse(*request, st), /*was_in_flight=*/false);
    {
      std::lock_guard lock(mu_);
      if (!finished_ && !cancelled_) a.read = reading_ = true;
    }
    return Act(a);
  }
  request->deadline = RequestDeadline(call_->deadline(), *ctx_->deps.clock);
  request->on_complete = [this, form](std::unique_ptr<core::InferResponse> r) {
    core::Status status = r->status;
    auto response = std::make_unique<inference::ModelStreamInferResponse>();
    if (status.ok()) status = EncodeInferResponse(*r, form, response->mutable_infer_response());
    if (!status.ok()) {
      ctx_->metrics.CountRejected(status.code());
      core::InferRequest failed;
      failed.model_name = r->model_name;
      failed.model_version = r->model_version;
      failed.id = r->id;
      response = ErrorResponse(failed, status);
    }
    Respond(std::move(response), /*was_in_flight=*/true);
  };
  Actions a;
  {
    std::lock_guard lock(mu_);
    reading_ = false;
    ++in_flight_;
    if (cancelled_) {
      // no more reads; the call finishes once this request is answered
    } else if (in_flight_ < ctx_->options.max_stream_in_flight) {
      a.read = reading_ = true;
    } else {
      read_paused_ = true;
    }
  }
  ctx_->metrics.in_flight->Add(1);
  ctx_->deps.inference->Submit(std::move(request));
  Act(a);
}

void StreamReactor::Respond(std::unique_ptr<inference::ModelStreamInferResponse> response, bool was_in_flight) {
  if (was_in_flight) ctx_->metrics.in_flight->Add(-1);
  Actions a;
  {
    std::lock_guard lock(mu_);
    if (was_in_flight) --in_flight_;
    if (!cancelled_ && !write_failed_) writes_.push_back(std::move(response));
    if (read_paused_ && in_flight_ < ctx_->options.max_stream_in_flight && !cancelled_) {
      read_paused_ = false;
      a.read = reading_ = true;
    }
    Plan(&a);
  }
  Act(a);
}

void StreamReactor::OnWriteDone(bool ok) {
  Actions a;
  {
    std::lock_guard lock(mu_);
    writes_.pop_front();
    writing_ = false;
    if (!ok) {
      write_failed_ = true;  // the client is gone; what is still queued cannot be sent
      writes_.clear();
    }
    Plan(&a);
  }
  Act(a);
}

void StreamReactor::OnCancel() {
  Actions a;
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    if (writing_) {
      // The pending write completes with ok == false; drop the rest.
      while (writes_.size() > 1) writes_.pop_back();
    } else {
      writes_.clear();
    }
    Plan(&a);
  }
  Act(a);
}

void StreamReactor::OnDone() {
  ctx_->metrics.streams_open->Add(-1);
  FrontendContext* ctx = ctx_;
  delete this;
  ctx->Leave();
}

void StreamReactor::Plan(Actions* a) {
  if (finished_) return;
  if (!writing_ && !writes_.empty()) {
    writing_ = true;
    a->write = writes_.front().get();
  }
  if ((reads_done_ || cancelled_) && !reading_ && in_flight_ == 0 && !writing_ && writes_.empty()) {
    finished_ = true;
    a->finish = true;
  }
}

void StreamReactor::Act(const Actions& a) {
  if (a.write) StartWrite(a.write);
  if (a.read) StartRead(&read_);
  if (a.finish) {
    bool cancelled;
    {
      std::lock_guard lock(mu_);
      cancelled = cancelled_;
    }
    Finish(cancelled ? ::grpc::Status::CANCELLED : ::grpc::Status::OK);
  }
}

}  // namespace infergate::grpc_frontend
