#include "frontends/http/http_session.h"

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/range/iterator_range.hpp>

#include <algorithm>

#include "auth/peer.h"
#include "core/clock.h"

namespace infergate::http {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

constexpr std::chrono::milliseconds kLingerTime{1000};
constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";

Method ToMethod(bhttp::verb verb) {
  switch (verb) {
    case bhttp::verb::get: return Method::kGet;
    case bhttp::verb::post: return Method::kPost;
    case bhttp::verb::head: return Method::kHead;
    default: return Method::kOther;
  }
}

// The first coding listed in `field` (over all its header lines) other than
// `allowed` (case-insensitive, parameters ignored), or empty when there is none.
std::string OtherCoding(const bhttp::fields& fields, bhttp::field field, std::string_view allowed) {
  for (const auto& line : boost::make_iterator_range(fields.equal_range(field))) {
    std::string_view rest = line.value();
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string_view coding = rest.substr(0, std::min(comma, rest.find(';')));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      const size_t first = coding.find_first_not_of(" \t");
      if (first == std::string_view::npos) continue;
      coding = coding.substr(first, coding.find_last_not_of(" \t") + 1 - first);
      if (!boost::beast::iequals(coding, allowed)) return std::string(coding);
    }
  }
  return {};
}

}  // namespace

HttpSession::HttpSession(net::Stream stream, const SessionShared& shared,
                         protocol::InferRequestDecoder* decoder,
                         protocol::TelemetryDecoder* telemetry_decoder)
    : stream_(std::move(stream)),
      timer_(stream_.get_executor()),
      shared_(shared),
      decoder_(decoder),
      telemetry_decoder_(telemetry_decoder) {}

void HttpSession::Arm(Phase phase, std::chrono::milliseconds after) {
  phase_ = phase;
  timed_out_ = false;
  armed_ = true;
  deadline_ = Clock::now() + after;
  if (!timer_waiting_ || deadline_ < timer_.expiry()) WaitTimer();
}

void HttpSession::WaitTimer() {
  const uint64_t generation = ++timer_generation_;
  timer_waiting_ = true;
  timer_.expires_at(deadline_);  // cancels a wait still pending (its generation is stale)
  timer_.async_wait([self = shared_from_this(), generation](error_code ec) {
    if (generation != self->timer_generation_) return;
    self->timer_waiting_ = false;
    if (!ec) self->OnTimer();
  });
}

void HttpSession::OnTimer() {
  if (!armed_) return;  // the phase ended; the next Arm starts the timer again
  if (Clock::now() < deadline_) return WaitTimer();  // the deadline moved later
  armed_ = false;
  timed_out_ = true;
  stream_.Cancel();
}

void HttpSession::WaitForRequest() {
  if (closed_) return;
  if (buffer_.size() > 0) return ReadHeader();  // the next request is already here
  if (shared_.draining->load()) return CloseNow();  // no new request while draining
  Arm(Phase::kIdle, core::SecsToMillis(shared_.options->idle_timeout_secs));
  waiting_idle_ = true;
  stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](error_code ec, size_t n) {
    self->waiting_idle_ = false;
    if (ec) return self->CloseNow();  // idle time-out, drain, or the client left
    self->buffer_.commit(n);
    self->ReadHeader();
  });
}

void HttpSession::Drain() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    // An idle connection closes now; one reading or answering a request
    // closes after its reply (keep-alive ends while draining).
    if (self->waiting_idle_) self->CloseNow();
  });
}

void HttpSession::Close() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->CloseNow(); });
}

void HttpSession::ReadHeader() {
  parser_.emplace();
  parser_->eager(true);
  parser_->body_limit(shared_.options->max_body_bytes);
  parser_->header_limit(static_cast<uint32_t>(shared_.options->max_header_bytes));
  Arm(Phase::kRequest, core::SecsToMillis(shared_.options->request_timeout_secs));
  // Parse what is already buffered first: a small request usually arrives
  // whole with the first read and then needs no further trip through the loop.
  while (buffer_.size() > 0 && !parser_->is_done()) {
    error_code ec;
    const size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == bhttp::error::need_more || (!ec && used == 0)) break;
    if (ec) return OnReadError(ec);
  }
  if (parser_->is_header_done()) return OnHeader({});
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           [self = shared_from_this()](error_code ec, size_t) { self->OnHeader(ec); });
}

void HttpSession::OnHeader(error_code ec) {
  if (ec) return OnReadError(ec);
  auto& req = parser_->get();
  if (!RefuseCodings(req) || !Authorize(req)) return;
  if (boost::beast::iequals(req[bhttp::field::expect], "100-continue") && !parser_->is_done()) {
    asio::async_write(stream_, asio::buffer(kContinue, sizeof(kContinue) - 1),
                     [self = shared_from_this()](error_code wec, size_t) {
                       if (wec) return self->CloseNow();
                       self->ReadBody();
                     });
    return;
  }
  ReadBody();
}

