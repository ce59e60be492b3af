#include "frontends/mqtt/mqtt_frontend.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "frontends/mqtt/codec.h"
#include "pipeline/device_service.h"

namespace infergate::mqtt {

namespace {

// How often idle devices are looked for (OnIdle runs at least once a second
// while connected).
constexpr auto kEvictionPeriod = std::chrono::seconds(1);
// How long Stop lets the client flush the last replies and the offline
// status before it disconnects.
constexpr auto kStopFlush = std::chrono::milliseconds(500);

}  // namespace

std::string DefaultClientId() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = 0;
  return "infergate-" + std::string(host[0] ? host : "host") + "-" + std::to_string(getpid());
}

core::StatusOr<std::unique_ptr<MqttFrontend>> MqttFrontend::Create(
    const config::MqttConfig& config, core::InferenceService* inference,
    pipeline::DeviceService* devices, core::MetricsRegistry* metrics, const core::Clock* clock) {
  ASSIGN_OR_RETURN(BrokerUrl url, ParseBrokerUrl(config.broker));
  ASSIGN_OR_RETURN(std::vector<Route> routes, BuildRoutes(config));
  if (routes.empty()) {
    return core::InvalidArgument(
        "mqtt: no routes (default_route and default_telemetry_route are off and routes is empty)");
  }
  for (const auto& r : routes) {
    if (r.format == config::PayloadFormat::kTelemetry && !devices) {
      return core::InvalidArgument("mqtt: " + r.name + " carries telemetry but no device service was given");
    }
  }
  std::unique_ptr<MqttFrontend> f(
      new MqttFrontend(config, std::move(routes), inference, devices, metrics, clock));
  ClientOptions o;
  o.broker = url;
  o.client_id = config.client_id.empty() ? DefaultClientId() : config.client_id;
  o.mqtt5 = config.protocol_version == "5";
  o.username = config.username;
  o.password = config.password;
  o.tls_ca_file = config.tls.ca_file;
  o.tls_cert_file = config.tls.cert_file;
  o.tls_key_file = config.tls.key_file;
  o.tls_insecure = config.tls.insecure;
  o.keepalive_secs = config.keepalive_secs;
  o.clean_session = config.clean_session;
  o.session_expiry_secs = static_cast<uint32_t>(config.session_expiry_secs);
  o.status_topic = config.topic_prefix + "/status/" + o.client_id;
  o.reconnect_min = std::chrono::duration_cast<core::Duration>(
      std::chrono::duration<double>(config.reconnect_min_secs));
  o.reconnect_max = std::chrono::duration_cast<core::Duration>(
      std::chrono::duration<double>(config.reconnect_max_secs));
  o.clock = clock;
  o.metrics = metrics;
  o.receive_maximum = static_cast<uint16_t>(std::min(config.max_inflight, 65535));
  o.stall_timeout = core::SecsToMillis(config.stall_timeout_secs);
  o.max_queued_publish_bytes = config.max_queued_publish_bytes;
  ASSIGN_OR_RETURN(f->client_, MqttClient::Create(std::move(o), f.get()));
  f->shared_->client = f->client_.get();
  return f;
}

MqttFrontend::MqttFrontend(config::MqttConfig config, std::vector<Route> routes,
                           core::InferenceService* inference, pipeline::DeviceService* devices,
                           core::MetricsRegistry* metrics, const core::Clock* clock)
    : config_(std::move(config)),
      routes_(std::move(routes)),
      inference_(inference),
      devices_(devices),
      metrics_(metrics),
      clock_(clock),
      shared_(std::make_shared<ReplySink>()),
      next_eviction_(clock->Now() + kEvictionPeriod) {
  shared_->metrics = metrics;
  shared_->requests = &metrics->GetCounter("infergate_mqtt_requests_total",
                                           "MQTT requests submitted for inference");
  shared_->replies = &metrics->GetCounter("infergate_mqtt_replies_total",
                                          "MQTT replies (results and errors) handed to the client");
  shared_->reply_failures = &metrics->GetCounter(
      "infergate_mqtt_reply_failures_total", "MQTT replies the client library refused or that came after stop");
  shared_->inflight_gauge = &metrics->GetGauge("infergate_mqtt_inflight_requests",
                                               "MQTT requests submitted and not yet answered");
}

MqttFrontend::~MqttFrontend() { Stop(); }

core::Status MqttFrontend::Start() {
  spdlog::info("mqtt: connecting to {} as {}", config_.broker, client_->options().client_id);
  for (const auto& r : routes_) spdlog::info("mqtt: {} -> {}", r.name, r.model.empty() ? "{model}" : r.model);
  client_->Start();
  return core::Status::Ok();
}

bool MqttFrontend::Drain(core::TimePoint deadline) {
  if (!client_) return true;
  if (!draining_.exchange(true)) {
    client_->SetReadPaused(true);
    client_->PublishStatus("offline");  // readiness withdrawn: no new requests are read
  }
  std::unique_lock lock(shared_->mu);
  // The drained condition is signalled on every answer; the deadline is on
  // the steady clock the frontends share.
  return shared_->drained.wait_until(lock, deadline, [this] {
    return shared_->inflight.load() == 0 && shared_->waiting.load() == 0;
  });
}

