#include "edge/uplink.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <utility>

#include "frontends/mqtt/broker_url.h"
#include "frontends/mqtt/outbox_sink.h"
#include "protocol/telemetry_json.h"

namespace infergate::edge {
namespace {

core::StatusOr<mqtt::ClientOptions> ClientOptionsFor(const UplinkOptions& o, const UplinkDeps& d) {
  const config::UplinkConfig& c = o.config;
  mqtt::ClientOptions out;
  ASSIGN_OR_RETURN(out.broker, mqtt::ParseBrokerUrl(c.broker));
  out.client_id = o.client_id;
  out.mqtt5 = c.protocol_version == "5";
  out.username = c.username;
  out.password = c.password;
  out.tls_ca_file = c.tls.ca_file;
  out.tls_cert_file = c.tls.cert_file;
  out.tls_key_file = c.tls.key_file;
  out.tls_insecure = c.tls.insecure;
  out.keepalive_secs = c.keepalive_secs;
  out.clean_session = true;  // what was not acknowledged is in the outbox
  out.log_name = "uplink";
  out.status_topic = c.StatusTopic();
  out.status_online = "";  // the uplink publishes its JSON status itself
  out.status_offline = R"({"state":"offline"})";
  out.reconnect_min = core::SecsToMillis(c.reconnect_min_secs);
  out.reconnect_max = core::SecsToMillis(c.reconnect_max_secs);
  out.clock = d.clock;
  out.metrics = d.metrics;
  out.metric_labels = {{"client", "uplink"}};
  return out;
}

OutboxOptions OutboxOptionsFor(const UplinkOptions& o) {
  OutboxOptions out;
  out.path = o.outbox_path;
  out.name = "uplink";
  out.max_bytes = o.config.outbox.max_bytes;
  out.max_records = o.config.outbox.max_records;
  out.max_age = std::chrono::seconds(o.config.outbox.max_age_secs);
  out.max_rate = o.config.max_rate;
  return out;
}

}  // namespace

core::StatusOr<std::unique_ptr<Uplink>> Uplink::Create(UplinkOptions options, UplinkDeps deps) {
  ASSIGN_OR_RETURN(mqtt::ClientOptions client_options, ClientOptionsFor(options, deps));
  ASSIGN_OR_RETURN(auto outbox, Outbox::Open(OutboxOptionsFor(options), deps.metrics, deps.clock,
                                             deps.wall_clock));
  std::unique_ptr<Uplink> u(new Uplink(std::move(options), deps));
  ASSIGN_OR_RETURN(u->client_, mqtt::MqttClient::Create(std::move(client_options), u.get()));
  u->sink_ = std::make_unique<mqtt::MqttOutboxSink>(u->client_.get());
  u->outbox_ = std::move(outbox);
  return u;
}

Uplink::Uplink(UplinkOptions options, UplinkDeps deps)
    : options_(std::move(options)),
      deps_(deps),
      connected_(&deps_.metrics->GetGauge("infergate_uplink_connected",
                                          "1 while the uplink is connected to the cloud broker")),
      forwarded_(&deps_.metrics->GetCounter("infergate_uplink_forwarded_total",
                                            "Results written to the uplink's outbox")),
      skipped_not_alert_(&deps_.metrics->GetCounter(
          "infergate_uplink_skipped_total", "Results not forwarded to the uplink, by reason",
          {{"reason", "not_alert"}})),
      skipped_none_(&deps_.metrics->GetCounter("infergate_uplink_skipped_total",
                                               "Results not forwarded to the uplink, by reason",
                                               {{"reason", "forward_none"}})) {}

Uplink::~Uplink() { Stop(core::Duration::zero()); }

void Uplink::Start() {
  if (started_) return;
  started_ = true;
  spdlog::info("uplink: {} as {}, forwarding {} under {}/ (outbox {}, {} messages waiting)",
               options_.config.broker, options_.client_id,
               config::UplinkForwardName(options_.config.forward), options_.config.topic_prefix,
               options_.outbox_path, outbox_->messages());
  outbox_->Start(sink_.get());
  client_->Start();
}

void Uplink::Stop(core::Duration flush) {
  if (stopped_) return;
  stopped_ = true;
  outbox_->Close(flush);  // nothing more is handed to the client; the rest stays in the file
  client_->Stop(std::chrono::milliseconds(500));
  connected_->Set(0);
}

std::string Uplink::TopicFor(const pipeline::Result& result, std::string_view local_topic) const {
  std::string topic = options_.config.topic_prefix + "/";
  if (!local_topic.empty()) {
    topic += local_topic;
  } else {
    topic += options_.local_topic_prefix + "/devices/" + result.device_id + "/" +
             result.model_name + "/result";
  }
  return topic;
}

void Uplink::OnResult(const pipeline::ResultEvent& event) {
  switch (options_.config.forward) {
    case config::UplinkForward::kNone:
      return skipped_none_->Increment();
    case config::UplinkForward::kAlerts:
      if (!event.result.alert) return skipped_not_alert_->Increment();
      break;
    case config::UplinkForward::kResults:
      break;
  }
  OutboxMessage m;
  m.topic = TopicFor(event.result, event.topic);
  m.payload = protocol::EncodeResult(event.result);
  m.qos = options_.config.qos;
  m.content_type = "application/json";
  // The result's message stays unanswered until the copy is safe (durable,
  // or acknowledged by the cloud broker): a crash before that brings the
  // message again instead of losing the copy.
  auto safe = [hold = event.hold](const core::Status&) mutable { hold.reset(); };
  if (auto st = outbox_->Push(std::move(m), std::move(safe)); !st.ok()) {
    spdlog::debug("uplink: result of device '{}' not forwarded: {}", event.result.device_id,
                  st.message());
    return;  // counted by the outbox (too_large) or stopping
  }
  forwarded_->Increment();
}

void Uplink::OnConnected(bool) {
  connected_->Set(1);
  PublishStatus(true);
  outbox_->Wake();
}

void Uplink::OnDisconnected() { connected_->Set(0); }

void Uplink::OnMessage(mqtt::IncomingMessage) {}  // subscribes to nothing

void Uplink::OnIdle() {
  if (!client_->connected()) return;
  outbox_->Wake();  // acknowledgements may have made room in the client's queue
  if (deps_.clock->Now() >= next_status_) PublishStatus(false);
}

std::string Uplink::StatusJson() const {
  std::string json = R"({"state":"online","backlog":)" + std::to_string(outbox_->messages()) +
                     R"(,"backlog_bytes":)" + std::to_string(outbox_->bytes());
  if (deps_.models) {
    // The versions this instance serves (READY), so the platform sees what a
    // fleet runs: {"models":{"name":[1,2],...}}.
    nlohmann::json models = nlohmann::json::object();
    for (const core::ModelStatus& m : deps_.models()) {
      nlohmann::json ready = nlohmann::json::array();
      for (const core::VersionStatus& v : m.versions) {
        if (v.state == core::ModelState::kReady) ready.push_back(v.version);
      }
      models[m.name] = std::move(ready);
    }
    json += R"(,"models":)" + models.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return json + "}";
}

void Uplink::PublishStatus(bool force) {
  next_status_ = deps_.clock->Now() + options_.status_interval;
  std::string status = StatusJson();
  if (!force && status == last_status_) return;
  client_->PublishStatus(status);
  last_status_ = std::move(status);
}

}  // namespace infergate::edge
