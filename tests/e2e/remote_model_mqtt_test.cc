// A remote model over MQTT: a device asks the edge (through mosquitto) and
// gets the cloud's answer, the same as the cloud gives over HTTP.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "testing/http_client.h"
#include "testing/model_repo.h"
#include "testing/mosquitto_broker.h"
#include "testing/mqtt_test_client.h"
#include "testing/serve_instance.h"
#include "testing/temp_dir.h"

namespace infergate {
namespace {

using testing::ServeInstance;

std::string MlpBody(const std::string& id) {
  nlohmann::json data = nlohmann::json::array();
  for (int i = 0; i < 16; ++i) data.push_back(static_cast<float>(i % 5) * 0.5f - 1.0f);
  return nlohmann::json{{"id", id},
                        {"inputs", {{{"name", "input"}, {"datatype", "FP32"}, {"shape", {1, 16}}, {"data", data}}}}}
      .dump();
}

// Waits (bounded) until the server logged `text`, before or after "ready".
bool Logged(testing::Process& p, const std::string& text) {
  for (int i = 0; i < 200; ++i) {
    if (p.Output().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(RemoteModelMqttTest, ADeviceGetsTheCloudsAnswerThroughTheEdge) {
  testing::MosquittoBroker broker;
  ASSERT_TRUE(broker.Start());
  testing::TempDir cloud_repo, edge_repo;
  testing::CopyModel(cloud_repo, "mlp16.onnx", "mlp");
  ServeInstance cloud = ServeInstance::Start(cloud_repo.path());
  ASSERT_TRUE(cloud.ready) << cloud.process->Output();
  edge_repo.Write("plant/config.yaml",
                  "remote: {url: 'grpc://127.0.0.1:" + std::to_string(cloud.grpc_port) + "', model: mlp}\n");
  ServeInstance edge = ServeInstance::Start(edge_repo.path(), 0, 0,
                                            {"--mqtt-broker", broker.url(), "--mqtt-client-id", "edge-1"});
  ASSERT_TRUE(edge.ready) << edge.process->Output();
  ASSERT_TRUE(Logged(*edge.process, "mqtt: subscribed to infergate/models/+/infer")) << edge.process->Output();

  testing::MqttTestClient device(broker.port(), "device-7");
  ASSERT_TRUE(device.Connect());
  ASSERT_TRUE(device.Subscribe("infergate/models/plant/result"));
  ASSERT_TRUE(device.Publish("infergate/models/plant/infer", MlpBody("d7")));
  auto reply = device.WaitOn("infergate/models/plant/result");
  ASSERT_TRUE(reply) << edge.process->Output();
  auto want = testing::CurlClient(cloud.http()).Post("/v2/models/mlp/infer", MlpBody("d7"));
  ASSERT_EQ(want.status, 200) << want.body;
  auto got = nlohmann::json::parse(reply->payload);
  EXPECT_EQ(got["model_name"], "plant");
  EXPECT_EQ(got["id"], "d7");
  EXPECT_EQ(got["outputs"][0]["data"], nlohmann::json::parse(want.body)["outputs"][0]["data"]) << reply->payload;
}

}  // namespace
}  // namespace infergate
