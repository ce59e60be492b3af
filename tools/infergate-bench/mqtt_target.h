// The mqtt target: request/reply through a broker, as an MQTT frontend sees
// it. N simulated devices each publish v2 JSON requests to the request topic
// with an MQTT 5 Response Topic of their own and Correlation Data (8 bytes:
// the request's sequence number); the reply must come back on that topic
// with the same Correlation Data. Devices are each their own client, or are
// multiplexed over a few clients (`clients` < `devices`).
//
// A reply naming "outputs" is a success, one naming "error" an
// "error_reply"; a request without a reply within `timeout` is a "timeout".
//
// Threading: as Target; outcomes are delivered on the MqttLoop thread.
#pragma once

#include <memory>
#include <string>

#include "mqtt_loop.h"
#include "payload.h"
#include "target.h"

namespace infergate::bench {

struct MqttTargetOptions {
  MqttOptions connection;      // connection.clients: 0 = one per device
  int devices = 1;
  int qos = 0;
  std::string request_topic;   // e.g. infergate/models/mlp16/infer
  std::string reply_prefix;    // replies go to <reply_prefix>/c<client>/d<device>
  Nanos timeout = std::chrono::seconds(10);
};

// The default request topic for a model.
std::string DefaultRequestTopic(const std::string& model);

// `payloads` must outlive the target; binary payloads are refused.
core::StatusOr<std::unique_ptr<Target>> MakeMqttTarget(const MqttTargetOptions& options,
                                                       const PayloadSet* payloads);

}  // namespace infergate::bench
