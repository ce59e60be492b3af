// MqttClient::Impl's connection: connect, read, dispatch, write, close
// (see mqtt_client_impl.h).
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "frontends/mqtt/mqtt_client_impl.h"

namespace infergate::mqtt {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Payload bytes read while paused before reading stops (back-pressure):
// enough to go on reading acknowledgements for a while, small enough not to
// hide a queue from the broker.
constexpr size_t kMaxHeldBytes = 256 * 1024;
// The read buffer's starting size; it grows for larger packets.
constexpr size_t kReadChunk = 64 * 1024;

std::string ConnackName(ProtocolVersion v, uint8_t code) {
  if (v == ProtocolVersion::kV311) {
    static const char* kNames[] = {"accepted", "unacceptable protocol version", "identifier rejected",
                                   "server unavailable", "bad user name or password", "not authorized"};
    return code < 6 ? kNames[code] : "return code " + std::to_string(code);
  }
  switch (code) {
    case 0x80: return "unspecified error";
    case 0x81: return "malformed packet";
    case 0x82: return "protocol error";
    case 0x84: return "unsupported protocol version";
    case 0x85: return "client identifier not valid";
    case 0x86: return "bad user name or password";
    case 0x87: return "not authorized";
    case 0x88: return "server unavailable";
    case 0x89: return "server busy";
    case 0x8A: return "banned";
    case 0x8C: return "bad authentication method";
    case 0x95: return "packet too large";
    case 0x97: return "quota exceeded";
    case 0x9C: return "use another server";
    case 0x9D: return "server moved";
    case 0x9F: return "connection rate exceeded";
    default: return "reason code " + std::to_string(code);
  }
}

// MQTT 5 UNSUBACK reason codes.
constexpr uint8_t kNoSubscriptionExisted = 0x11;

std::string UnsubackName(uint8_t code) {
  switch (code) {
    case 0x80: return "unspecified error";
    case 0x83: return "implementation specific error";
    case 0x87: return "not authorized";
    case 0x8F: return "topic filter invalid";
    case 0x91: return "packet identifier in use";
    default: return "reason code " + std::to_string(code);
  }
}

bool IsIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

void MqttClient::Impl::StartConnect() {
  state_ = State::kConnecting;
  state_since_ = clock_->Now();
  const uint64_t epoch = ++epoch_;
  resolver_.async_resolve(
      options_.broker.host, std::to_string(options_.broker.port),
      [this, epoch](const boost::system::error_code& ec, tcp::resolver::results_type results) {
        if (epoch != epoch_) return;
        if (ec) return ConnectFailed("cannot resolve " + options_.broker.host + ": " + ec.message());
        auto socket = std::make_shared<tcp::socket>(io_);
        asio::async_connect(*socket, results,
                            [this, epoch, socket](const boost::system::error_code& error, const tcp::endpoint&) {
                              if (epoch != epoch_) return;
                              if (error) return ConnectFailed(error.message());
                              OnTcpConnected(epoch, socket);
                            });
      });
}

void MqttClient::Impl::OnTcpConnected(uint64_t epoch, std::shared_ptr<tcp::socket> socket) {
  boost::system::error_code ignored;
  socket->set_option(tcp::no_delay(true), ignored);
  if (!tls_) {
    stream_ = std::make_unique<net::Stream>(std::move(*socket));
    return SendConnect();
  }
  stream_ = std::make_unique<net::Stream>(std::move(*socket), tls_, nullptr);
  auto* tls = stream_->tls();
  SSL_clear_mode(tls->native_handle(), SSL_MODE_RELEASE_BUFFERS);
  const std::string& host = options_.broker.host;
  if (!IsIpLiteral(host)) SSL_set_tlsext_host_name(tls->native_handle(), host.c_str());
  if (!options_.tls_insecure) tls->set_verify_callback(asio::ssl::host_name_verification(host));
  tls->async_handshake(asio::ssl::stream_base::client, [this, epoch](const boost::system::error_code& ec) {
    if (epoch != epoch_) return;
    if (ec) return ConnectFailed("TLS handshake: " + ec.message());
    stream_->SetHandshakeDone();
    SendConnect();
  });
}

void MqttClient::Impl::SendConnect() {
  state_ = State::kAwaitingConnack;
  ConnectPacket c;
  c.version = version_;
  c.client_id = options_.client_id;
  c.clean_start = options_.clean_session;
  c.keep_alive = static_cast<uint16_t>(options_.keepalive_secs);
  if (!options_.username.empty()) c.username = options_.username;
  if (!options_.password.empty()) c.password = options_.password;
  if (!options_.status_topic.empty()) {
    c.will = Will{options_.status_topic, options_.status_offline, 1, true, {}};
  }
  if (version_ == ProtocolVersion::kV5) {
    if (!options_.clean_session && options_.session_expiry_secs > 0) {
      c.properties.session_expiry = options_.session_expiry_secs;
    }
    // Always sent, also at its default 65535: mosquitto applies its own
    // max_inflight_messages (20) to an MQTT 5 client that announces none.
    c.properties.receive_maximum = options_.receive_maximum;
    if (options_.max_incoming_packet_bytes) c.properties.maximum_packet_size = options_.max_incoming_packet_bytes;
  }
  keepalive_secs_ = c.keep_alive;
  read_len_ = 0;
  reading_since_ = clock_->Now();
  EncodeConnect(c, &out_);
  StartWrite();
  StartRead();
}

void MqttClient::Impl::ConnectFailed(const std::string& why) {
  auto d = backoff_.Failed();
  spdlog::warn("{}: cannot connect to {}: {}; retrying in {:.1f} s", options_.log_name, options_.broker.ToString(), why,
               std::chrono::duration<double>(d).count());
  ConnectionLost("");
}

// --- Reading.

void MqttClient::Impl::StartRead() {
  if (reading_ || !stream_ || state_ == State::kClosing || state_ == State::kConnecting) return;
  if (held_payload_bytes_ >= kMaxHeldBytes) {
    read_blocked_ = true;
    return;
  }
  if (read_blocked_) {
    read_blocked_ = false;
    reading_since_ = clock_->Now();
  }
  if (read_buf_.size() - read_len_ < kReadChunk / 4) read_buf_.resize(read_buf_.size() * 2);
  reading_ = true;
  stream_->async_read_some(asio::buffer(read_buf_.data() + read_len_, read_buf_.size() - read_len_),
                           [this, epoch = epoch_](const boost::system::error_code& ec, size_t n) {
                             OnRead(epoch, ec, n);
                           });
}

void MqttClient::Impl::OnRead(uint64_t epoch, const boost::system::error_code& ec, size_t n) {
  if (epoch != epoch_) return;
  reading_ = false;
  if (ec) return ConnectionLost(ec == asio::error::eof ? "closed by the broker" : ec.message());
  read_len_ += n;
  ProcessBuffer();
  if (epoch != epoch_) return;
  idle_requested_ = true;
  Pump();
}

void MqttClient::Impl::ProcessBuffer() {
  const uint64_t epoch = epoch_;
  size_t used = 0;
  while (epoch == epoch_ && state_ != State::kClosing) {
    Frame frame;
    bool complete = false;
    std::string_view data(read_buf_.data() + used, read_len_ - used);
    core::Status st = NextFrame(data, options_.max_incoming_packet_bytes, &frame, &complete);
    if (st.ok() && !complete) break;
    if (st.ok()) st = Dispatch(frame);
    if (!st.ok()) {
      spdlog::warn("{}: {} from {}", options_.log_name, st.message(), options_.broker.ToString());
      return CloseWithReason(DisconnectReasonFor(st), st.message());
    }
    used += frame.size;
  }
  if (epoch != epoch_) return;
  std::memmove(read_buf_.data(), read_buf_.data() + used, read_len_ - used);
  read_len_ -= used;
  if (read_len_ == 0 && read_buf_.size() > kReadChunk) read_buf_.resize(kReadChunk);
}

core::Status MqttClient::Impl::Dispatch(const Frame& frame) {
  ASSIGN_OR_RETURN(Packet packet, DecodePacket(frame, version_));
  const PacketType type = frame.type();
  const bool connected = state_ == State::kConnected;
  if (type != PacketType::kConnack && type != PacketType::kDisconnect && !connected) {
    return core::FailedPrecondition("mqtt: protocol error: " + std::string(PacketTypeName(type)) +
                                    " before CONNACK");
  }
  if (auto* c = std::get_if<ConnackPacket>(&packet)) {
    if (connected) return core::FailedPrecondition("mqtt: protocol error: a second CONNACK");
    return HandleConnack(*c);
  }
  if (auto* p = std::get_if<PublishPacket>(&packet)) return HandlePublish(std::move(*p));
  if (auto* a = std::get_if<AckPacket>(&packet)) {
    if (a->type == PacketType::kPubrel) {
      session_.OnPubrel(a->packet_id, &out_);
    } else {
      std::vector<Completion> done;
      session_.OnAck(*a, &out_, &done);
      Complete(&done);
    }
    return core::Status::Ok();
  }
  if (auto* s = std::get_if<SubackPacket>(&packet)) {
    s->type == PacketType::kUnsuback ? HandleUnsuback(*s) : HandleSuback(*s);
    return core::Status::Ok();
  }
  if (type == PacketType::kPingresp) {
    ping_sent_.reset();
    return core::Status::Ok();
  }
  if (auto* d = std::get_if<DisconnectPacket>(&packet)) {
    std::string why = "DISCONNECT from the broker, " + ConnackName(version_, d->reason);
    if (d->properties.reason_string) why += " (" + *d->properties.reason_string + ")";
    spdlog::warn("{}: {}", options_.log_name, why);
    ConnectionLost(why);
    return core::Status::Ok();
  }
  return core::FailedPrecondition("mqtt: protocol error: a broker does not send " +
                                  std::string(PacketTypeName(type)));
}

core::Status MqttClient::Impl::HandleConnack(const ConnackPacket& c) {
  const Properties& p = c.properties;
  if (c.reason != 0) {
    std::string why = "refused: " + ConnackName(version_, c.reason);
    if (p.reason_string) why += " (" + *p.reason_string + ")";
    spdlog::error("{}: {} {}", options_.log_name, options_.broker.ToString(), why);
    ConnectFailed(why);
    return core::Status::Ok();
  }
  backoff_.Succeeded();
  state_ = State::kConnected;
  state_since_ = clock_->Now();
  SessionLimits limits;
  limits.receive_maximum = p.receive_maximum.value_or(65535);
  limits.maximum_packet_size = p.maximum_packet_size.value_or(0);
  limits.maximum_qos = p.maximum_qos.value_or(2);
  max_packet_size_ = limits.maximum_packet_size;
  max_qos_ = limits.maximum_qos;
  retain_available_ = p.retain_available.value_or(1) != 0;
  if (p.server_keep_alive) keepalive_secs_ = *p.server_keep_alive;
  if (p.assigned_client_id) spdlog::info("{}: the broker assigned client id {}", options_.log_name, *p.assigned_client_id);
  session_.Connected(c.session_present, limits, clock_->Now(), &out_);
  connected_ = true;
  spdlog::info("{}: connected to {} as {}{}", options_.log_name, options_.broker.ToString(), options_.client_id,
               c.session_present ? " (session kept)" : "");
  if (!options_.status_topic.empty() && !options_.status_online.empty()) {
    OutgoingMessage m{options_.status_topic, options_.status_online, 1, true, std::nullopt, "", {}};
    if (auto st = Publish(std::move(m), nullptr); !st.ok()) spdlog::warn("{}", st.message());
  }
  listener_->OnConnected(c.session_present);
  return core::Status::Ok();
}

core::Status MqttClient::Impl::HandlePublish(PublishPacket&& p) {
  if (p.properties.topic_alias) {
    return core::FailedPrecondition("mqtt: protocol error: Topic Alias without a Topic Alias Maximum");
  }
  if (!session_.OnIncoming(p, &out_)) return core::Status::Ok();  // a duplicate
  if (version_ == ProtocolVersion::kV5 && session_.incoming_unacked() > options_.receive_maximum) {
    return core::FailedPrecondition("mqtt: receive maximum exceeded");
  }
  IncomingMessage m;
  m.topic = std::move(p.topic);
  auto payload = std::make_shared<std::string>();
  payload->reserve(p.payload.size() + 64);  // lets the JSON parser work in place
  payload->assign(p.payload);
  m.payload = std::move(payload);
  m.qos = p.qos;
  m.retain = p.retain;
  m.duplicate = p.dup;
  Properties& props = p.properties;
  if (props.response_topic) m.response_topic = std::move(*props.response_topic);
  m.correlation_data = std::move(props.correlation_data);
  m.expiry_secs = props.message_expiry;
  if (props.content_type) m.content_type = std::move(*props.content_type);
  m.user_properties = std::move(props.user_properties);
  m.ack = AckHandle{epoch_, p.packet_id, p.qos};
  paused_ = pause_requested_.load() && !stopping_;
  if (paused_ || !held_.empty()) {
    held_payload_bytes_ += m.payload->size();
    held_.push_back(std::move(m));
    if (!paused_) DeliverHeld();
  } else {
    listener_->OnMessage(std::move(m));
  }
  return core::Status::Ok();
}

core::Status MqttClient::Impl::Subscribe(const std::string& filter, int qos) {
  if (state_ != State::kConnected) return core::Unavailable("mqtt: subscribe to '" + filter + "': not connected");
  SubscribePacket s;
  s.packet_id = session_.ReserveId();
  s.filters.emplace_back(filter, static_cast<uint8_t>(qos & 3));
  EncodeSubscribe(s, version_, &out_);
  pending_subscriptions_[s.packet_id] = filter;
  StartWrite();
  return core::Status::Ok();
}

void MqttClient::Impl::HandleSuback(const SubackPacket& s) {
  auto it = pending_subscriptions_.find(s.packet_id);
  if (it == pending_subscriptions_.end()) return;
  session_.ReleaseId(s.packet_id);
  const uint8_t code = s.reasons.empty() ? 0x80 : s.reasons[0];
  if (code >= 0x80) {
    spdlog::error("{}: the broker refused the subscription to {} (reason code {})", options_.log_name, it->second, code);
  } else {
    spdlog::info("{}: subscribed to {} (QoS {})", options_.log_name, it->second, code);
  }
  pending_subscriptions_.erase(it);
}

core::Status MqttClient::Impl::Unsubscribe(const std::string& filter, UnsubscribeDone on_done) {
  if (state_ != State::kConnected) {
    return core::Unavailable("mqtt: unsubscribe from '" + filter + "': not connected");
  }
  UnsubscribePacket u;
  u.packet_id = session_.ReserveId();
  u.filters.push_back(filter);
  EncodeUnsubscribe(u, version_, &out_);
  pending_unsubscriptions_[u.packet_id] = PendingUnsubscribe{filter, std::move(on_done)};
  StartWrite();
  return core::Status::Ok();
}

void MqttClient::Impl::HandleUnsuback(const SubackPacket& u) {
  auto it = pending_unsubscriptions_.find(u.packet_id);
  if (it == pending_unsubscriptions_.end()) return;
  session_.ReleaseId(u.packet_id);
  PendingUnsubscribe pending = std::move(it->second);
  pending_unsubscriptions_.erase(it);
  // MQTT 3.1.1: no reason codes, the subscription is gone.
  const uint8_t code = u.reasons.empty() ? reason::kSuccess : u.reasons[0];
  core::Status status;
  if (code >= 0x80) {
    status = core::FailedPrecondition("mqtt: the broker refused to unsubscribe from " + pending.filter + " (" +
                                      UnsubackName(code) + ")");
    spdlog::error("{}", status.message());
  } else {
    spdlog::info("{}: unsubscribed from {}{}", options_.log_name, pending.filter,
                 code == kNoSubscriptionExisted ? " (there was no such subscription)" : "");
  }
  if (pending.done) pending.done(status);
}

void MqttClient::Impl::FailUnsubscribes(const core::Status& status) {
  std::vector<UnsubscribeDone> failed;
  for (auto& [id, pending] : pending_unsubscriptions_) {
    session_.ReleaseId(id);
    if (pending.done) failed.push_back(std::move(pending.done));
  }
  pending_unsubscriptions_.clear();
  for (auto& done : failed) done(status);
}

// --- Writing and closing.

void MqttClient::Impl::StartWrite() {
  if (write_in_progress_ || out_.empty() || !stream_) return;
  writing_.swap(out_);
  out_.clear();
  writing_done_.swap(out_done_);
  write_in_progress_ = true;
  write_started_ = clock_->Now();
  asio::async_write(*stream_, asio::buffer(writing_),
                    [this, epoch = epoch_](const boost::system::error_code& ec, size_t) { OnWritten(epoch, ec); });
}

void MqttClient::Impl::OnWritten(uint64_t epoch, const boost::system::error_code& ec) {
  if (epoch != epoch_) return;
  write_in_progress_ = false;
  if (ec) return ConnectionLost("write: " + ec.message());
  last_write_ = clock_->Now();
  writing_.clear();
  std::vector<Completion> done;
  done.swap(writing_done_);
  Complete(&done);
  writing_done_.swap(done);  // keeps the capacity
  if (state_ == State::kClosing && out_.empty()) return ConnectionLost("closed");
  Pump();
}

void MqttClient::Impl::CloseWithReason(uint8_t reason, const std::string& why) {
  if (!stream_ || state_ == State::kClosing) return;
  if (state_ == State::kConnecting) return ConnectionLost(why);
  state_ = State::kClosing;
  state_since_ = clock_->Now();
  out_.clear();
  std::vector<Completion> dropped;
  dropped.swap(out_done_);
  for (auto& c : dropped) c.status = core::Unavailable("mqtt: connection closed"), c.reason = "disconnected";
  Complete(&dropped);
  EncodeDisconnect(DisconnectPacket{reason, {}}, version_, &out_);
  StartWrite();
}

void MqttClient::Impl::ConnectionLost(const std::string& why) {
  if (state_ == State::kIdle && !stream_) return;
  const bool connecting = state_ == State::kConnecting || state_ == State::kAwaitingConnack;
  if (connecting && !why.empty() && !stop_final_) return ConnectFailed(why);  // logs, backs off, returns here
  const bool was_connected = state_ == State::kConnected || state_ == State::kClosing;
  ++epoch_;  // handlers of this connection find themselves outdated
  if (stream_) {
    stream_->Close();
    stream_.reset();
  }
  state_ = State::kIdle;
  connected_ = false;
  reading_ = false;
  read_blocked_ = false;
  write_in_progress_ = false;
  writing_.clear();
  out_.clear();
  ping_sent_.reset();
  held_.clear();  // the broker sends QoS 1/2 ones again; QoS 0 ones are lost
  held_payload_bytes_ = 0;
  for (const auto& [id, filter] : pending_subscriptions_) session_.ReleaseId(id);
  pending_subscriptions_.clear();
  FailUnsubscribes(core::Unavailable("mqtt: connection lost before the UNSUBACK"));
  std::vector<Completion> done;
  for (auto* list : {&writing_done_, &out_done_}) {
    for (auto& c : *list) {
      done.push_back({std::move(c.done), core::Unavailable("mqtt: connection lost"), c.bytes, "disconnected"});
    }
    list->clear();
  }
  session_.Disconnected(&done);
  if (was_connected) {
    auto d = backoff_.Failed();
    if (!why.empty() && why != "stopping" && !stopping_) {
      spdlog::warn("{}: connection to {} lost: {}; reconnecting in {:.1f} s", options_.log_name, options_.broker.ToString(),
                   why, std::chrono::duration<double>(d).count());
    }
    listener_->OnDisconnected();
  }
  Complete(&done);
  if (stop_final_) Finish();
}

}  // namespace infergate::mqtt
