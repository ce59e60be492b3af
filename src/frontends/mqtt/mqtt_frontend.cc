#include "frontends/mqtt/mqtt_frontend.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "frontends/mqtt/codec.h"
#include "frontends/mqtt/inbox_record.h"
#include "frontends/mqtt/receipt.h"
#include "pipeline/device_service.h"
#include "state/journal.h"

namespace infergate::mqtt {

namespace {

// How often idle devices are looked for (OnIdle runs at least once a second
// while connected).
constexpr auto kEvictionPeriod = std::chrono::seconds(1);
// The longest retry_after_ms the load may raise the hint to.
constexpr int64_t kMaxRetryAfterMs = 60'000;
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
  ASSIGN_OR_RETURN(Routes routes, MakeRoutes(config, devices != nullptr));
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
  // The broker may send as many unacknowledged requests as it likes: the
  // admission (in flight, waiting, `overloaded` replies, then pausing reads)
  // decides what happens to them. A Receive Maximum of max_inflight would
  // keep the excess queued at the broker, where devices see time-outs
  // rather than `overloaded` replies.
  o.receive_maximum = 65535;
  o.stall_timeout = core::SecsToMillis(config.stall_timeout_secs);
  o.max_queued_publish_bytes = config.max_queued_publish_bytes;
  ASSIGN_OR_RETURN(f->client_, MqttClient::Create(std::move(o), f.get()));
  f->shared_->client = f->client_.get();
  if (config.inbox.enabled && !config.inbox.path.empty()) RETURN_IF_ERROR(f->OpenInbox());
  if (config.outbox.enabled && !config.outbox.path.empty()) RETURN_IF_ERROR(f->OpenOutbox());
  return f;
}

core::Status MqttFrontend::OpenOutbox() {
  const std::filesystem::path path = config_.outbox.path;
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  edge::OutboxOptions o;
  o.path = path.string();
  o.name = "mqtt";
  o.max_bytes = config_.outbox.max_bytes;
  o.max_age = core::SecsToMillis(config_.outbox.max_age_secs);
  // The broker's PUBACK on a LAN comes well within this: most replies are
  // acknowledged before their write and never written; one not acknowledged
  // by then is safe (its request answered) one window later.
  o.max_commit_delay = std::chrono::milliseconds(2);
  auto outbox = edge::Outbox::Open(o, metrics_, clock_, &core::SystemWallClock::Instance());
  if (!outbox.ok()) {
    return outbox.status().WithPrefix("mqtt.outbox (move the file away to start without the replies it holds)");
  }
  outbox_ = std::move(*outbox);
  outbox_sink_ = std::make_unique<MqttOutboxSink>(client_.get());
  shared_->outbox = outbox_.get();
  spdlog::info("mqtt: outbox {} ({} replies of the previous run to send)", o.path, outbox_->messages());
  return core::Status::Ok();
}

core::Status MqttFrontend::OpenInbox() {
  const std::filesystem::path path = config_.inbox.path;
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  state::JournalOptions o;
  o.path = path.string();
  o.max_bytes = config_.inbox.max_bytes;
  o.max_records = config_.inbox.max_records;
  o.name = "mqtt_inbox";
  auto journal = state::Journal::Open(o, metrics_, clock_, &core::SystemWallClock::Instance());
  if (!journal.ok()) {
    return journal.status().WithPrefix(
        "mqtt.inbox (move the file away to start without the requests it holds)");
  }
  inbox_ = std::move(*journal);
  const core::WallTime wall_now = core::SystemWallClock::Instance().Now();
  for (auto& record : inbox_->Recovered()) {
    auto message = DecodeInboxRecord(record.data);
    if (!message.ok()) {
      spdlog::error("mqtt: inbox {}: record {} dropped: {}", o.path, record.id, message.status().message());
      shared_->CountInbox("damaged");
      inbox_->Remove(record.id);
      continue;
    }
    std::optional<core::TimePoint> deadline;
    if (message->expiry_secs) {
      auto left = record.appended + std::chrono::seconds(*message->expiry_secs) - wall_now;
      deadline = clock_->Now() + std::chrono::duration_cast<core::Duration>(left);
    }
    shared_->CountInbox("recovered");
    auto receipt = std::make_shared<Receipt>(shared_, inbox_, record.id);
    recovered_.push_back({std::move(*message), deadline, std::move(receipt), nullptr});
  }
  spdlog::info("mqtt: inbox {} ({} requests of the previous run to answer)", o.path, recovered_.size());
  return core::Status::Ok();
}

MqttFrontend::MqttFrontend(config::MqttConfig config, Routes routes,
                           core::InferenceService* inference, pipeline::DeviceService* devices,
                           core::MetricsRegistry* metrics, const core::Clock* clock)
    : config_(std::move(config)),
      routes_(std::move(routes)),
      inference_(inference),
      devices_(devices),
      metrics_(metrics),
      clock_(clock),
      shared_(std::make_shared<ReplySink>()),
      overload_replies_(clock, config_.max_overload_replies_per_sec,
                        std::max(1, config_.max_overload_replies_per_sec)),
      reply_topic_prefix_(config_.ReplyTopicPrefix()),
      next_eviction_(clock->Now() + kEvictionPeriod) {
  overload_pauses_ = &metrics->GetCounter(
      "infergate_mqtt_overload_pauses_total",
      "Times reading paused because overloaded replies reached mqtt.max_overload_replies_per_sec "
      "(the broker holds or sheds what comes meanwhile)");
  shed_ = &metrics->GetCounter(
      "infergate_mqtt_requests_shed_total",
      "QoS 0 MQTT requests dropped unanswered because overloaded replies reached "
      "mqtt.max_overload_replies_per_sec");
  retry_after_gauge_ = &metrics->GetGauge(
      "infergate_mqtt_overload_retry_after_ms",
      "The retry_after_ms of the last overloaded reply (mqtt.overload_retry_after_ms, or more under load)");
  shared_->mqtt5 = config_.protocol_version == "5";
  shared_->max_reply_bytes = static_cast<uint32_t>(config_.max_reply_bytes);
  shared_->metrics = metrics;
  shared_->requests = &metrics->GetCounter("infergate_mqtt_requests_total",
                                           "MQTT requests submitted for inference");
  shared_->replies = &metrics->GetCounter("infergate_mqtt_replies_total",
                                          "MQTT replies (results and errors) handed to the client");
  shared_->reply_failures = &metrics->GetCounter(
      "infergate_mqtt_reply_failures_total", "MQTT replies the client library refused or that came after stop");
  constexpr char kAcksHelp[] =
      "QoS 1/2 MQTT requests acknowledged to the broker, by what came first: their inbox record durable "
      "(journal), their reply durable in the outbox (outbox) or their answer (answer)";
  shared_->acks_after_journal =
      &metrics->GetCounter("infergate_mqtt_acknowledgements_total", kAcksHelp, {{"after", "journal"}});
  shared_->acks_after_answer =
      &metrics->GetCounter("infergate_mqtt_acknowledgements_total", kAcksHelp, {{"after", "answer"}});
  shared_->acks_after_outbox =
      &metrics->GetCounter("infergate_mqtt_acknowledgements_total", kAcksHelp, {{"after", "outbox"}});
  shared_->inflight_gauge = &metrics->GetGauge("infergate_mqtt_inflight_requests",
                                               "MQTT requests submitted and not yet answered");
}

MqttFrontend::~MqttFrontend() { Stop(); }

core::Status MqttFrontend::Start() {
  spdlog::info("mqtt: connecting to {} as {}", config_.broker, client_->options().client_id);
  for (const auto& r : *routes_) spdlog::info("mqtt: {} -> {}", r.name, r.model.empty() ? "{model}" : r.model);
  if (outbox_) outbox_->Start(outbox_sink_.get());  // sends once connected
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
  // Replies not acknowledged stay in the outbox for the next start.
  if (outbox_) outbox_->Close(kStopFlush);
  client_->Stop(kStopFlush);
  {
    std::lock_guard lock(shared_->mu);
    shared_->client = nullptr;
    shared_->outbox = nullptr;
  }
  // Requests still unanswered keep their records: the next start runs them.
  if (inbox_) inbox_->Close();
  spdlog::info("mqtt: stopped; {} requests answered", shared_->replies->value());
}

void MqttFrontend::OnConnected(bool session_present) {
  metrics_->GetCounter("infergate_mqtt_connects_total", "Successful MQTT connections (first and reconnects)")
      .Increment();
  SubscribeRoutes(session_present);
  connected_once_ = true;  // recovered requests may go now: their replies have a way out
  if (outbox_) outbox_->Wake();
  StartWaiting();
  UpdatePause();
}

void MqttFrontend::OnDisconnected() {
  metrics_->GetCounter("infergate_mqtt_disconnects_total", "MQTT connections lost").Increment();
}

void MqttFrontend::OnMessage(IncomingMessage message) {
  const int max = config_.max_inflight;
  auto receipt = message.ack.qos > 0 ? std::make_shared<Receipt>(shared_, inbox_, message.ack) : nullptr;
  if (stopped_) {
    // Read while the client flushes its last replies: refused, never dropped.
    auto match = MatchRoute(*routes_, message.topic);
    ReplyTarget target = TargetFor(message, match, std::move(receipt));
    std::string id = ScanForError(message, match, &target);
    Refuse(target, core::Unavailable("infergate is shutting down; retry"), "shutting_down", id);
  } else {
    std::optional<core::TimePoint> deadline;
    if (message.expiry_secs) deadline = clock_->Now() + std::chrono::seconds(*message.expiry_secs);
    StartWaiting();
    const bool run_now = shared_->inflight.load() < max && waiting_.empty() && recovered_.empty();
    if (!run_now && static_cast<int>(waiting_.size()) >= max) {
      RefuseOverloaded(message, std::move(receipt));
    } else {
      // Admitted: the inbox owns it from here (acknowledged once durable).
      if (receipt) receipt->Journal(message);
      if (run_now) {
        Process(std::move(message), deadline, std::move(receipt), *routes_);
      } else {
        waiting_.push_back({std::move(message), deadline, std::move(receipt), routes_});
        shared_->waiting = static_cast<int>(waiting_.size());
      }
    }
  }
  UpdatePause();
}

void MqttFrontend::StartWaiting() {
  // The previous run's requests first, once connected (their replies need the broker).
  while (connected_once_ && !stopped_ && !recovered_.empty() && shared_->inflight.load() < config_.max_inflight) {
    Waiting w = std::move(recovered_.front());
    recovered_.pop_front();
    Process(std::move(w.message), w.deadline, std::move(w.receipt), *routes_);
  }
  while (!waiting_.empty() && shared_->inflight.load() < config_.max_inflight) {
    Waiting w = std::move(waiting_.front());
    waiting_.pop_front();
    shared_->waiting = static_cast<int>(waiting_.size());
    Process(std::move(w.message), w.deadline, std::move(w.receipt), w.routes ? *w.routes : *routes_);
  }
}

void MqttFrontend::RefuseOverloaded(const IncomingMessage& message, std::shared_ptr<Receipt> receipt) {
  // Past the rate of overloaded replies, a QoS 0 request is shed here,
  // counted, as a broker sheds QoS 0 for a slow client: pausing would leave
  // it (and everything behind it) waiting at the broker until it is too old
  // to matter, and the models would then work on stale requests. A QoS 1/2
  // request is answered even past the rate (it was read), and reading pauses
  // while the bucket is empty: the broker keeps what comes meanwhile.
  pause_for_acknowledged_ = message.qos > 0;
  if (!overload_replies_.TryTake() && message.qos == 0) return shed_->Increment();
  auto match = MatchRoute(*routes_, message.topic);
  ReplyTarget target = TargetFor(message, match, std::move(receipt));
  std::string id = ScanForError(message, match, &target);
  const int64_t retry_ms = RetryAfterMs();
  retry_after_gauge_->Set(static_cast<double>(retry_ms));
  shared_->SendError(target,
                     core::Unavailable("overloaded: " + std::to_string(config_.max_inflight) +
                                       " MQTT requests in flight and as many waiting; retry after " +
                                       std::to_string(retry_ms) + " ms"),
                     "overloaded", id, retry_ms);
}

int64_t MqttFrontend::RetryAfterMs() const {
  // When what is here now (in flight and waiting) will have been answered:
  // by Little's law the throughput is in-flight / mean service time. Never
  // below the configured hint, at most a minute.
  const int64_t inflight = std::max(1, shared_->inflight.load());
  const int64_t backlog = inflight + static_cast<int64_t>(waiting_.size());
  const int64_t drain_ms = backlog * shared_->mean_service_us.load() / inflight / 1000;
  return std::max(config_.overload_retry_after_ms, std::min<int64_t>(drain_ms, kMaxRetryAfterMs));
}

std::string MqttFrontend::ScanForError(const IncomingMessage& message, const std::optional<RouteMatch>& match,
                                       ReplyTarget* target) const {
  if (match && match->route->format == config::PayloadFormat::kRaw) return "";  // raw payloads have no id
  std::string_view payload = *message.payload;
  ScannedFields found = ScanReplyFields(payload.substr(0, static_cast<size_t>(config_.max_payload_bytes)));
  if (!match || match->route->format == config::PayloadFormat::kV2Json) {
    // A reply topic the checks refuse is ignored here: the error goes to the route's.
    (void)ApplyReplyParameters({std::move(found.reply_topic), std::move(found.correlation_id)}, message, target);
  }
  return found.id;
}

core::Status MqttFrontend::ApplyReplyParameters(ReplyParameters reply, const IncomingMessage& message,
                                                ReplyTarget* target) const {
  // The correlation first: an error about the topic is correlated too.
  if (!reply.correlation_id.empty()) {
    target->correlation_id = reply.correlation_id;
    if (!target->correlation_data) target->correlation_data = std::move(reply.correlation_id);
  }
  if (!reply.reply_topic.empty() && message.response_topic.empty()) {
    RETURN_IF_ERROR(CheckReplyTopic(reply.reply_topic, reply_topic_prefix_));
    target->topic = std::move(reply.reply_topic);
    target->retain = false;
  }
  return core::Status::Ok();
}

void MqttFrontend::OnIdle() {
  ApplyPendingRoutes();
  if (outbox_) outbox_->Wake();  // the client's queue may have room again
  StartWaiting();
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
  // Full: the next message read would get an `overloaded` reply; past the
  // rate of those, the broker holds (or sheds) it instead.
  bool full = static_cast<int>(waiting_.size()) >= config_.max_inflight &&
              shared_->inflight.load() >= config_.max_inflight;
  bool overload_pause = full && pause_for_acknowledged_ && !overload_replies_.Available();
  if (overload_pause && !overload_paused_) overload_pauses_->Increment();
  overload_paused_ = overload_pause;
  // The previous run's requests go before anything new is read.
  const bool recovering = !recovered_.empty();
  client_->SetReadPaused(stopped_ || overload_pause || recovering);
}

void MqttFrontend::Refuse(const ReplyTarget& target, const core::Status& status, std::string_view reason,
                          std::string_view id) {
  shared_->SendError(target, status, reason, id);
}

ReplyTarget MqttFrontend::TargetFor(const IncomingMessage& message, const std::optional<RouteMatch>& match,
                                    std::shared_ptr<Receipt> receipt) {
  ReplyTarget target{message.response_topic, message.correlation_data, message.qos, false, "",
                     std::move(receipt)};
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

void MqttFrontend::Process(IncomingMessage message, std::optional<core::TimePoint> deadline,
                           std::shared_ptr<Receipt> receipt, const std::vector<Route>& routes) {
  auto match = MatchRoute(routes, message.topic);
  ReplyTarget target = TargetFor(message, match, std::move(receipt));
  // An error before the payload is parsed: what a scan of it finds.
  auto scan_for_error = [&] { return ScanForError(message, match, &target); };
  if (!match) {
    return Refuse(target, core::NotFound("no route for topic '" + message.topic + "'"), "no_route",
                  scan_for_error());
  }
  if (static_cast<int64_t>(message.payload->size()) > config_.max_payload_bytes) {
    return Refuse(target,
                  core::ResourceExhausted("payload of " + std::to_string(message.payload->size()) +
                                          " bytes exceeds mqtt.max_payload_bytes (" +
                                          std::to_string(config_.max_payload_bytes) + ")"),
                  "too_large", scan_for_error());
  }
  if (deadline && clock_->Now() >= *deadline) {
    return Refuse(target, core::DeadlineExceeded("the message expired while it waited for a slot"),
                  "deadline_exceeded", scan_for_error());
  }
  if (match->route->format == config::PayloadFormat::kTelemetry) {
    return ProcessTelemetry(message, *match, target);
  }
  auto request = decoder_.Decode(*match->route, match->captures, message.payload);
  if (!request.ok()) return Refuse(target, request.status(), "malformed", scan_for_error());
  auto& req = *request;
  auto reply = TakeReplyParameters(&req->parameters);
  if (!reply.ok()) return Refuse(target, reply.status(), "malformed", req->id);
  if (auto st = ApplyReplyParameters(std::move(*reply), message, &target); !st.ok()) {
    return Refuse(target, st, "bad_reply_topic", req->id);  // on the route's reply topic
  }
  if (deadline) req->deadline = *deadline;
  std::shared_ptr<ReplySink> shared = shared_;
  req->on_complete = [shared, target](std::unique_ptr<core::InferResponse> response) {
    if (response->status.ok()) {
      shared->RecordService(response->queue_time + response->compute_time);
      if (!target.correlation_id.empty()) response->parameters["correlation_id"] = target.correlation_id;
      auto body = EncodeResponse(*response);
      if (body.ok()) {
        shared->SendJson(target, std::move(*body), response->model_name, response->id);
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
