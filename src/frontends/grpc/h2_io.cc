// H2Connection's socket side: reading, writing a piece at a time, and the
// idle, write and stall timers (see h2_connection.h). On the connection's
// IO thread, except Drain and Close (they post).
#include "frontends/grpc/h2_connection.h"

#include <boost/asio/post.hpp>

namespace infergate::grpc_frontend {

namespace asio = boost::asio;

void H2Connection::StartTimers() {
  idle_.Start([weak = weak_from_this()] {
    auto self = weak.lock();
    if (!self || self->closed_) return false;
    if (self->Busy()) return true;
    self->methods_->OnClosed(MethodTable::CloseReason::kIdle);
    self->CloseIdle();
    return false;
  });
  write_timer_.Start([weak = weak_from_this()] {
    auto self = weak.lock();
    if (!self || self->closed_) return false;
    if (!self->writing_ && self->unsent_ == 0) return true;  // nothing waits to be written
    self->CloseFor(MethodTable::CloseReason::kWriteTimeout);
    return false;
  });
  stall_timer_.Start([weak = weak_from_this()] {
    auto self = weak.lock();
    if (!self || self->closed_) return false;
    if (!self->HoldsPartial()) return true;  // no message waits for its bytes
    self->CloseFor(MethodTable::CloseReason::kStalled);
    return false;
  });
}

void H2Connection::CloseFor(MethodTable::CloseReason reason) {
  methods_->OnClosed(reason);
  CloseNow();
}

void H2Connection::Drain() {
  asio::post(executor_, [self = shared_from_this()] {
    if (self->closed_) return;
    self->draining_ = true;
    if (self->streams_.empty()) self->CloseIdle();
  });
}

void H2Connection::Close() {
  asio::post(executor_, [self = shared_from_this()] { self->CloseNow(); });
}

void H2Connection::CloseIdle() {
  // After the GOAWAY is sent nghttp2 wants neither to read nor to write, and
  // Flush closes the socket.
  nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
  Flush();
}

void H2Connection::Read() {
  stream_.async_read_some(asio::buffer(read_buffer_), [self = shared_from_this()](boost::system::error_code ec,
                                                                                 size_t n) {
    if (self->closed_) return;
    if (ec) return self->CloseNow();
    self->idle_.Touch();
    self->stall_timer_.Touch();
    const ssize_t used = nghttp2_session_mem_recv(self->session_, self->read_buffer_.data(), n);
    if (used < 0) {
      // A protocol error: nghttp2 has queued a GOAWAY naming it; the
      // connection closes once that is written.
      self->ReportProtocolError(nghttp2_strerror(static_cast<int>(used)));
      self->close_after_write_ = true;
      self->Flush();
      if (!self->writing_) self->CloseNow();
      return;
    }
    self->Flush();
    if (!self->closed_) self->Read();
  });
}

void H2Connection::Flush() {
  if (writing_ || closed_) return;
  while (write_buffer_.size() < (1u << 20)) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) return CloseNow();
    if (n == 0) break;
    write_buffer_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  if (write_buffer_.empty()) {
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) CloseNow();
    return;
  }
  writing_ = true;
  write_timer_.Touch();  // the write timeout counts from here
  WriteSome();
}

void H2Connection::WriteSome() {
  // A piece at a time, so that the write timeout sees every bit of progress.
  stream_.async_write_some(
      asio::buffer(write_buffer_.data() + write_pos_, write_buffer_.size() - write_pos_),
      [self = shared_from_this()](boost::system::error_code ec, size_t n) {
        if (ec || self->closed_) {
          self->writing_ = false;
          return self->CloseNow();
        }
        self->idle_.Touch();
        self->write_timer_.Touch();
        self->stall_timer_.Touch();
        self->write_pos_ += n;
        if (self->write_pos_ < self->write_buffer_.size()) return self->WriteSome();
        self->writing_ = false;
        self->write_buffer_.clear();
        self->write_pos_ = 0;
        if (self->close_after_write_) return self->CloseNow();
        self->DeliverWrittenOut();
        self->Flush();
      });
}

}  // namespace infergate::grpc_frontend
