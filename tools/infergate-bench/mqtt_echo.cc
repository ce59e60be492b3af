#include "mqtt_echo.h"

#include <mqtt_protocol.h>

#include <cstdlib>

namespace infergate::bench {

const std::string& FixedV2Reply() {
  static const std::string reply =
      R"({"model_name":"mlp16","outputs":[{"name":"probabilities","datatype":"FP32","shape":[1,4],)"
      R"("data":[0.25,0.25,0.25,0.25]}]})";
  return reply;
}

core::StatusOr<std::unique_ptr<MqttEcho>> MqttEcho::Create(const MqttEchoOptions& options) {
  if (options.qos < 0 || options.qos > 2) return core::InvalidArgument("QoS must be 0, 1 or 2");
  std::unique_ptr<MqttEcho> echo(new MqttEcho(options));
  MqttOptions c = options.connection;
  c.client_id_prefix = "infergate-bench-echo";
  ASSIGN_OR_RETURN(echo->loop_, MqttLoop::Create(c, echo.get()));
  return echo;
}

MqttEcho::~MqttEcho() { Stop(); }

std::string MqttEcho::subscription() const {
  if (options_.connection.clients <= 1) return options_.filter;
  return "$share/infergate-bench-echo/" + options_.filter;
}

core::Status MqttEcho::Start() {
  const std::string filter = subscription();
  return loop_->Start([filter](int) { return std::vector<std::string>{filter}; }, options_.qos);
}

void MqttEcho::Stop() {
  if (loop_) loop_->Stop();
}

void MqttEcho::OnMessage(int client, const mosquitto_message* msg, const mosquitto_property* props) {
  char* topic = nullptr;
  if (!mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &topic, false)) {
    ignored_.fetch_add(1);
    return;
  }
  mosquitto_property* reply_props = nullptr;
  void* correlation = nullptr;
  uint16_t len = 0;
  if (mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &correlation, &len, false)) {
    mosquitto_property_add_binary(&reply_props, MQTT_PROP_CORRELATION_DATA, correlation, len);
    std::free(correlation);
  }
  const std::string& body = FixedV2Reply();
  mosquitto_publish_v5(loop_->client(client), nullptr, topic, static_cast<int>(body.size()), body.data(),
                       msg->qos, false, reply_props);
  mosquitto_property_free_all(&reply_props);
  std::free(topic);
  answered_.fetch_add(1);
}

}  // namespace infergate::bench
