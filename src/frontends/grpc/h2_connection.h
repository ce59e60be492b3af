// One HTTP/2 connection carrying gRPC calls, on nghttp2 (framing, HPACK,
// flow control, SETTINGS, PING, GOAWAY) and an Asio socket.
//
// gRPC's own C++ server costs about as much per call as the whole HTTP/1.1
// inference path (docs/benchmarks.md, "gRPC frontend"); nghttp2 is the HTTP/2
// library behind curl, Apache httpd and h2load, and the gRPC layer on top of
// it is small: length-prefixed messages, a few headers, status trailers
// (wire.h). Clients see a gRPC server like any other: the e2e tests talk to
// it with gRPC's own C++ client.
//
// A connection reads, hands each call to the MethodTable and writes what the
// calls send back. Calls answer through a Responder from any thread; the
// answer is posted to the connection's thread, so nghttp2 is only ever used
// there.
//
// A connection with no call open that has read and written nothing for
// H2Options::idle_timeout is closed with a GOAWAY (net::IdleTimer).
//
// What one client can make the server hold is bounded (docs/grpc.md,
// "Limits"):
// - request bytes (partial messages, messages no handler has taken yet):
//   flow-control credit (WINDOW_UPDATE) is given only as they fit in
//   H2Options::max_connection_buffer_bytes and in the ByteBudget shared by
//   every connection; the connection's window is part of the bound. While
//   the shared budget is exhausted new calls are refused RESOURCE_EXHAUSTED.
// - replies not yet sent: over max_connection_unsent_bytes, no new request
//   is taken and no credit given until the client reads them.
// - time: a connection whose replies make no progress for write_timeout,
//   or that holds part of a message while nothing moves for stall_timeout,
//   is closed.
//
// Threads: everything but the Responder, Drain and Close runs on
// the connection's IO thread.
#pragma once

#include <nghttp2/nghttp2.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/policy.h"
#include "core/status.h"
#include "frontends/grpc/byte_budget.h"
#include "frontends/grpc/wire.h"
#include "net/connection_registry.h"
#include "net/idle_timer.h"
#include "net/stream.h"

namespace infergate::grpc_frontend {

class H2Connection;

// How a call answers. Copyable; every method may be called from any thread.
// A call ends once (Finish or Reply); what is sent after that is dropped,
// and so is anything sent after the client reset the call.
class Responder {
 public:
  Responder(std::shared_ptr<H2Connection> connection, int32_t stream_id)
      : connection_(std::move(connection)), stream_id_(stream_id) {}
  // One message, framed by AppendMessage.
  void Send(std::string framed) const;
  // Ends the call with `status` (its code mapped by core/status_map.h).
  void Finish(const core::Status& status) const;
  // Send(framed) and Finish(OK) in one hand-off.
  void Reply(std::string framed) const;
  // A stream whose handler refused a message (OnMessage returned false)
  // gets its held messages delivered again.
  void ResumeReading() const;

 private:
  std::shared_ptr<H2Connection> connection_;
  int32_t stream_id_;
};

// What a call's headers said, and who sent it.
struct CallInfo {
  std::string_view method;                         // the :path, "/package.Service/Method"
  std::optional<std::chrono::nanoseconds> timeout;  // grpc-timeout
  std::optional<std::string_view> authorization;   // the authorization metadata (never logged)
  bool peer_loopback = false;                      // the client connects from a loopback address
  auth::Grant grant;                               // set by MethodTable::Admit
};

// A bidirectional streaming call's handler; its methods run on the
// connection's thread.
class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  // A whole request message, taken. Returning false holds back the ones
  // after it (and the client's flow-control credit for them) until
  // ResumeReading.
  virtual bool OnMessage(std::string message) = 0;
  // The client finished sending; every message was delivered.
  virtual void OnHalfClose() = 0;
  // The call is gone: finished and written, reset by the client or the
  // connection lost. Last call.
  virtual void OnClose() = 0;
};

// The methods a connection serves, by path. Called on the connection's thread.
class MethodTable {
 public:
  enum class Kind { kUnknown, kUnary, kBidiStream };
  virtual ~MethodTable() = default;
  virtual Kind Find(std::string_view path) const = 0;
  // Whether a call of a known method may go on, asked once its headers are
  // complete and before any of its DATA is taken (the access policy: no
  // request body is read for a client refused). On OK `info->grant` is what
  // OnUnary / OnStream then see; a refusal answers the call at once (counted
  // through OnRefused) and what the client still sends is dropped, its
  // flow-control credit returned.
  virtual core::Status Admit(CallInfo* /*info*/) { return core::Status::Ok(); }
  // A unary call with its one request message.
  virtual void OnUnary(const CallInfo& info, std::string message, Responder responder) = 0;
  // A new streaming call.
  virtual std::shared_ptr<StreamHandler> OnStream(const CallInfo& info, Responder responder) = 0;
  // The connection answered a call itself, before any method saw it (not
  // gRPC, unknown method, a message too large, compressed or cut short).
  virtual void OnRefused(const core::Status& status) = 0;
  // The connection broke the HTTP/2 protocol (nghttp2 sent GOAWAY naming
  // the error) and is closed.
  virtual void OnProtocolError(std::string_view what) = 0;
  // Why the connection closes itself (not the client, not the server's
  // drain or stop).
  enum class CloseReason { kIdle, kWriteTimeout, kStalled };
  virtual void OnClosed(CloseReason) {}
};

