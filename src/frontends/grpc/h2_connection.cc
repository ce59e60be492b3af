#include "frontends/grpc/h2_connection.h"

#include <boost/asio/post.hpp>
#include <algorithm>
#include <cstring>
#include <deque>

#include "auth/peer.h"
#include "core/status_map.h"

namespace infergate::grpc_frontend {

namespace asio = boost::asio;

// One HTTP/2 stream: a gRPC call from its request headers until nghttp2
// closes it. Lives in streams_, on the connection's thread only.
struct H2Connection::Stream {
  Stream(int32_t stream_id, int64_t max_message_bytes) : id(stream_id), reader(max_message_bytes) {}

  int32_t id;
  std::string path, method, content_type, timeout;
  std::optional<std::string> authorization;
  auth::Grant grant;  // MethodTable::Admit's, for the method
  MethodTable::Kind kind = MethodTable::Kind::kUnknown;
  MessageReader reader;

  // Unary: the request message once read.
  std::optional<std::string> message;
  // Streaming: the handler, the messages it has not taken yet, whether it
  // asked to hold them, and the bytes not yet credited to the client. A
  // stream is also held back while more of its replies wait to be sent
  // than H2Options::max_unsent_reply_bytes: a client that sends without
  // reading is stopped by flow control, not buffered for.
  std::shared_ptr<StreamHandler> handler;
  std::deque<std::string> held;
  bool paused = false;
  bool waits_for_output = false;  // in waiting_for_output_
  size_t uncredited = 0;  // bytes received, not yet credited (any call)
  size_t held_bytes = 0;  // request bytes held, as counted in held_
  bool half_close_delivered = false;

  bool client_done = false;  // END_STREAM received
  bool refused = false;      // answered before the method saw it: DATA is dropped

  // The response.
  bool responded = false;  // HEADERS submitted
  bool ended = false;      // Finish taken: nothing more is sent
  bool deferred = false;   // the data provider waits for more to send
  core::Status status;
  std::string out;  // framed messages not yet handed to nghttp2
  size_t out_pos = 0;
};

namespace {

nghttp2_nv Header(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

// The trailers (or the trailers-only response) for `status`.
struct StatusHeaders {
  explicit StatusHeaders(const core::Status& status)
      : code(std::to_string(status.ok() ? 0 : core::GrpcCodeFor(status.code()))),
        message(status.ok() ? std::string() : PercentEncode(core::ClipReplyMessage(status.message()))) {}
  void AppendTo(std::vector<nghttp2_nv>* nv) const {
    nv->push_back(Header("grpc-status", code));
    if (!message.empty()) nv->push_back(Header("grpc-message", message));
  }
  std::string code;
  std::string message;
};

constexpr std::string_view kGrpcContentType = "application/grpc";

// The connection's flow-control window: at most half of its buffer bound
// and 4 MiB, at least HTTP/2's initial 65,535 bytes.
int64_t ConnectionWindow(int64_t buffer_bytes) {
  return std::clamp<int64_t>(buffer_bytes / 2, 65535, 4 << 20);
}

}  // namespace

void Responder::Send(std::string framed) const {
  connection_->Post(stream_id_, {std::move(framed), false, {}, false});
}

void Responder::Finish(const core::Status& status) const {
  connection_->Post(stream_id_, {{}, true, status, false});
}

void Responder::Reply(std::string framed) const {
  connection_->Post(stream_id_, {std::move(framed), true, core::Status::Ok(), false});
}

void Responder::ResumeReading() const { connection_->Post(stream_id_, {{}, false, {}, true}); }

H2Connection::H2Connection(net::Stream stream, MethodTable* methods, const H2Options& options)
    : stream_(std::move(stream)),
      executor_(stream_.get_executor()),
      idle_(executor_, options.idle_timeout),
      write_timer_(executor_, options.write_timeout),
      stall_timer_(executor_, options.stall_timeout),
      methods_(methods),
      options_(options),
      read_buffer_(64 * 1024) {
  window_ = ConnectionWindow(options_.max_connection_buffer_bytes);
  // What the client may still send without credit is part of the bound;
  // a whole message must fit in the rest, or it could never be taken.
  credit_limit_ = std::max<int64_t>(options_.max_connection_buffer_bytes - window_,
                                    options_.max_message_bytes + int64_t{kMessagePrefixBytes});
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &OnStreamClose);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &OnFrameSend);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  // Credit is given back as messages are taken and as the bounds allow
  // (Credit), so a stream whose handler holds back (ModelStreamInfer at its
  // in-flight limit) or a connection holding its bound stops the client.
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_session_server_new2(&session_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
}

H2Connection::~H2Connection() {
  for (auto& [id, s] : streams_) {
    if (s->handler) s->handler->OnClose();
  }
  if (options_.buffered && held_ != 0) options_.buffered->Add(-held_);
  nghttp2_session_del(session_);
}

bool H2Connection::HoldsPartial() const {
  // A stream its handler paused (at its in-flight limit) waits for the
  // server, not for the client.
  return std::any_of(streams_.begin(), streams_.end(),
                     [](const auto& s) { return s.second->reader.HasPartial() && !s.second->paused; });
}

void H2Connection::Start() {
  stream_.SetNoDelay();
  StartTimers();
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(options_.stream_window_bytes)},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  // The connection's window is part of its buffer bound (window_).
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, static_cast<int32_t>(window_));
  Flush();
  Read();
}