bool HttpSession::RefuseCodings(const bhttp::fields& header) {
  // The body's length is unknown under a transfer coding other than chunked
  // (RFC 9112 6.1: 501); the parser would read such a body as empty.
  if (auto coding = OtherCoding(header, bhttp::field::transfer_encoding, "chunked"); !coding.empty()) {
    Refuse(RejectReason::kTransferCoding, 501,
           "transfer coding '" + coding + "' is not implemented (only chunked)");
    return false;
  }
  if (auto coding = OtherCoding(header, bhttp::field::content_encoding, "identity"); !coding.empty()) {
    Refuse(RejectReason::kContentCoding, 415,
           "content coding '" + coding + "' of the request body is not supported (only identity)");
    return false;
  }
  return true;
}

bool HttpSession::Authorize(const bhttp::request_header<>& header) {
  std::optional<std::string_view> authorization;
  if (auto it = header.find(bhttp::field::authorization); it != header.end()) authorization = it->value();
  auth::Decision decision =
      shared_.router->Authorize(header.target(), authorization, auth::IsLoopback(stream_.peer().address()));
  if (decision.ok()) {
    grant_ = std::move(decision.grant);
    return true;
  }
  // The body is not read: the connection closes (after Linger) instead.
  keep_alive_ = false;
  http_version_ = header.version();
  parser_.reset();
  Send(AuthRefusal(decision));
  return false;
}

void HttpSession::ReadBody() {
  if (parser_->is_done()) return OnBody({});
  if (std::span<char> rest = BodyRest(); !rest.empty()) {
    // The rest of a Content-Length body: as few reads as the socket allows,
    // straight into the body's storage (not 4 KB at a time through buffer_
    // and a copy).
    asio::async_read(stream_, asio::buffer(rest.data(), rest.size()),
                    [self = shared_from_this(), rest](error_code ec, size_t n) {
                      self->OnBodyRest(rest.first(n), ec);
                    });
    return;
  }
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](error_code ec, size_t) { self->OnBody(ec); });
}

std::span<char> HttpSession::BodyRest() {
  const auto remaining = parser_->content_length_remaining();
  if (!remaining || *remaining == 0 || buffer_.size() > 0) return {};
  AlignedBody::value_type& body = parser_->get().body();
  if (!body.storage) {
    // Beast sizes the body (the reader's init) on the first put after the
    // header; when the header came alone, an empty put does that now.
    error_code ec;
    parser_->put(asio::const_buffer(), ec);
    if (ec || !body.storage) return {};
  }
  std::span<char> rest = body.Unfilled();
  return rest.size() == *remaining ? rest : std::span<char>();
}

void HttpSession::OnBodyRest(std::span<char> got, error_code ec) {
  if (!got.empty()) {
    // The bytes are already in place: the body's reader only counts them.
    error_code put_ec;
    parser_->put(asio::const_buffer(got.data(), got.size()), put_ec);
    if (put_ec && !ec) ec = put_ec;
  }
  if (ec) return OnReadError(ec);
  OnBody(parser_->is_done() ? error_code() : bhttp::error::partial_message);
}

void HttpSession::OnBody(error_code ec) {
  if (ec) return OnReadError(ec);
  Disarm();
  Dispatch();
}

void HttpSession::OnReadError(error_code ec) {
  const bool started = parser_ && parser_->got_some();
  if (timed_out_ && phase_ == Phase::kRequest) {
    return Refuse(RejectReason::kTimeout, 408,
                  "the request did not arrive completely within request_timeout_secs (" +
                      std::to_string(shared_.options->request_timeout_secs) + " s)");
  }
  if (ec == bhttp::error::body_limit) {
    return Refuse(RejectReason::kBodyTooLarge, 413,
                  "the request body is larger than max_body_bytes (" +
                      std::to_string(shared_.options->max_body_bytes) + ")");
  }
  if (ec == bhttp::error::header_limit) {
    return Refuse(RejectReason::kHeaderTooLarge, 431,
                  "the request header is larger than max_header_bytes (" +
                      std::to_string(shared_.options->max_header_bytes) + ")");
  }
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
      ec == asio::error::eof || ec == asio::error::connection_reset) {
    if (started) shared_.metrics->Reject(RejectReason::kTruncated);
    return CloseNow();
  }
  if (ec == asio::error::operation_aborted) return CloseNow();
  Refuse(RejectReason::kMalformedHttp, 400, "malformed HTTP request: " + ec.message());
}