struct H2Options {
  int64_t max_message_bytes = 64 * 1024 * 1024;
  uint32_t max_concurrent_streams = 1024;
  int32_t stream_window_bytes = 1 << 20;  // each stream's flow-control window
  // A streaming call takes no further request while more of its replies
  // than this wait to be sent (the client is not reading them).
  size_t max_unsent_reply_bytes = 4 << 20;
  // Closed after this long with no call open and no byte read or written;
  // zero: never.
  std::chrono::steady_clock::duration idle_timeout{};
  // Request bytes the connection holds at most (the client's flow-control
  // credit included); raised to max_message_bytes plus a prefix if lower.
  int64_t max_connection_buffer_bytes = 128 << 20;
  // Request bytes of every connection together; null: no shared bound.
  // Not owned; outlives the connection.
  ByteBudget* buffered = nullptr;
  // Replies of all its calls waiting for the client; over this the
  // connection takes no new request until they drain.
  size_t max_connection_unsent_bytes = 16 << 20;
  // Closed when replies wait and no byte could be written this long;
  // zero: never.
  std::chrono::steady_clock::duration write_timeout{};
  // Closed when a call has part of a message and nothing was read or
  // written this long (a message that never completes); zero: never.
  std::chrono::steady_clock::duration stall_timeout{};
};

class H2Connection : public net::Connection, public std::enable_shared_from_this<H2Connection> {
 public:
  H2Connection(net::Stream stream, MethodTable* methods, const H2Options& options);
  ~H2Connection() override;
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  // Sends the server's SETTINGS and starts reading. On the IO thread.
  void Start();
  boost::asio::any_io_executor executor() { return executor_; }
  // net::Connection, both thread-safe (they post). Drain: calls open go on
  // (new ones are the MethodTable's to refuse); once none is open the
  // connection sends GOAWAY and closes. Close: closes the socket now (calls
  // still open are cancelled).
  void Drain() override;
  void Close() override;

 private:
  friend class Responder;
  struct Stream;
  struct Out {
    std::string data;
    bool finish = false;
    core::Status status;
    bool resume = false;
  };

  // Posted by Responder.
  void Post(int32_t stream_id, Out out);
  void Apply(int32_t stream_id, Out out);
  void StartResponse(Stream& s);
  void Deliver(Stream& s);
  bool HoldsBack(const Stream& s) const;
  // After a write: streams held back for unsent replies go on if they can,
  // unary calls held back are handed on, credit withheld is given.
  void DeliverWrittenOut();
  bool OverUnsent() const { return unsent_ > options_.max_connection_unsent_bytes; }
  // Hands a unary call's message to the method, or queues it while OverUnsent.
  void Dispatch(Stream& s);
  // Brings held_ and the shared budget in line with what `s` holds now;
  // bytes no longer held are credited to the client.
  void Recount(Stream& s);
  // Drops what `s` holds (it ended or closed).
  void Drop(Stream& s);
  // Gives `s` the credit it waits for, as far as the bounds allow.
  void Credit(Stream& s);
  void CreditAll();
  void Consume(Stream& s, size_t bytes);
  void WaitForBudget();
  void StartTimers();
  // True when a call not paused by its handler has received part of a
  // message (the stall timeout's concern).
  bool HoldsPartial() const;
  void CloseFor(MethodTable::CloseReason reason);
  void Fail(Stream& s, const core::Status& status);

  void Read();
  void Flush();
  void WriteSome();
  void CloseNow();
  // True while a call is open or a write is out: not idle.
  bool Busy() const { return !streams_.empty() || writing_; }
  // GOAWAY (no error), then close once it is written. No call is open.
  void CloseIdle();

  // nghttp2 callbacks.
  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t flags, void* self);
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int OnDataChunk(nghttp2_session*, uint8_t flags, int32_t stream_id, const uint8_t* data, size_t len,
                         void* self);
  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* self);
  static int OnFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static ssize_t ReadBody(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length, uint32_t* flags,
                          nghttp2_data_source* source, void* self);

  CallInfo Info(const Stream& s) const;
  void HeadersDone(Stream& s);
  void ReportProtocolError(const char* what);
  void ClientDone(Stream& s);

  net::Stream stream_;
  boost::asio::any_io_executor executor_;  // stream_'s, readable from any thread
  net::IdleTimer idle_;
  net::IdleTimer write_timer_;  // touched as bytes are written
  net::IdleTimer stall_timer_;  // touched as bytes are read or written
  MethodTable* methods_;
  H2Options options_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, std::unique_ptr<Stream>> streams_;
  std::vector<int32_t> waiting_for_output_;  // streams held back for unsent replies
  std::vector<int32_t> waiting_unary_;       // unary calls held back for unsent replies
  int64_t window_ = 0;        // the connection's flow-control window
  int64_t credit_limit_ = 0;  // credited request bytes held at most
  int64_t held_ = 0;          // request bytes held, credited or not
  int64_t uncredited_ = 0;    // of which not yet credited
  size_t unsent_ = 0;         // reply bytes not yet handed to nghttp2
  bool waits_for_budget_ = false;
  std::vector<uint8_t> read_buffer_;
  std::string write_buffer_;
  size_t write_pos_ = 0;  // of write_buffer_, written
  bool writing_ = false;
  bool close_after_write_ = false;
  bool protocol_error_reported_ = false;
  bool closed_ = false;
  bool draining_ = false;  // close once no call is open
};

}  // namespace infergate::grpc_frontend
