#include "frontends/mqtt/mqtt_client.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "frontends/mqtt/mqtt_client_impl.h"

namespace infergate::mqtt {

namespace asio = boost::asio;

namespace {

// How often the network thread looks at its clocks.
constexpr auto kTick = std::chrono::milliseconds(100);
// OnIdle runs at least this often.
constexpr auto kIdlePeriod = std::chrono::seconds(1);
// After Stop's flush, how long the DISCONNECT may take.
constexpr auto kCloseGrace = std::chrono::seconds(1);

double Seconds(core::Duration d) { return std::chrono::duration<double>(d).count(); }

core::Labels WithReason(core::Labels labels, const char* reason) {
  labels.emplace_back("reason", reason);
  return labels;
}

core::StatusOr<std::shared_ptr<asio::ssl::context>> MakeTlsContext(const ClientOptions& o) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1 | asio::ssl::context::no_compression,
                   ec);
  ctx->set_verify_mode(asio::ssl::verify_peer);
  if (o.tls_ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) return core::InvalidArgument("mqtt: the system CA store: " + ec.message());
  } else if (ctx->load_verify_file(o.tls_ca_file, ec); ec) {
    return core::InvalidArgument("mqtt: tls.ca_file '" + o.tls_ca_file + "': " + ec.message());
  }
  if (!o.tls_cert_file.empty()) {
    if (ctx->use_certificate_chain_file(o.tls_cert_file, ec); ec) {
      return core::InvalidArgument("mqtt: tls.cert_file '" + o.tls_cert_file + "': " + ec.message());
    }
    const std::string& key = o.tls_key_file.empty() ? o.tls_cert_file : o.tls_key_file;
    if (ctx->use_private_key_file(key, asio::ssl::context::pem, ec); ec) {
      return core::InvalidArgument("mqtt: tls.key_file '" + key + "': " + ec.message());
    }
  }
  return ctx;
}

}  // namespace

// --- MqttClient: forwards to Impl.

core::StatusOr<std::unique_ptr<MqttClient>> MqttClient::Create(ClientOptions options,
                                                             MqttClientListener* listener) {
  if (options.client_id.empty()) return core::InvalidArgument("mqtt: empty client id");
  if (options.receive_maximum == 0) return core::InvalidArgument("mqtt: receive maximum 0");
  std::shared_ptr<asio::ssl::context> tls;
  if (options.broker.tls) {
    ASSIGN_OR_RETURN(tls, MakeTlsContext(options));
  }
  return std::unique_ptr<MqttClient>(
      new MqttClient(std::make_unique<Impl>(std::move(options), listener, std::move(tls))));
}

MqttClient::MqttClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MqttClient::~MqttClient() { Stop(std::chrono::seconds(0)); }
void MqttClient::Start() { impl_->Start(); }
void MqttClient::Stop(core::Duration flush) { impl_->Stop(flush); }
core::Status MqttClient::Publish(OutgoingMessage m, PublishDone done) {
  return impl_->Publish(std::move(m), std::move(done));
}
void MqttClient::Acknowledge(const AckHandle& ack) { impl_->Acknowledge(ack); }
core::Status MqttClient::Subscribe(const std::string& filter, int qos) { return impl_->Subscribe(filter, qos); }
core::Status MqttClient::Unsubscribe(const std::string& filter, UnsubscribeDone on_done) {
  return impl_->Unsubscribe(filter, std::move(on_done));
}
void MqttClient::SetReadPaused(bool paused) { impl_->SetReadPaused(paused); }
void MqttClient::Wake() { impl_->Wake(); }
const ClientOptions& MqttClient::options() const { return impl_->options(); }
bool MqttClient::connected() const { return impl_->connected(); }
uint32_t MqttClient::max_packet_size() const { return impl_->max_packet_size(); }

