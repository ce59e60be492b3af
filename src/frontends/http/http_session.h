// HttpSession: one client connection on one IO thread. Reads a request (idle
// wait, header, optional 100-continue, body), hands it to the Router, writes
// the reply when it arrives, and repeats while the client keeps the
// connection alive. Internal to the HTTP frontend.
//
// While the server drains, an idle keep-alive connection is closed, a
// request that arrives is answered 503 with `Connection: close`, and the
// reply of a request in flight is written with `Connection: close`. A
// request counts as in flight (SessionShared::in_flight) from its dispatch
// until its reply is written or dropped.
//
// Thread-safety: every method runs on the connection's IO thread, except
// Drain and Close (any thread; they post to it); the Reply given to the
// Router may be called from any thread and posts back to it.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <atomic>

#include "frontends/http/aligned_body.h"
#include "frontends/http/http_metrics.h"
#include "frontends/http/http_server.h"
#include "frontends/http/router.h"
#include "net/connection_registry.h"
#include "net/in_flight.h"
#include "net/stream.h"
#include "protocol/telemetry_json.h"
#include "protocol/v2_json.h"

namespace infergate::http {

// What every session of one server shares; owned by the server.
struct SessionShared {
  const HttpOptions* options = nullptr;
  const Router* router = nullptr;
  HttpMetrics* metrics = nullptr;
  const std::atomic<bool>* draining = nullptr;  // the server drains or stops
  net::InFlight* in_flight = nullptr;           // requests dispatched, not yet answered
};

class HttpSession : public net::Connection, public std::enable_shared_from_this<HttpSession> {
 public:
  // The decoders are the IO thread's own; `shared` outlives the session.
  HttpSession(net::Stream stream, const SessionShared& shared,
              protocol::InferRequestDecoder* decoder,
              protocol::TelemetryDecoder* telemetry_decoder);

  // Starts reading. Call on the socket's IO thread.
  void Start() { WaitForRequest(); }
  // net::Connection: post to the connection's thread.
  void Drain() override;
  void Close() override;

 private:
  enum class Phase { kIdle, kRequest, kWrite, kLinger };
  using Clock = std::chrono::steady_clock;

  void WaitForRequest();
  void ReadHeader();
  void OnHeader(boost::system::error_code ec);
  // Refuses (and returns false) a request whose body uses a transfer coding
  // other than chunked (501) or a content coding other than identity (415).
  bool RefuseCodings(const boost::beast::http::fields& header);
  // Asks the access policy (Router::Authorize) before the body is read: a
  // refused request is answered 401 / 403 with `Connection: close` (and
  // false returned); an admitted one keeps its grant for Dispatch.
  bool Authorize(const boost::beast::http::request_header<>& header);
  void ReadBody();
  // The unread rest of a Content-Length body in its final storage (sizing
  // the body first if need be); empty when the body must go through buffer_
  // (chunked, or bytes of it already buffered).
  std::span<char> BodyRest();
  // `got`: the prefix of BodyRest() a read filled.
  void OnBodyRest(std::span<char> got, boost::system::error_code ec);
  void OnBody(boost::system::error_code ec);
  void Dispatch();
  void Send(HttpResponse response);
  // A response whose body is a file: streamed a chunk at a time, each write
  // timed on its own (request_timeout_secs), so a large file takes as long
  // as it keeps moving.
  void SendFile(HttpResponse response);
  void WriteFileChunk();
  void OnWrite(boost::system::error_code ec);
  // Maps a read error to a refusal (or a silent close when the client left).
  void OnReadError(boost::system::error_code ec);
  // Answers with an error, counts it, and closes the connection.
  void Refuse(RejectReason reason, int status, std::string message);
  // After a refusal: stop sending, read and drop what the client still sends
  // for a moment, so it receives the reply rather than a reset.
  void Linger();
  void CloseNow();
  // The request in flight is answered (or its reply dropped).
  void LeaveInFlight();

  // Times the current phase; on expiry the pending socket operation is
  // cancelled and timed_out_ says why it ended. Arming only moves a deadline;
  // the one timer is re-set only when the deadline moves earlier than its
  // expiry (a keep-alive request costs one timer update, not three).
  void Arm(Phase phase, std::chrono::milliseconds after);
  void Disarm() { armed_ = false; }
  void WaitTimer();
  void OnTimer();

  net::Stream stream_;
  boost::asio::steady_timer timer_;
  const SessionShared& shared_;
  protocol::InferRequestDecoder* decoder_;
  protocol::TelemetryDecoder* telemetry_decoder_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<AlignedBody>> parser_;
  std::optional<auth::Grant> grant_;  // the request's, from Authorize
  boost::beast::http::response<boost::beast::http::string_body> response_;
  std::optional<boost::beast::http::response<boost::beast::http::file_body>> file_response_;
  std::optional<boost::beast::http::response_serializer<boost::beast::http::file_body>> file_serializer_;
  unsigned http_version_ = 11;
  bool keep_alive_ = false;
  bool in_flight_ = false;     // dispatched, reply not yet written
  bool waiting_idle_ = false;  // between requests, nothing read yet
  bool closed_ = false;
  Phase phase_ = Phase::kIdle;
  Clock::time_point deadline_{};
  bool armed_ = false;         // a phase is timed
  bool timer_waiting_ = false;  // an async_wait is pending (for timer_generation_)
  uint64_t timer_generation_ = 0;
  bool timed_out_ = false;
  char discard_[4096];
};

}  // namespace infergate::http
