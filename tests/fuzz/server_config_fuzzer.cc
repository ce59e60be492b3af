// The server's config file (infergate.yaml) as the server reads it at
// start-up: parsed (config/server_config.h, mqtt_config.h), validated, and
// the MQTT routes built from it (frontends/mqtt/route.h: topic filters and
// reply templates) and the broker URL parsed, as the MQTT frontend does.
#include <string>

#include "config/server_config.h"
#include "frontends/mqtt/broker_url.h"
#include "frontends/mqtt/route.h"
#include "fuzz/fuzz_input.h"

namespace infergate::fuzz {
namespace {

void Run(std::string_view yaml) {
  auto config = config::ParseServerConfig(yaml, "infergate.yaml");
  if (!config.ok()) return;
  (void)config::ModelControlModeName(config->model_control_mode);
  if (!config::ValidateServerConfig(*config).ok()) return;
  if (config->mqtt.broker.empty()) return;
  (void)mqtt::ParseBrokerUrl(config->mqtt.broker);
  (void)mqtt::BuildRoutes(config->mqtt);
}

}  // namespace
}  // namespace infergate::fuzz

INFERGATE_FUZZ_TARGET(infergate::fuzz::Run)