void MqttClient::PublishStatus(const std::string& payload) {
  if (impl_->options().status_topic.empty()) return;
  OutgoingMessage m{impl_->options().status_topic, payload, 1, true, std::nullopt, "", {}};
  if (auto st = Publish(std::move(m)); !st.ok()) spdlog::warn("{}", st.message());
}

// --- Impl: construction, the inbox, the pump.

MqttClient::Impl::Impl(ClientOptions options, MqttClientListener* listener,
                       std::shared_ptr<asio::ssl::context> tls)
    : options_(std::move(options)),
      listener_(listener),
      version_(options_.mqtt5 ? ProtocolVersion::kV5 : ProtocolVersion::kV311),
      clock_(options_.clock),
      timer_(io_),
      resolver_(io_),
      tls_(std::move(tls)),
      own_metrics_(options_.metrics ? nullptr : std::make_unique<core::MetricsRegistry>()),
      metrics_(options_.metrics ? options_.metrics : own_metrics_.get()),
      stalls_(&metrics_->GetCounter("infergate_mqtt_stalls_total",
                                    "MQTT connections closed because publishes or pings went unacknowledged",
                                    options_.metric_labels)),
      queue_messages_(&metrics_->GetGauge("infergate_mqtt_publish_queue_messages",
                                          "MQTT publishes queued and not yet sent", options_.metric_labels)),
      queue_bytes_(&metrics_->GetGauge("infergate_mqtt_publish_queue_bytes",
                                       "Bytes of MQTT publishes queued and not yet sent", options_.metric_labels)),
      unacked_(&metrics_->GetGauge("infergate_mqtt_unacked_publishes",
                                   "QoS 1/2 MQTT publishes sent and not yet acknowledged", options_.metric_labels)),
      oldest_age_(&metrics_->GetGauge("infergate_mqtt_oldest_unacked_publish_age_seconds",
                                      "Age of the oldest unacknowledged MQTT publish", options_.metric_labels)),
      backoff_(clock_, options_.reconnect_min, options_.reconnect_max),
      session_(version_) {
  read_buf_.resize(64 * 1024);
}

MqttClient::Impl::~Impl() { Stop(std::chrono::seconds(0)); }

void MqttClient::Impl::Start() {
  thread_ = std::thread([this] {
    asio::post(io_, [this] {
      StartConnect();
      ArmTimer();
    });
    io_.run();
  });
}

core::Status MqttClient::Impl::Publish(OutgoingMessage m, PublishDone on_done) {
  if (stopped_.load()) {
    CountFailure("stopped");
    return core::Unavailable("mqtt: the client has stopped");
  }
  PublishPacket p;
  p.topic = std::move(m.topic);
  p.payload = m.payload;
  p.qos = static_cast<uint8_t>(std::min<int>(m.qos, max_qos_.load()));
  p.retain = m.retain && retain_available_.load();
  if (version_ == ProtocolVersion::kV5) {
    p.properties.correlation_data = std::move(m.correlation_data);
    if (!m.content_type.empty()) p.properties.content_type = std::move(m.content_type);
    p.properties.user_properties = std::move(m.user_properties);
  }
  const size_t size = PublishSize(p, version_);
  if (uint32_t max = max_packet_size_.load(); max && size > max) {
    CountFailure("too_large");
    return core::ResourceExhausted("mqtt: publish to '" + p.topic + "' of " + std::to_string(size) +
                                   " bytes exceeds the broker's maximum packet size (" +
                                   std::to_string(max) + ")");
  }
  if (p.qos == 0 && !connected_.load()) {
    CountFailure("disconnected");
    return core::Unavailable("mqtt: not connected; QoS 0 publish to '" + p.topic + "' dropped");
  }
  const auto bytes = static_cast<int64_t>(size);
  if (held_bytes_.fetch_add(bytes) + bytes > options_.max_queued_publish_bytes) {
    held_bytes_.fetch_sub(bytes);
    CountFailure("queue_full");
    return core::ResourceExhausted("mqtt: publish queue full (mqtt.max_queued_publish_bytes = " +
                                   std::to_string(options_.max_queued_publish_bytes) + ")");
  }
  OutPublish out;
  EncodePublish(p, version_, &out.bytes, &out.id_offset);
  out.qos = p.qos;
  out.done = std::move(on_done);
  {
    std::lock_guard lock(mu_);
    inbox_publishes_.push_back(std::move(out));
  }
  RequestPump();
  return core::Status::Ok();
}

