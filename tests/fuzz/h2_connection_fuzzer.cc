// The gRPC frontend's HTTP/2 connection (grpc_frontend::H2Connection: the
// nghttp2 server session with our callbacks, message framing, flow control
// and replies) fed the fuzz input as the bytes a client sends, over a real
// loopback TCP connection on one io_context: no seam in the connection.
//
// Per input: connect a client socket to a listening one, start an
// H2Connection on the accepted end, write the input from the client, run
// the io_context until nothing is left to do, then end the client's side
// (the connection reads end of stream and closes) and run until all work is
// gone. What the server writes is read and dropped.
//
// The MethodTable answers at once, so replies, trailers and held-back
// streams run too: /f.S/Unary echoes its message, /f.S/Fail ends with an
// error, /f.S/Stream (bidirectional) echoes every message and holds back
// every third one until it resumes itself.
//
// Seeds start with the client connection preface
// ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <string>

#include "frontends/grpc/h2_connection.h"
#include "fuzz/fuzz_input.h"

namespace infergate::fuzz {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using grpc_frontend::MethodTable;
using grpc_frontend::Responder;

std::string Frame(const std::string& message) {
  std::string out(5, '\0');
  const auto n = static_cast<uint32_t>(message.size());
  out[1] = static_cast<char>(n >> 24);
  out[2] = static_cast<char>(n >> 16);
  out[3] = static_cast<char>(n >> 8);
  out[4] = static_cast<char>(n);
  return out + message;
}

class EchoStream final : public grpc_frontend::StreamHandler {
 public:
  explicit EchoStream(Responder responder) : responder_(std::move(responder)) {}
  bool OnMessage(std::string message) override {
    responder_->Send(Frame(message));
    if (++count_ % 3 != 0) return true;
    responder_->ResumeReading();  // posted: runs after this hold takes effect
    return false;
  }
  void OnHalfClose() override { responder_->Finish(core::Status::Ok()); }
  void OnClose() override { responder_.reset(); }  // lets go of the connection

 private:
  std::optional<Responder> responder_;
  int count_ = 0;
};

class Methods final : public MethodTable {
 public:
  Kind Find(std::string_view path) const override {
    if (path == "/f.S/Unary" || path == "/f.S/Fail") return Kind::kUnary;
    if (path == "/f.S/Stream") return Kind::kBidiStream;
    return Kind::kUnknown;
  }
  void OnUnary(const grpc_frontend::CallInfo& info, std::string message, Responder responder) override {
    if (info.method == "/f.S/Fail") return responder.Finish(core::InvalidArgument("fail \n\x7f%"));
    responder.Reply(Frame(message));
  }
  std::shared_ptr<grpc_frontend::StreamHandler> OnStream(const grpc_frontend::CallInfo&,
                                                         Responder responder) override {
    return std::make_shared<EchoStream>(std::move(responder));
  }
  void OnRefused(const core::Status&) override {}
  void OnProtocolError(std::string_view) override {}
};

struct Loop {
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)};
  Methods methods;
};

// Reads and drops what the server sends until it closes.
void Drain(tcp::socket& client, std::vector<char>& buffer) {
  client.async_read_some(asio::buffer(buffer), [&client, &buffer](boost::system::error_code ec, size_t) {
    if (!ec) Drain(client, buffer);
  });
}

void RunUntilIdle(asio::io_context& io) {
  io.restart();
  while (io.poll() > 0) {
  }
}

void Run(std::string_view in) {
  static Loop* loop = new Loop;  // lives for the process: one listening socket
  // Connected and accepted asynchronously: libFuzzer's timer signal can
  // interrupt a blocking connect or accept (EINTR), never the event loop.
  tcp::socket client(loop->io);
  tcp::socket server(loop->io);
  boost::system::error_code connect_error, accept_error;
  bool connected = false, accepted = false;
  client.async_connect(loop->acceptor.local_endpoint(), [&](boost::system::error_code ec) {
    connect_error = ec;
    connected = true;
  });
  loop->acceptor.async_accept(server, [&](boost::system::error_code ec) {
    accept_error = ec;
    accepted = true;
  });
  do {
    RunUntilIdle(loop->io);
  } while (!connected || !accepted);
  if (connect_error || accept_error) return;  // not the input's doing

  grpc_frontend::H2Options options;
  options.max_message_bytes = 1 << 16;
  options.max_concurrent_streams = 16;
  options.stream_window_bytes = 1 << 14;
  options.max_unsent_reply_bytes = 256;
  auto connection = std::make_shared<grpc_frontend::H2Connection>(net::Stream(std::move(server)),
                                                                  &loop->methods, options);
  connection->Start();

  std::vector<char> buffer(1 << 16);
  Drain(client, buffer);
  const std::string input(in);
  bool written = false;
  asio::async_write(client, asio::buffer(input), [&written](boost::system::error_code, size_t) { written = true; });
  do {
    RunUntilIdle(loop->io);
  } while (!written);

  boost::system::error_code ignored;
  client.shutdown(tcp::socket::shutdown_send, ignored);
  connection.reset();
  loop->io.restart();
  loop->io.run();  // until the connection closed and the client read it
}

}  // namespace
}  // namespace infergate::fuzz

INFERGATE_FUZZ_TARGET(infergate::fuzz::Run)
