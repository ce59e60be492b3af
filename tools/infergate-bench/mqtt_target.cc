#include "mqtt_target.h"

#include <mqtt_protocol.h>
#include <unistd.h>

#include <cstring>
#include <string_view>
#include <unordered_map>

namespace infergate::bench {
namespace {

void PutSeq(uint64_t seq, unsigned char out[8]) {
  for (int i = 7; i >= 0; --i, seq >>= 8) out[i] = static_cast<unsigned char>(seq & 0xff);
}

uint64_t GetSeq(const unsigned char* in) {
  uint64_t seq = 0;
  for (int i = 0; i < 8; ++i) seq = (seq << 8) | in[i];
  return seq;
}

class MqttClientTarget final : public Target, private MqttLoop::Handler {
 public:
  MqttClientTarget(MqttTargetOptions options, const PayloadSet* payloads)
      : options_(std::move(options)), payloads_(payloads) {}
  ~MqttClientTarget() override { Stop(); }

  core::Status Init() {
    MqttOptions c = options_.connection;
    if (c.clients <= 0 || c.clients > options_.devices) c.clients = options_.devices;
    ASSIGN_OR_RETURN(loop_, MqttLoop::Create(c, this));
    for (int d = 0; d < options_.devices; ++d) {
      const int client = d % loop_->size();
      reply_topics_.push_back(options_.reply_prefix + "/c" + std::to_string(client) + "/d" + std::to_string(d));
    }
    return core::Status::Ok();
  }

  core::Status Start(CompletionFn on_done) override {
    on_done_ = std::move(on_done);
    const std::string prefix = options_.reply_prefix;
    return loop_->Start([prefix](int client) { return std::vector<std::string>{prefix + "/c" + std::to_string(client) + "/+"}; },
                        options_.qos);
  }

  void Submit(Request request) override {
    loop_->Post([this, request] { Publish(request); });
  }

  void Stop() override {
    if (loop_) loop_->Stop();
  }

 private:
  // Loop thread.
  void Publish(const Request& request) {
    const int device = static_cast<int>(request.seq % static_cast<uint64_t>(options_.devices));
    const int client = device % loop_->size();
    unsigned char correlation[8];
    PutSeq(request.seq, correlation);
    mosquitto_property* props = nullptr;
    mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, reply_topics_[static_cast<size_t>(device)].c_str());
    mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, correlation, sizeof(correlation));
    const Payload& p = payloads_->For(request.seq);
    pending_.emplace(request.seq, request);
    const int rc = mosquitto_publish_v5(loop_->client(client), nullptr, options_.request_topic.c_str(),
                                        static_cast<int>(p.body.size()), p.body.data(), options_.qos, false, props);
    mosquitto_property_free_all(&props);
    if (rc != MOSQ_ERR_SUCCESS) {
      pending_.erase(request.seq);
      on_done_({request, Clock::now(), rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST ? "disconnected" : "publish"});
    }
  }

  void OnMessage(int, const mosquitto_message* msg, const mosquitto_property* props) override {
    void* data = nullptr;
    uint16_t len = 0;
    if (!mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &data, &len, false)) return;
    const bool ours = len == 8;
    const uint64_t seq = ours ? GetSeq(static_cast<const unsigned char*>(data)) : 0;
    std::free(data);
    if (!ours) return;
    auto it = pending_.find(seq);
    if (it == pending_.end()) return;  // a late reply to a timed-out request
    const Request request = it->second;
    pending_.erase(it);
    const std::string_view body(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
    std::string error;
    if (body.find("\"outputs\"") == std::string_view::npos) {
      error = body.find("\"error\"") != std::string_view::npos ? "error_reply" : "bad_reply";
    }
    on_done_({request, Clock::now(), error});
  }

  void OnTick(TimePoint now) override {
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (now - it->second.start < options_.timeout) {
        ++it;
        continue;
      }
      const Request request = it->second;
      it = pending_.erase(it);
      on_done_({request, now, "timeout"});
    }
  }

  const MqttTargetOptions options_;
  const PayloadSet* payloads_;
  std::unique_ptr<MqttLoop> loop_;
  std::vector<std::string> reply_topics_;
  CompletionFn on_done_;
  std::unordered_map<uint64_t, Request> pending_;  // loop thread only
};

}  // namespace

std::string DefaultRequestTopic(const std::string& model) { return "infergate/models/" + model + "/infer"; }

core::StatusOr<std::unique_ptr<Target>> MakeMqttTarget(const MqttTargetOptions& options, const PayloadSet* payloads) {
  if (payloads->binary) return core::InvalidArgument("the mqtt target sends JSON bodies; drop --binary");
  if (options.devices <= 0) return core::InvalidArgument("the mqtt target needs at least one device");
  if (options.qos < 0 || options.qos > 2) return core::InvalidArgument("QoS must be 0, 1 or 2");
  auto target = std::make_unique<MqttClientTarget>(options, payloads);
  RETURN_IF_ERROR(target->Init());
  return std::unique_ptr<Target>(std::move(target));
}

}  // namespace infergate::bench