void MqttClient::Impl::Acknowledge(const AckHandle& ack) {
  if (ack.qos == 0) return;
  {
    std::lock_guard lock(mu_);
    inbox_acks_.push_back(ack);
  }
  RequestPump();
}

void MqttClient::Impl::SetReadPaused(bool paused) {
  if (pause_requested_.exchange(paused) != paused && !paused) RequestPump();
}

void MqttClient::Impl::Wake() {
  idle_requested_ = true;
  RequestPump();
}

// One post however many threads ask before the network thread runs it.
void MqttClient::Impl::RequestPump() {
  {
    std::lock_guard lock(mu_);
    if (pump_posted_) return;
    pump_posted_ = true;
  }
  asio::post(io_, [this] { Pump(); });
}

void MqttClient::Impl::Pump() {
  std::vector<OutPublish> publishes;
  std::vector<AckHandle> acks;
  {
    std::lock_guard lock(mu_);
    pump_posted_ = false;
    publishes.swap(inbox_publishes_);
    acks.swap(inbox_acks_);
  }
  for (const auto& a : acks) {
    if (state_ == State::kConnected && a.epoch == epoch_) session_.Acknowledge(a.packet_id, a.qos, &out_);
  }
  for (auto& p : publishes) session_.Enqueue(std::move(p));
  ApplyPause();
  if (state_ == State::kConnected) {
    std::vector<Completion> failed;
    session_.Fill(clock_->Now(), &out_, &out_done_, &failed);
    Complete(&failed);
  }
  if (idle_requested_.exchange(false)) listener_->OnIdle();
  StartRead();
  StartWrite();
  UpdateGauges(false);
  CheckStop();
}

void MqttClient::Impl::ApplyPause() {
  const bool paused = pause_requested_.load() && !stopping_;
  if (paused == paused_) return;
  paused_ = paused;
  if (!paused_) DeliverHeld();
}

// Hands the messages read while paused to the listener, until it pauses again.
void MqttClient::Impl::DeliverHeld() {
  while (!held_.empty() && !paused_) {
    IncomingMessage m = std::move(held_.front());
    held_.pop_front();
    held_payload_bytes_ -= m.payload->size();
    listener_->OnMessage(std::move(m));
    paused_ = pause_requested_.load() && !stopping_;
  }
}

void MqttClient::Impl::Complete(std::vector<Completion>* done) {
  for (auto& c : *done) {
    held_bytes_.fetch_sub(static_cast<int64_t>(c.bytes));
    if (c.reason[0]) CountFailure(c.reason);
    if (c.done) c.done(c.status);
  }
  done->clear();
}

void MqttClient::Impl::CountFailure(const char* reason) {
  metrics_
      ->GetCounter("infergate_mqtt_publish_failures_total", "MQTT publishes refused or dropped, by reason",
                   WithReason(options_.metric_labels, reason))
      .Increment();
}

void MqttClient::Impl::UpdateGauges(bool with_age) {
  queue_messages_->Set(static_cast<double>(session_.queued_messages()));
  queue_bytes_->Set(static_cast<double>(session_.queued_bytes()));
  unacked_->Set(static_cast<double>(session_.unacked()));
  if (!with_age) return;
  auto oldest = session_.OldestUnacked();
  oldest_age_->Set(oldest && state_ == State::kConnected ? Seconds(clock_->Now() - *oldest) : 0.0);
}

// --- The timer: reconnects, keepalive, stalls, OnIdle, Stop's deadlines.

void MqttClient::Impl::ArmTimer() {
  timer_.expires_after(kTick);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) Tick();
  });
}

