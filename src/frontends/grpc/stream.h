// One ModelStreamInfer call: requests read from the stream are submitted as
// they arrive, responses are written as they complete (any order; each
// carries its request's id, model and version), one write at a time.
//
// Back-pressure: at most options.max_stream_in_flight requests of one stream
// are in flight; the stream is not read further until one completes.
// A request that fails (bad input, unknown model, queue full, deadline)
// gets a response with error_message set and the stream stays open.
//
// Lifetime: gRPC owns the reactor and calls OnDone (which deletes it) after
// Finish. Finish is called only when the client has finished writing or the
// call was cancelled, and no request is in flight and no write is pending, so
// no on_complete ever runs on a deleted reactor.
//
// Thread-safety: gRPC reactions (OnReadDone, OnWriteDone, OnCancel) and
// on_complete (scheduler threads) run concurrently; `mu_` guards the state.
// Start*/Finish are called outside `mu_`.
#pragma once

#include <deque>
#include <memory>
#include <mutex>

#include "frontends/grpc/context.h"
#include "grpc_service.grpc.pb.h"

namespace infergate::grpc_frontend {

class StreamReactor final
    : public ::grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse> {
 public:
  StreamReactor(FrontendContext* ctx, ::grpc::CallbackServerContext* call);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // What to do after a state change, decided under mu_ and done outside it.
  struct Actions {
    const inference::ModelStreamInferResponse* write = nullptr;
    bool read = false;
    bool finish = false;
  };
  void Act(const Actions& a);
  // Decides the next write and whether to finish. Precondition: mu_ held.
  void Plan(Actions* a);
  // Queues a response (from a scheduler thread, or a gRPC thread for a refusal).
  void Respond(std::unique_ptr<inference::ModelStreamInferResponse> response, bool was_in_flight);

  FrontendContext* ctx_;
  ::grpc::CallbackServerContext* call_;
  inference::ModelInferRequest read_;  // the read buffer, reused

  std::mutex mu_;
  std::deque<std::unique_ptr<inference::ModelStreamInferResponse>> writes_;  // GUARDED_BY(mu_); front is being written
  bool writing_ = false;      // GUARDED_BY(mu_)
  bool reads_done_ = false;   // GUARDED_BY(mu_)
  bool reading_ = false;      // GUARDED_BY(mu_); a read is outstanding
  bool read_paused_ = false;  // GUARDED_BY(mu_); in-flight limit reached
  bool cancelled_ = false;    // GUARDED_BY(mu_)
  bool write_failed_ = false; // GUARDED_BY(mu_)
  bool finished_ = false;     // GUARDED_BY(mu_)
  int in_flight_ = 0;         // GUARDED_BY(mu_)
};

}  // namespace infergate::grpc_frontend