void H2Connection::Post(int32_t stream_id, Out out) {
  asio::post(executor_, [self = shared_from_this(), stream_id, out = std::move(out)]() mutable {
    self->Apply(stream_id, std::move(out));
  });
}

void H2Connection::Apply(int32_t stream_id, Out out) {
  if (closed_) return;
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;  // reset by the client, or the connection is going
  Stream& s = *it->second;
  if (out.resume) {
    s.paused = false;
    Deliver(s);
    Flush();
    return;
  }
  if (s.ended) return;
  unsent_ += out.data.size();
  if (s.out.empty()) {
    s.out = std::move(out.data);
  } else {
    s.out += out.data;
  }
  if (out.finish) {
    s.ended = true;
    s.status = std::move(out.status);
  }
  StartResponse(s);
  Flush();
}

void H2Connection::StartResponse(Stream& s) {
  if (s.responded) {
    if (s.deferred) {
      s.deferred = false;
      nghttp2_session_resume_data(session_, s.id);
    }
    return;
  }
  s.responded = true;
  std::vector<nghttp2_nv> nv{Header(":status", "200"), Header("content-type", kGrpcContentType)};
  if (s.ended && s.out.empty()) {  // trailers-only
    StatusHeaders trailers(s.status);
    trailers.AppendTo(&nv);
    nghttp2_submit_response(session_, s.id, nv.data(), nv.size(), nullptr);
    return;
  }
  nghttp2_data_provider body{};
  body.read_callback = &ReadBody;
  nghttp2_submit_response(session_, s.id, nv.data(), nv.size(), &body);
}