void MqttClient::Impl::Tick() {
  const core::TimePoint now = clock_->Now();
  if (state_ == State::kIdle && !stopping_ && backoff_.Due()) StartConnect();
  CheckTimeouts(now);
  if (now >= next_idle_) {
    idle_requested_ = true;
    next_idle_ = now + kIdlePeriod;
  }
  if (stop_final_ && std::chrono::steady_clock::now() >= hard_deadline_) return Finish();
  UpdateGauges(true);
  Pump();
  ArmTimer();
}

void MqttClient::Impl::CheckTimeouts(core::TimePoint now) {
  const core::Duration limit = options_.stall_timeout;
  if ((state_ == State::kConnecting || state_ == State::kAwaitingConnack) && now - state_since_ > limit) {
    return ConnectFailed("no CONNACK within " + std::to_string(Seconds(limit)) + " s");
  }
  if (state_ == State::kClosing && now - state_since_ > kCloseGrace) return ConnectionLost("closed");
  if (state_ != State::kConnected) return;
  if (keepalive_secs_ > 0 && !ping_sent_ && now - last_write_ >= std::chrono::seconds(keepalive_secs_)) {
    EncodePing(PacketType::kPingreq, &out_);
    ping_sent_ = now;
  }
  // Only a connection that is being read can be judged: acks wait in the socket otherwise.
  const core::TimePoint read_from = read_blocked_ ? now : reading_since_;
  auto late = [&](core::TimePoint since) { return now - std::max(since, read_from) > limit; };
  if (auto oldest = session_.OldestUnacked(); oldest && late(*oldest)) {
    return Stall("publishes unacknowledged for more than " + std::to_string(Seconds(limit)) + " s");
  }
  if (ping_sent_ && late(*ping_sent_)) return Stall("no PINGRESP");
  if (write_in_progress_ && now - write_started_ > limit) return Stall("a write did not complete");
}

void MqttClient::Impl::Stall(const std::string& why) {
  stalls_->Increment();
  spdlog::warn("{}: connection to {} stalled ({}); reconnecting", options_.log_name, options_.broker.ToString(), why);
  ConnectionLost("stalled");
}

// --- Stop.

void MqttClient::Impl::Stop(core::Duration flush) {
  if (!thread_.joinable()) return;
  asio::post(io_, [this, flush] { BeginStop(flush); });
  thread_.join();
}

void MqttClient::Impl::BeginStop(core::Duration flush) {
  stopping_ = true;
  flush_deadline_ = std::chrono::steady_clock::now() + flush;
  if (!options_.status_topic.empty()) {
    OutgoingMessage m{options_.status_topic, options_.status_offline, 1, true, std::nullopt, "", {}};
    if (auto st = Publish(std::move(m), nullptr); !st.ok()) spdlog::debug("{}", st.message());
  }
  Pump();
}

void MqttClient::Impl::CheckStop() {
  if (!stopping_ || stop_final_) return;
  const bool flushed = session_.idle() && out_.empty() && !write_in_progress_;
  if (state_ == State::kConnected && !flushed && std::chrono::steady_clock::now() < flush_deadline_) return;
  stop_final_ = true;
  stopped_ = true;  // publishes from now on are refused
  hard_deadline_ = std::chrono::steady_clock::now() + kCloseGrace;
  if (state_ == State::kConnected) {
    CloseWithReason(reason::kSuccess, "stopping");
  } else {
    Finish();
  }
}

// Last act of the network thread: what is still held fails, the loop ends.
void MqttClient::Impl::Finish() {
  if (finished_) return;
  finished_ = true;
  if (stream_) ConnectionLost("stopped");
  std::vector<Completion> done;
  session_.FailAll(core::Cancelled("mqtt: the client stopped before the publish was acknowledged"),
                   "stopped", &done);
  Complete(&done);
  timer_.cancel();
  io_.stop();
}

}  // namespace infergate::mqtt
