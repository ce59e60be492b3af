// mqtt-echo: answers every request on the request topic filter without
// inference, on its MQTT 5 Response Topic with its Correlation Data copied,
// with a fixed v2 reply. Run against the mqtt target, it gives the broker's
// request/reply ceiling on this machine: what any MQTT frontend could reach
// at best.
//
// Threading: Start/Stop/answered from the owner's thread; the rest runs on
// the MqttLoop thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "mqtt_loop.h"

namespace infergate::bench {

struct MqttEchoOptions {
  MqttOptions connection;  // clients > 1 share the subscription ($share/...)
  std::string filter = "infergate/models/+/infer";
  int qos = 0;
};

// The reply mqtt-echo sends, also served by the nginx comparison point: a v2
// response of mlp16's shape (FP32 [1,4]).
const std::string& FixedV2Reply();

class MqttEcho final : private MqttLoop::Handler {
 public:
  static core::StatusOr<std::unique_ptr<MqttEcho>> Create(const MqttEchoOptions& options);
  ~MqttEcho() override;

  // Connects and subscribes; returns once the subscriptions are acknowledged.
  core::Status Start();
  void Stop();
  uint64_t answered() const { return answered_.load(); }
  uint64_t ignored() const { return ignored_.load(); }  // requests without a Response Topic
  // The filter as subscribed (with the $share prefix when shared).
  std::string subscription() const;

 private:
  explicit MqttEcho(MqttEchoOptions options) : options_(std::move(options)) {}
  void OnMessage(int client, const mosquitto_message* msg, const mosquitto_property* props) override;

  const MqttEchoOptions options_;
  std::unique_ptr<MqttLoop> loop_;
  std::atomic<uint64_t> answered_{0};
  std::atomic<uint64_t> ignored_{0};
};

}  // namespace infergate::bench