void MqttFrontend::Stop() {
  if (stopped_.exchange(true) || !client_) return;
  client_->SetReadPaused(true);
  if (shared_->inflight.load() || shared_->waiting.load()) {
    spdlog::warn("mqtt: stopping with {} requests in flight and {} waiting", shared_->inflight.load(),
                 shared_->waiting.load());
  }
  client_->Stop(kStopFlush);
  {
    std::lock_guard lock(shared_->mu);
    shared_->client = nullptr;
  }
  spdlog::info("mqtt: stopped; {} requests answered", shared_->replies->value());
}

void MqttFrontend::OnConnected(bool session_present) {
  metrics_->GetCounter("infergate_mqtt_connects_total", "Successful MQTT connections (first and reconnects)")
      .Increment();
  (void)session_present;  // subscribe anyway: cheap, and the broker may have lost them
  for (const auto& r : routes_) {
    std::string filter = r.pattern.filter();
    if (!config_.share_group.empty()) filter = "$share/" + config_.share_group + "/" + filter;
    if (auto st = client_->Subscribe(filter, r.qos); !st.ok()) spdlog::error("{}", st.message());
  }
}

void MqttFrontend::OnDisconnected() {
  metrics_->GetCounter("infergate_mqtt_disconnects_total", "MQTT connections lost").Increment();
}

void MqttFrontend::OnMessage(IncomingMessage message) {
  const int max = config_.max_inflight;
  if (stopped_) {
    // Read while the client flushes its last replies: refused, never dropped.
    ReplyTarget target = TargetFor(message, MatchRoute(routes_, message.topic));
    Refuse(target, core::Unavailable("infergate is shutting down; retry"), "shutting_down", "");
  } else if (shared_->inflight.load() < max && waiting_.empty()) {
    Process(std::move(message));
  } else if (static_cast<int>(waiting_.size()) < max) {
    waiting_.push_back(std::move(message));
    shared_->waiting = static_cast<int>(waiting_.size());
  } else {
    ReplyTarget target = TargetFor(message, MatchRoute(routes_, message.topic));
    Refuse(target, core::Unavailable("overloaded: " + std::to_string(max) + " MQTT requests in flight"),
           "overloaded", "");
  }
  UpdatePause();
}

void MqttFrontend::OnIdle() {
  while (!waiting_.empty() && shared_->inflight.load() < config_.max_inflight) {
    IncomingMessage m = std::move(waiting_.front());
    waiting_.pop_front();
    shared_->waiting = static_cast<int>(waiting_.size());
    Process(std::move(m));
  }
  UpdatePause();
  if (waiting_.empty() && shared_->inflight.load() == 0) {
    std::lock_guard lock(shared_->mu);
    shared_->drained.notify_all();
  }
  // Idle devices go even when no telemetry arrives to trigger it.
  if (devices_ && clock_->Now() >= next_eviction_) {
    devices_->EvictIdle();
    next_eviction_ = clock_->Now() + kEvictionPeriod;
  }
}

void MqttFrontend::UpdatePause() {
  bool pause = stopped_ || !waiting_.empty() || shared_->inflight.load() >= config_.max_inflight;
  client_->SetReadPaused(pause);
}

void MqttFrontend::Refuse(const ReplyTarget& target, const core::Status& status, std::string_view reason,
                          std::string_view id) {
  shared_->SendError(target, status, reason, id);
}

ReplyTarget MqttFrontend::TargetFor(const IncomingMessage& message,
                                                  const std::optional<RouteMatch>& match) {
  ReplyTarget target{message.response_topic, message.correlation_data, message.qos, false, message.ack};
  if (!match) return target;
  target.qos = match->route->qos;
  if (target.topic.empty()) {
    Captures values = match->captures;
    values.emplace_back("model", match->route->ModelFor(match->captures));
    target.topic = match->route->reply_topic.Expand(values);
    target.retain = match->route->retain;
  }
  return target;
}

void MqttFrontend::Process(IncomingMessage message) {
  auto match = MatchRoute(routes_, message.topic);
  ReplyTarget target = TargetFor(message, match);
  if (!match) {
    return Refuse(target, core::NotFound("no route for topic '" + message.topic + "'"), "no_route", "");
  }
  if (static_cast<int64_t>(message.payload->size()) > config_.max_payload_bytes) {
    return Refuse(target,
                  core::ResourceExhausted("payload of " + std::to_string(message.payload->size()) +
                                          " bytes exceeds mqtt.max_payload_bytes (" +
                                          std::to_string(config_.max_payload_bytes) + ")"),
                  "too_large", "");
  }
  if (match->route->format == config::PayloadFormat::kTelemetry) {
    return ProcessTelemetry(message, *match, target);
  }
  auto request = decoder_.Decode(*match->route, match->captures, message.payload);
  if (!request.ok()) return Refuse(target, request.status(), "malformed", "");
  auto& req = *request;
  if (message.expiry_secs) req->deadline = clock_->Now() + std::chrono::seconds(*message.expiry_secs);
  std::shared_ptr<ReplySink> shared = shared_;
  req->on_complete = [shared, target](std::unique_ptr<core::InferResponse> response) {
    if (response->status.ok()) {
      auto body = EncodeResponse(*response);
      if (body.ok()) {
        shared->SendJson(target, std::move(*body));
      } else {
        shared->SendError(target, body.status(), "encode", response->id);
      }
    } else {
      shared->SendError(target, response->status, ReasonOf(response->status), response->id);
    }
    shared->Finish();
  };
  shared_->Begin();
  inference_->Submit(std::move(req));
}

}  // namespace infergate::mqtt