void HttpSession::Dispatch() {
  auto& req = parser_->get();
  keep_alive_ = req.keep_alive();
  http_version_ = req.version();
  HttpRequest request;
  request.method = ToMethod(req.method());
  request.target = std::string(req.target());
  if (auto it = req.find(protocol::kInferenceHeaderContentLength); it != req.end()) {
    request.inference_header_length = std::string(it->value());
  }
  if (auto it = req.find(bhttp::field::authorization); it != req.end()) {
    request.authorization = std::string(it->value());
  }
  request.peer_loopback = auth::IsLoopback(stream_.peer().address());
  request.grant = std::move(grant_);
  grant_.reset();
  request.body = req.body().view();
  request.body_spare = req.body().spare();
  request.body_owner = std::move(req.body().storage);
  request.decoder = decoder_;
  request.telemetry_decoder = telemetry_decoder_;
  parser_.reset();
  if (shared_.draining->load()) {
    keep_alive_ = false;
    return Send(ErrorResponse(503, "the server is shutting down"));
  }
  in_flight_ = true;
  shared_.in_flight->Enter();
  shared_.router->Handle(request, [self = shared_from_this()](HttpResponse response) {
    asio::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
      self->Send(std::move(response));
    });
  });
}

void HttpSession::Send(HttpResponse r) {
  if (closed_) return LeaveInFlight();  // the connection is gone: the reply is dropped
  if (shared_.draining->load()) keep_alive_ = false;
  if (!r.file.empty()) return SendFile(std::move(r));
  shared_.metrics->Respond(r.status);
  response_ = {};
  response_.version(http_version_);
  response_.result(static_cast<unsigned>(r.status));
  response_.set(bhttp::field::content_type, r.content_type);
  for (const auto& [name, value] : r.headers) response_.set(name, value);
  if (r.inference_header_length) {
    response_.set(protocol::kInferenceHeaderContentLength, std::to_string(*r.inference_header_length));
  }
  response_.body() = std::move(r.body);
  response_.keep_alive(keep_alive_);
  response_.prepare_payload();
  Arm(Phase::kWrite, core::SecsToMillis(shared_.options->request_timeout_secs));
  bhttp::async_write(stream_, response_,
                     [self = shared_from_this()](error_code ec, size_t) { self->OnWrite(ec); });
}

void HttpSession::SendFile(HttpResponse r) {
  error_code ec;
  file_response_.emplace();
  file_response_->body().open(r.file.c_str(), boost::beast::file_mode::scan, ec);
  if (ec) {
    file_response_.reset();
    return Send(ErrorResponse(404, "the file is gone"));
  }
  shared_.metrics->Respond(r.status);
  file_response_->version(http_version_);
  file_response_->result(static_cast<unsigned>(r.status));
  file_response_->set(bhttp::field::content_type, r.content_type);
  for (const auto& [name, value] : r.headers) file_response_->set(name, value);
  file_response_->keep_alive(keep_alive_);
  file_response_->prepare_payload();
  file_serializer_.emplace(*file_response_);
  WriteFileChunk();
}

void HttpSession::WriteFileChunk() {
  Arm(Phase::kWrite, core::SecsToMillis(shared_.options->request_timeout_secs));
  bhttp::async_write_some(stream_, *file_serializer_, [self = shared_from_this()](error_code ec, size_t) {
    if (!ec && !self->file_serializer_->is_done()) return self->WriteFileChunk();
    self->file_serializer_.reset();
    self->file_response_.reset();
    self->OnWrite(ec);
  });
}

void HttpSession::OnWrite(error_code ec) {
  Disarm();
  LeaveInFlight();
  if (ec) return CloseNow();
  if (!keep_alive_) return Linger();
  WaitForRequest();
}

void HttpSession::Refuse(RejectReason reason, int status, std::string message) {
  shared_.metrics->Reject(reason);
  keep_alive_ = false;
  parser_.reset();
  Send(ErrorResponse(status, message));
}

void HttpSession::Linger() {
  stream_.ShutdownSend();
  if (phase_ != Phase::kLinger) Arm(Phase::kLinger, kLingerTime);
  stream_.async_read_some(asio::buffer(discard_), [self = shared_from_this()](error_code ec, size_t) {
    if (ec) return self->CloseNow();
    self->Linger();
  });
}

void HttpSession::CloseNow() {
  if (closed_) return;
  closed_ = true;
  Disarm();
  ++timer_generation_;
  timer_waiting_ = false;
  timer_.cancel();
  stream_.Close();
}

void HttpSession::LeaveInFlight() {
  if (!in_flight_) return;
  in_flight_ = false;
  shared_.in_flight->Leave();
}

}  // namespace infergate::http