ssize_t H2Connection::ReadBody(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                               uint32_t* flags, nghttp2_data_source*, void* self_ptr) {
  auto* self = static_cast<H2Connection*>(self_ptr);
  auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  Stream& s = *it->second;
  const size_t n = std::min(length, s.out.size() - s.out_pos);
  std::memcpy(buf, s.out.data() + s.out_pos, n);
  s.out_pos += n;
  self->unsent_ -= n;
  if (s.out_pos == s.out.size()) {
    s.out.clear();
    s.out_pos = 0;
    if (s.ended) {
      *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
      std::vector<nghttp2_nv> nv;
      StatusHeaders trailers(s.status);
      trailers.AppendTo(&nv);
      nghttp2_submit_trailer(session, stream_id, nv.data(), nv.size());
    } else if (n == 0) {
      s.deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return static_cast<ssize_t>(n);
}

void H2Connection::Fail(Stream& s, const core::Status& status) {
  if (s.ended) return;
  methods_->OnRefused(status);
  s.refused = s.refused || !s.handler;
  s.ended = true;
  s.status = status;
  Drop(s);
  StartResponse(s);
}

bool H2Connection::HoldsBack(const Stream& s) const {
  return s.paused || s.out.size() - s.out_pos > options_.max_unsent_reply_bytes || OverUnsent();
}

void H2Connection::Recount(Stream& s) {
  size_t now = s.reader.buffered() + (s.message ? s.message->size() : 0);
  for (const std::string& m : s.held) now += m.size();
  const int64_t delta = static_cast<int64_t>(now) - static_cast<int64_t>(s.held_bytes);
  s.held_bytes = now;
  held_ += delta;
  if (options_.buffered && delta != 0) options_.buffered->Add(delta);
  if (s.uncredited > now) Consume(s, s.uncredited - now);
  if (delta < 0 && uncredited_ > 0) CreditAll();  // room for the others
}

void H2Connection::Drop(Stream& s) {
  s.reader.Clear();
  s.held.clear();
  s.message.reset();
  Recount(s);
}

void H2Connection::Consume(Stream& s, size_t bytes) {
  nghttp2_session_consume(session_, s.id, bytes);
  s.uncredited -= bytes;
  uncredited_ -= static_cast<int64_t>(bytes);
}

void H2Connection::Credit(Stream& s) {
  if (s.uncredited == 0 || (s.handler && HoldsBack(s)) || OverUnsent()) return;
  if (options_.buffered && options_.buffered->Exhausted()) return WaitForBudget();
  const int64_t room = credit_limit_ - (held_ - uncredited_);
  if (room > 0) Consume(s, std::min(s.uncredited, static_cast<size_t>(room)));
}

void H2Connection::CreditAll() {
  for (auto& [id, s] : streams_) {
    if (uncredited_ == 0) return;
    Credit(*s);
  }
}

void H2Connection::WaitForBudget() {
  if (waits_for_budget_) return;
  waits_for_budget_ = true;
  options_.buffered->WaitForRoom([weak = weak_from_this()] {
    auto self = weak.lock();
    if (!self) return;
    asio::post(self->executor_, [self] {
      self->waits_for_budget_ = false;
      if (self->closed_) return;
      self->CreditAll();
      self->Flush();
    });
  });
}

void H2Connection::Deliver(Stream& s) {
  while (!HoldsBack(s) && !s.held.empty()) {
    std::string message = std::move(s.held.front());
    s.held.pop_front();
    if (!s.handler->OnMessage(std::move(message))) s.paused = true;
  }
  Recount(s);  // what the handler took is credited
  if (HoldsBack(s)) {
    // Replies the client has not taken yet: read on once they are out.
    if (!s.paused && !s.waits_for_output) {
      s.waits_for_output = true;
      waiting_for_output_.push_back(s.id);
    }
    return;
  }
  Credit(s);
  if (s.client_done && s.held.empty() && !s.half_close_delivered) {
    s.half_close_delivered = true;
    s.handler->OnHalfClose();
  }
}

void H2Connection::DeliverWrittenOut() {
  if (OverUnsent()) return;
  std::vector<int32_t> ids;
  ids.swap(waiting_for_output_);
  for (int32_t id : ids) {
    auto it = streams_.find(id);
    if (it == streams_.end()) continue;
    it->second->waits_for_output = false;
    Deliver(*it->second);
  }
  ids.clear();
  ids.swap(waiting_unary_);
  for (int32_t id : ids) {
    auto it = streams_.find(id);
    if (it != streams_.end()) Dispatch(*it->second);
  }
  CreditAll();
}

void H2Connection::Dispatch(Stream& s) {
  if (OverUnsent()) {
    // The client is not reading its replies: this call waits, its bytes
    // held and not credited, until they drain.
    waiting_unary_.push_back(s.id);
    return;
  }
  methods_->OnUnary(Info(s), std::move(*s.message), Responder(shared_from_this(), s.id));
  s.message.reset();
  Recount(s);
}

CallInfo H2Connection::Info(const Stream& s) const {
  CallInfo info;
  info.method = s.path;
  if (!s.timeout.empty()) info.timeout = ParseTimeout(s.timeout);
  if (s.authorization) info.authorization = *s.authorization;
  info.peer_loopback = auth::IsLoopback(stream_.peer().address());
  info.grant = s.grant;
  return info;
}

void H2Connection::HeadersDone(Stream& s) {
  if (s.method != "POST") return Fail(s, core::Unimplemented("gRPC calls are POST requests, not " + s.method));
  if (s.content_type.compare(0, kGrpcContentType.size(), kGrpcContentType) != 0) {
    // Not gRPC at all: the protocol asks for HTTP 415.
    methods_->OnRefused(core::InvalidArgument("content-type '" + s.content_type + "' is not application/grpc"));
    s.responded = s.ended = s.refused = true;
    std::vector<nghttp2_nv> nv{Header(":status", "415")};
    nghttp2_submit_response(session_, s.id, nv.data(), nv.size(), nullptr);
    return;
  }
  s.kind = methods_->Find(s.path);
  if (s.kind == MethodTable::Kind::kUnknown) return Fail(s, core::Unimplemented("unknown method " + s.path));
  // Before any DATA is taken: a refused client's message is never buffered.
  CallInfo info = Info(s);
  if (core::Status admitted = methods_->Admit(&info); !admitted.ok()) return Fail(s, admitted);
  s.grant = std::move(info.grant);
  if (options_.buffered && options_.buffered->Exhausted()) {
    return Fail(s, core::ResourceExhausted("the server holds as many request bytes as it may; retry later"));
  }
  if (s.kind == MethodTable::Kind::kBidiStream) {
    s.handler = methods_->OnStream(Info(s), Responder(shared_from_this(), s.id));
    // No handler: the method answered at once (e.g. shutting down); what
    // the client still sends is dropped.
    if (!s.handler) s.refused = true;
  }
}

void H2Connection::ClientDone(Stream& s) {
  s.client_done = true;
  if (s.refused || s.ended) return;
  if (s.handler) return Deliver(s);
  if (s.reader.HasPartial()) return Fail(s, core::InvalidArgument("the request ended inside a message"));
  if (!s.message) return Fail(s, core::InvalidArgument("the call carried no request message"));
  Dispatch(s);
}

int H2Connection::OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* self_ptr) {
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto* self = static_cast<H2Connection*>(self_ptr);
  self->streams_.emplace(frame->hd.stream_id,
                         std::make_unique<Stream>(frame->hd.stream_id, self->options_.max_message_bytes));
  return 0;
}

int H2Connection::OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                           const uint8_t* value, size_t valuelen, uint8_t, void* self_ptr) {
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto* self = static_cast<H2Connection*>(self_ptr);
  auto it = self->streams_.find(frame->hd.stream_id);
  if (it == self->streams_.end()) return 0;
  Stream& s = *it->second;
  const std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string* field = n == ":path"          ? &s.path
                       : n == ":method"      ? &s.method
                       : n == "content-type" ? &s.content_type
                       : n == "grpc-timeout" ? &s.timeout
                                             : nullptr;
  if (field) field->assign(reinterpret_cast<const char*>(value), valuelen);
  if (n == "authorization") s.authorization.emplace(reinterpret_cast<const char*>(value), valuelen);
  return 0;
}

