// One ModelStreamInfer call: requests read from the stream are submitted as
// they arrive, responses are sent as they complete (any order; each carries
// its request's id, model and version).
//
// Back-pressure: at most options.max_stream_in_flight requests of one stream
// are in flight; the connection holds further messages (and the client's
// flow-control credit) until one completes. A request that fails (bad input,
// unknown model, queue full, deadline) gets a response with error_message
// set and the stream stays open. The call finishes with OK once the client
// has finished sending and every request is answered.
//
// Lifetime: shared by the connection (until OnClose) and the completion
// callbacks of its requests in flight. The stream counts as active
// (FrontendContext::Enter) from its start until it is closed and no request
// of it is in flight.
//
// Thread-safety: OnMessage, OnHalfClose and OnClose run on the connection's
// thread, completions on scheduler threads; `mu_` guards the counts.
#pragma once

#include <memory>
#include <mutex>
#include <optional>

#include "frontends/grpc/context.h"
#include "frontends/grpc/h2_connection.h"

namespace infergate::grpc_frontend {

class InferStream final : public StreamHandler, public std::enable_shared_from_this<InferStream> {
 public:
  // `grant`: the models the call's token may use (each message is checked).
  InferStream(FrontendContext* ctx, Responder responder, std::optional<core::TimePoint> deadline,
              auth::Grant grant = {});

  bool OnMessage(std::string message) override;
  void OnHalfClose() override;
  void OnClose() override;

 private:
  // On a scheduler thread: sends the response; true when the stream is now
  // done with (closed, nothing in flight) and leaves the active count.
  bool Complete(const core::InferResponse& response, const ResponseEncoding& encoding);

  FrontendContext* ctx_;
  Responder responder_;
  std::optional<core::TimePoint> deadline_;
  const auth::Grant grant_;

  std::mutex mu_;
  int in_flight_ = 0;          // GUARDED_BY(mu_)
  bool paused_ = false;        // GUARDED_BY(mu_); the connection holds messages back
  bool half_closed_ = false;   // GUARDED_BY(mu_)
  bool finished_ = false;      // GUARDED_BY(mu_); Finish was sent
  bool closed_ = false;        // GUARDED_BY(mu_)
  bool left_ = false;          // GUARDED_BY(mu_)
};

}  // namespace infergate::grpc_frontend
