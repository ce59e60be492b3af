// An HTTP/2 client (nghttp2's, on a blocking socket) that behaves as an
// attacker on the gRPC frontend may: many calls on one connection, messages
// that never complete, replies that are never read (no WINDOW_UPDATE is ever
// sent). Used by limits_test.cc. One thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace infergate::grpc_frontend {

// `payload` behind a gRPC message prefix announcing `length` bytes (-1: its size).
inline std::string FramedMessage(const std::string& payload, int64_t length = -1) {
  const uint32_t n = static_cast<uint32_t>(length < 0 ? payload.size() : length);
  std::string out{0, static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                  static_cast<char>(n)};
  return out + payload;
}

// A blocking TCP socket connected to 127.0.0.1:`port`; -1 when it cannot.
inline int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) return fd;
  if (fd >= 0) close(fd);
  return -1;
}

// A client session with `callbacks` (deleted here) for `self`, its SETTINGS
// queued. With `credit_replies` false, what the server sends is credited
// only by explicit nghttp2_session_consume calls.
inline nghttp2_session* NewClientSession(nghttp2_session_callbacks* callbacks, void* self, bool credit_replies) {
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, credit_replies ? 0 : 1);
  nghttp2_session* session = nullptr;
  nghttp2_session_client_new2(&session, callbacks, self, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  return session;
}

class H2Attacker {
 public:
  // `read_replies` false: the client never credits what the server sends,
  // so the server can send it 64 KiB in all and no more.
  H2Attacker(int port, bool read_replies) {
    fd_ = ConnectLoopback(port);
    if (fd_ < 0) {
      failed_ = true;
      return;
    }
    authority_ = "127.0.0.1:" + std::to_string(port);
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* frame, const uint8_t* n, size_t nl, const uint8_t* v, size_t vl,
               uint8_t, void* self) {
          const std::string name(reinterpret_cast<const char*>(n), nl);
          if (name == "grpc-status" || name == "grpc-message") {
            static_cast<H2Attacker*>(self)->calls_[frame->hd.stream_id].headers[name] =
                std::string(reinterpret_cast<const char*>(v), vl);
          }
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cb, [](nghttp2_session*, uint8_t, int32_t, const uint8_t*, size_t len, void* self) {
          static_cast<H2Attacker*>(self)->received_ += len;
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, [](nghttp2_session*, int32_t id, uint32_t, void* self) {
      static_cast<H2Attacker*>(self)->calls_[id].closed = true;
      return 0;
    });
    session_ = NewClientSession(cb, this, read_replies);
  }
  ~H2Attacker() {
    if (session_) nghttp2_session_del(session_);
    if (fd_ >= 0) close(fd_);
  }
  H2Attacker(const H2Attacker&) = delete;
  H2Attacker& operator=(const H2Attacker&) = delete;

  // Opens a call that sends `body` and `pad` bytes more (made up as they
  // are sent), then ends the request when `end`, or else stays open sending
  // nothing more; with `authorization` metadata unless empty. The stream
  // id, or < 0.
  int32_t Submit(const std::string& path, std::string body, bool end, size_t pad = 0,
                 const std::string& authorization = "") {
    if (!session_) return -1;
    auto source = std::make_unique<Body>(Body{this, std::move(body), 0, pad, end});
    auto nv = [](const std::string& n, const std::string& v) {
      return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                        reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                        NGHTTP2_NV_FLAG_NONE};
    };
    const std::string names[] = {":method", ":scheme", ":authority", ":path", "content-type", "te"};
    const std::string values[] = {"POST", "http", authority_, path, "application/grpc", "trailers"};
    std::vector<nghttp2_nv> headers;
    for (size_t i = 0; i < std::size(names); ++i) headers.push_back(nv(names[i], values[i]));
    const std::string authorization_name = "authorization";
    if (!authorization.empty()) headers.push_back(nv(authorization_name, authorization));
    nghttp2_data_provider provider{};
    provider.source.ptr = source.get();
    provider.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                                nghttp2_data_source* src, void*) -> ssize_t {
      auto* b = static_cast<Body*>(src->ptr);
      size_t n = std::min(length, b->data.size() - b->pos);
      std::memcpy(buf, b->data.data() + b->pos, n);
      b->pos += n;
      if (b->pos == b->data.size()) {
        const size_t more = std::min(length - n, b->pad);
        std::memset(buf + n, 'p', more);
        b->pad -= more;
        n += more;
      }
      b->owner->sent_ += n;
      if (b->pos == b->data.size() && b->pad == 0) {
        if (b->end) {
          *flags |= NGHTTP2_DATA_FLAG_EOF;
        } else if (n == 0) {
          return NGHTTP2_ERR_DEFERRED;
        }
      }
      return static_cast<ssize_t>(n);
    };
    const int32_t id = nghttp2_submit_request(session_, nullptr, headers.data(), headers.size(), &provider, nullptr);
    if (id > 0) bodies_.push_back(std::move(source));
    return id;
  }

  // Sends what flow control allows, then waits up to `wait` for bytes from
  // the server and takes them in. False once the connection is gone.
  bool Pump(std::chrono::milliseconds wait) {
    if (!session_ || failed_) return false;
    const uint8_t* out = nullptr;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(session_, &out)) > 0) {
      if (send(fd_, out, static_cast<size_t>(n), MSG_NOSIGNAL) != n) return Fail();
    }
    pollfd p{fd_, POLLIN, 0};
    for (int timeout = static_cast<int>(wait.count()); poll(&p, 1, timeout) > 0; timeout = 0) {
      uint8_t buf[65536];
      const ssize_t got = recv(fd_, buf, sizeof(buf), 0);
      if (got <= 0 || nghttp2_session_mem_recv(session_, buf, static_cast<size_t>(got)) < 0) return Fail();
    }
    return true;
  }

  // Pumps until `done()` or `timeout`; false at the timeout or when the
  // connection is gone first.
  template <typename Done>
  bool PumpUntil(Done done, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > until || !Pump(std::chrono::milliseconds(10))) return done();
    }
    return true;
  }

  // Pumps until what was sent has not grown for `quiet` (the server gives
  // no more credit) or `timeout`.
  void PumpUntilBlocked(std::chrono::milliseconds quiet, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    size_t last = sent_;
    auto since = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < until && Pump(std::chrono::milliseconds(10))) {
      if (sent_ != last) {
        last = sent_;
        since = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - since > quiet) {
        return;
      }
    }
  }

  size_t sent() const { return sent_; }          // DATA bytes sent, every call
  size_t received() const { return received_; }  // DATA bytes received
  bool failed() const { return failed_; }        // the connection is gone
  bool closed(int32_t id) const { return calls_.count(id) && calls_.at(id).closed; }
  std::string header(int32_t id, const std::string& name) const {
    auto c = calls_.find(id);
    if (c == calls_.end()) return {};
    auto h = c->second.headers.find(name);
    return h == c->second.headers.end() ? std::string() : h->second;
  }

 private:
  struct Body {
    H2Attacker* owner;
    std::string data;
    size_t pos;
    size_t pad;  // bytes still to make up after data
    bool end;
  };
  struct Call {
    std::map<std::string, std::string> headers;
    bool closed = false;
  };
  bool Fail() {
    failed_ = true;
    return false;
  }

  int fd_ = -1;
  nghttp2_session* session_ = nullptr;
  std::string authority_;
  std::vector<std::unique_ptr<Body>> bodies_;
  std::map<int32_t, Call> calls_;
  size_t sent_ = 0;
  size_t received_ = 0;
  bool failed_ = false;
};

}  // namespace infergate::grpc_frontend