int H2Connection::OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self_ptr) {
  auto* self = static_cast<H2Connection*>(self_ptr);
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
  auto it = self->streams_.find(frame->hd.stream_id);
  if (it == self->streams_.end()) return 0;
  Stream& s = *it->second;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) self->HeadersDone(s);
  if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) self->ClientDone(s);
  return 0;
}

int H2Connection::OnDataChunk(nghttp2_session* session, uint8_t, int32_t stream_id, const uint8_t* data,
                              size_t len, void* self_ptr) {
  auto* self = static_cast<H2Connection*>(self_ptr);
  auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end() || it->second->refused || it->second->ended) {
    nghttp2_session_consume(session, stream_id, len);
    return 0;
  }
  Stream& s = *it->second;
  s.reader.Append(data, len);
  s.uncredited += len;
  self->uncredited_ += static_cast<int64_t>(len);
  std::string message;
  while (true) {
    auto next = s.reader.Next(&message);
    if (!next.ok()) {
      self->Fail(s, next.status());
      return 0;
    }
    if (!*next) break;
    if (s.handler) {
      s.held.push_back(std::move(message));
    } else if (s.message) {
      self->Fail(s, core::InvalidArgument("a unary call carried more than one request message"));
      return 0;
    } else {
      s.message = std::move(message);
    }
  }
  if (s.handler) {
    self->Deliver(s);
  } else {
    self->Recount(s);
    self->Credit(s);
  }
  return 0;
}

int H2Connection::OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t, void* self_ptr) {
  auto* self = static_cast<H2Connection*>(self_ptr);
  auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) return 0;
  std::unique_ptr<Stream> s = std::move(it->second);
  self->streams_.erase(it);
  self->Drop(*s);
  self->unsent_ -= s->out.size() - s->out_pos;
  if (s->handler) s->handler->OnClose();
  if (self->draining_ && self->streams_.empty()) {
    // Not from inside nghttp2's callback: once the current send is done.
    asio::post(self->executor_, [c = self->shared_from_this()] {
      if (!c->closed_ && c->streams_.empty()) c->CloseIdle();
    });
  }
  return 0;
}

int H2Connection::OnFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* self_ptr) {
  // nghttp2 answers most protocol errors itself with a GOAWAY naming them.
  if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR) {
    static_cast<H2Connection*>(self_ptr)->ReportProtocolError(nghttp2_http2_strerror(frame->goaway.error_code));
  }
  return 0;
}

void H2Connection::ReportProtocolError(const char* what) {
  if (protocol_error_reported_) return;
  protocol_error_reported_ = true;
  methods_->OnProtocolError(what);
}

void H2Connection::CloseNow() {
  if (closed_) return;
  closed_ = true;
  idle_.Cancel();
  write_timer_.Cancel();
  stall_timer_.Cancel();
  stream_.Close();
  // Streams still open end here: their handlers hear OnClose, their
  // responders find nothing to write to.
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, s] : streams) {
    if (s->handler) s->handler->OnClose();
  }
  if (options_.buffered && held_ != 0) options_.buffered->Add(-held_);
  held_ = uncredited_ = 0;
  unsent_ = 0;
}

}  // namespace infergate::grpc_frontend
