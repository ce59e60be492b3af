// The MQTT frontend end to end: the real mosquitto broker on a free port, the
// real infergate binary, and a real MQTT client (libmosquitto).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "testing/mosquitto_broker.h"
#include "testing/mqtt_test_client.h"
#include "testing/process.h"
#include "testing/serve_command.h"
#include "testing/temp_dir.h"

namespace infergate {
namespace {

using testing::MosquittoBroker;
using testing::MqttMessage;
using testing::MqttTestClient;
using testing::Process;
using testing::PublishOptions;
using testing::TempDir;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kExampleModels = INFERGATE_EXAMPLE_MODELS_DIR;

std::vector<float> Window() {
  std::vector<float> v(64);
  for (int i = 0; i < 64; ++i) v[i] = static_cast<float>(std::sin(i * 0.19));
  return v;
}

std::string V2Request(const std::string& id, int n = 64) {
  std::string data;
  auto w = Window();
  for (int i = 0; i < n; ++i) data += (i ? "," : "") + std::to_string(w[i % 64]);
  return R"({"id":")" + id + R"(","inputs":[{"name":"accel","shape":[1,)" + std::to_string(n) +
         R"(],"datatype":"FP32","data":[)" + data + "]}]}";
}

PublishOptions Opts(int qos, std::string response_topic = "",
                    std::optional<std::string> correlation_data = std::nullopt) {
  PublishOptions o;
  o.qos = qos;
  o.response_topic = std::move(response_topic);
  o.correlation_data = std::move(correlation_data);
  return o;
}

std::string IdOf(const std::string& json) {
  auto at = json.find("\"id\":\"");
  if (at == std::string::npos) return "";
  at += 6;
  return json.substr(at, json.find('"', at) - at);
}

class MqttE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.Start()) << broker_.Output();
    fs::create_directories(dir_.path() / "models");
    fs::copy(kExampleModels / "vibration_anomaly", dir_.path() / "models" / "vibration_anomaly",
             fs::copy_options::recursive);
  }

  // Starts infergate with `mqtt_yaml` (lines indented by two) in its mqtt: section.
  std::unique_ptr<Process> StartInfergate(const std::string& client_id, const std::string& mqtt_yaml = "",
                                          std::vector<std::string> flags = {}, std::string broker = "") {
    if (broker.empty()) broker = broker_.url();
    auto config = dir_.Write(client_id + ".yaml",
                             "model_repository: models\nmodel_control_mode: none\nmqtt:\n"
                             "  broker: " + broker + "\n  client_id: " + client_id +
                                 "\n  reconnect_min_secs: 0.1\n  reconnect_max_secs: 0.5\n" + mqtt_yaml);
    std::vector<std::string> argv = testing::ServeCommand({"--config", config.string()});
    argv.insert(argv.end(), flags.begin(), flags.end());
    auto p = std::make_unique<Process>(argv);
    // Not "infergate ready": the MQTT lines that tests wait for may come before it.
    EXPECT_TRUE(p->WaitForLine("mqtt: connecting to")) << p->Output();
    return p;
  }

  std::unique_ptr<MqttTestClient> Client(const std::string& id, bool mqtt5 = true) {
    auto c = std::make_unique<MqttTestClient>(broker_.port(), id, mqtt5);
    EXPECT_TRUE(c->Connect());
    return c;
  }

  MosquittoBroker broker_;
  TempDir dir_;
};

TEST_F(MqttE2ETest, DefaultRouteRepliesToResponseTopicOrResultTopic) {
  auto server = StartInfergate("ig-default");
  ASSERT_TRUE(server->WaitForLine("mqtt: subscribed to infergate/models/\\+/infer")) << server->Output();
  auto client = Client("device-1");
  ASSERT_TRUE(client->Subscribe("reply/#"));
  ASSERT_TRUE(client->Subscribe("infergate/models/+/result"));
  ASSERT_TRUE(client->Subscribe("infergate/status/ig-default"));
  auto online = client->WaitOn("infergate/status/ig-default");
  ASSERT_TRUE(online);
  EXPECT_EQ(online->payload, "online");
  EXPECT_TRUE(online->retain);

  PublishOptions with_rt = Opts(1, "reply/device-1", std::string("c\0x", 3));
  ASSERT_TRUE(client->Publish("infergate/models/vibration_anomaly/infer", V2Request("a"), with_rt));
  auto r1 = client->WaitOn("reply/device-1");
  ASSERT_TRUE(r1) << server->Output();
  EXPECT_EQ(r1->correlation_data, std::string("c\0x", 3));
  EXPECT_NE(r1->payload.find("\"anomaly_score\""), std::string::npos) << r1->payload;
  EXPECT_EQ(IdOf(r1->payload), "a");
  EXPECT_EQ(r1->qos, 1);

  ASSERT_TRUE(client->Publish("infergate/models/vibration_anomaly/infer", V2Request("b"), Opts(0)));
  auto r2 = client->WaitOn("infergate/models/vibration_anomaly/result");
  ASSERT_TRUE(r2) << server->Output();
  EXPECT_EQ(IdOf(r2->payload), "b");
  EXPECT_FALSE(r2->correlation_data.has_value());
  EXPECT_NE(r2->payload.find("\"model_name\":\"vibration_anomaly\""), std::string::npos) << r2->payload;

  EXPECT_EQ(server->Stop(SIGTERM), 0) << server->Output();
  auto offline = client->WaitOn("infergate/status/ig-default");
  ASSERT_TRUE(offline);
  EXPECT_EQ(offline->payload, "offline");
}

TEST_F(MqttE2ETest, ConfiguredRoutesCaptureTheDeviceAndExpandTheReplyTopic) {
  auto server = StartInfergate("ig-routes", R"(  default_route: false
  routes:
    - topic: plant/+device/vibration
      model: vibration_anomaly
      format: raw
      input: {name: accel, datatype: FP32, shape: [1, 64]}
      reply_topic: plant/{device}/anomaly
      qos: 1
    - topic: lines/+line/+device/infer
      model: vibration_anomaly
      version: 1
      reply_topic: lines/{line}/{device}/{model}/out
      qos: 0
    - topic: exact/+device/infer
      model: vibration_anomaly
      reply_topic: exact/{device}/result
      qos: 2
)");
  ASSERT_TRUE(server->WaitForLine("mqtt: subscribed to exact/\\+/infer")) << server->Output();  // the last route
  auto client = Client("device-2");
  ASSERT_TRUE(client->Subscribe("plant/+/anomaly"));
  ASSERT_TRUE(client->Subscribe("lines/#"));

  auto w = Window();
  std::string raw(reinterpret_cast<const char*>(w.data()), w.size() * sizeof(float));
  ASSERT_TRUE(client->Publish("plant/pump-3/vibration", raw, Opts(1)));
  auto r1 = client->WaitOn("plant/pump-3/anomaly");
  ASSERT_TRUE(r1) << server->Output();
  EXPECT_NE(r1->payload.find("\"anomaly_score\""), std::string::npos) << r1->payload;

  ASSERT_TRUE(client->Publish("plant/pump-4/vibration", raw.substr(0, 100), Opts(1)));
  auto bad = client->WaitOn("plant/pump-4/anomaly");
  ASSERT_TRUE(bad) << server->Output();
  EXPECT_NE(bad->payload.find("must be 256 bytes"), std::string::npos) << bad->payload;
  EXPECT_EQ(bad->user_properties["reason_code"], "153");

  ASSERT_TRUE(client->Publish("lines/l2/d7/infer", V2Request("j"), Opts(0)));
  auto r2 = client->WaitOn("lines/l2/d7/vibration_anomaly/out");
  ASSERT_TRUE(r2) << server->Output();
  EXPECT_EQ(IdOf(r2->payload), "j");
  EXPECT_NE(r2->payload.find("\"model_version\":\"1\""), std::string::npos) << r2->payload;

  ASSERT_TRUE(client->Subscribe("exact/+/result", 2));
  ASSERT_TRUE(client->Publish("exact/d9/infer", V2Request("q2"), Opts(2)));
  auto r3 = client->WaitOn("exact/d9/result");
  ASSERT_TRUE(r3) << server->Output();
  EXPECT_EQ(r3->qos, 2);
  EXPECT_EQ(IdOf(r3->payload), "q2");
}

TEST_F(MqttE2ETest, EveryQos1RequestIsAnswered) {
  auto server = StartInfergate("ig-qos1");
  ASSERT_TRUE(server->WaitForLine("mqtt: subscribed to")) << server->Output();
  auto client = Client("device-3");
  ASSERT_TRUE(client->Subscribe("infergate/models/vibration_anomaly/result", 1));
  constexpr int kRequests = 300;
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(client->Publish("infergate/models/vibration_anomaly/infer", V2Request("q" + std::to_string(i)),
                                Opts(1)));
  }
  auto replies = client->WaitForCount(kRequests, 60s);
  std::set<std::string> ids;
  for (const auto& r : replies) {
    EXPECT_EQ(r.qos, 1);
    EXPECT_NE(r.payload.find("\"outputs\""), std::string::npos) << r.payload;
    ids.insert(IdOf(r.payload));
  }
  EXPECT_EQ(replies.size(), static_cast<size_t>(kRequests)) << server->Output();
  EXPECT_EQ(ids.size(), static_cast<size_t>(kRequests));
}

TEST_F(MqttE2ETest, BadInputIsAnsweredWithAnErrorAndTheServerGoesOn) {
  auto server = StartInfergate("ig-errors", "  max_payload_bytes: 4096\n");
  ASSERT_TRUE(server->WaitForLine("mqtt: subscribed to")) << server->Output();
  auto client = Client("device-4");
  ASSERT_TRUE(client->Subscribe("err/#"));
  const std::string topic = "infergate/models/vibration_anomaly/infer";

  ASSERT_TRUE(client->Publish(topic, "{not json", Opts(1, "err/malformed")));
  ASSERT_TRUE(client->Publish("infergate/models/nope/infer", V2Request("u"),
                              Opts(1, "err/unknown")));
  ASSERT_TRUE(client->Publish(topic, std::string(5000, ' '), Opts(1, "err/large")));
  ASSERT_TRUE(client->Publish(topic, V2Request("s", 3), Opts(1, "err/shape")));
  ASSERT_TRUE(client->Publish(topic, "", Opts(1, "err/empty")));
  ASSERT_TRUE(client->Publish(topic, R"({"id":"cut","inputs":[{"name":"accel")", Opts(1, "err/cut")));

  auto malformed = client->WaitOn("err/malformed");
  ASSERT_TRUE(malformed) << server->Output();
  EXPECT_NE(malformed->payload.find("\"error\""), std::string::npos) << malformed->payload;
  EXPECT_EQ(malformed->user_properties["reason_code"], "153");
  EXPECT_EQ(malformed->user_properties["status"], "INVALID_ARGUMENT");

  auto unknown = client->WaitOn("err/unknown");
  ASSERT_TRUE(unknown);
  EXPECT_NE(unknown->payload.find("nope"), std::string::npos) << unknown->payload;
  EXPECT_EQ(unknown->user_properties["reason_code"], "131");
  EXPECT_EQ(IdOf(unknown->payload), "u");

  auto large = client->WaitOn("err/large");
  ASSERT_TRUE(large);
  EXPECT_NE(large->payload.find("exceeds mqtt.max_payload_bytes (4096)"), std::string::npos) << large->payload;
  EXPECT_EQ(large->user_properties["reason_code"], "149");

  auto shape = client->WaitOn("err/shape");
  ASSERT_TRUE(shape);
  EXPECT_NE(shape->payload.find("accel"), std::string::npos) << shape->payload;
  EXPECT_EQ(shape->user_properties["reason_code"], "153");

  auto empty = client->WaitOn("err/empty");
  ASSERT_TRUE(empty);
  EXPECT_NE(empty->payload.find("\"error\""), std::string::npos);

  // The id of a request that cannot be parsed is still found and echoed.
  auto cut = client->WaitOn("err/cut");
  ASSERT_TRUE(cut);
  EXPECT_EQ(IdOf(cut->payload), "cut") << cut->payload;
  EXPECT_EQ(cut->user_properties["status"], "INVALID_ARGUMENT");

  ASSERT_TRUE(client->Publish(topic, V2Request("ok"), Opts(1, "err/none")));
  auto ok = client->WaitOn("err/none");
  ASSERT_TRUE(ok) << server->Output();
  EXPECT_NE(ok->payload.find("\"outputs\""), std::string::npos) << ok->payload;
  EXPECT_EQ(server->Stop(SIGTERM), 0) << server->Output();
}

TEST_F(MqttE2ETest, AFloodGetsResultsAndFastOverloadedRepliesNeverSilence) {
  auto server = StartInfergate("ig-flood", "  max_inflight: 1\n");
  ASSERT_TRUE(server->WaitForLine("mqtt: subscribed to")) << server->Output();
  auto client = Client("device-flood");
  ASSERT_TRUE(client->Subscribe("flood/#"));
  constexpr int kRequests = 2000;
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(client->Publish("infergate/models/vibration_anomaly/infer", V2Request("f" + std::to_string(i)),
                                Opts(1, "flood/r")));
  }
  auto replies = client->WaitForCount(kRequests, 60s);
  ASSERT_EQ(replies.size(), static_cast<size_t>(kRequests)) << server->Output();
  int results = 0;
  int overloaded = 0;
  for (const auto& r : replies) {
    if (r.payload.find("\"outputs\"") != std::string::npos) {
      ++results;
      continue;
    }
    ASSERT_NE(r.payload.find("overloaded"), std::string::npos) << r.payload;
    ++overloaded;
    EXPECT_EQ(r.user_properties.at("status"), "UNAVAILABLE");
    EXPECT_EQ(r.user_properties.at("reason_code"), "151");  // 0x97 quota exceeded
    EXPECT_EQ(r.user_properties.at("retry_after_ms"), "1000");
    EXPECT_NE(r.payload.find("\"retry_after_ms\":1000"), std::string::npos) << r.payload;
    EXPECT_EQ(IdOf(r.payload).substr(0, 1), "f") << r.payload;
  }
  RecordProperty("results", results);
  RecordProperty("overloaded", overloaded);
  EXPECT_GT(results, 0);
  // Reading goes on at the bound, so the excess is answered at once (about
  // half here) rather than held by the broker until a slot frees (under 10%
  // when reading paused at the bound).
  EXPECT_GT(overloaded, kRequests / 4) << results << " results";
  // And right after, a request is answered with a result.
  ASSERT_TRUE(client->Publish("infergate/models/vibration_anomaly/infer", V2Request("probe"), Opts(1, "flood/p")));
  auto probe = client->WaitOn("flood/p", 5s);
  ASSERT_TRUE(probe) << server->Output();
  EXPECT_EQ(IdOf(probe->payload), "probe");
  EXPECT_NE(probe->payload.find("\"outputs\""), std::string::npos) << probe->payload;
}

TEST_F(MqttE2ETest, AReplyLargerThanTheBrokersMaximumPacketSizeBecomesAnErrorThatFits) {
  MosquittoBroker broker("max_packet_size 600\n");
  ASSERT_TRUE(broker.Start()) << broker.Output();
  auto server = StartInfergate("ig-large", R"(  default_route: false
  default_telemetry_route: false
  routes:
    - topic: raw/+device
      model: vibration_anomaly
      format: raw
      input: {name: accel, datatype: FP32, shape: [1, 64]}
      reply_topic: raw/{device}/reply
)", {}, broker.url());
  ASSERT_TRUE(server->WaitForLine("mqtt: subscribed to raw/\\+")) << server->Output();
  MqttTestClient client(broker.port(), "device-large");
  ASSERT_TRUE(client.Connect());
  ASSERT_TRUE(client.Subscribe("raw/+/reply"));
  auto w = Window();
  std::string raw(reinterpret_cast<const char*>(w.data()), w.size() * sizeof(float));
  // 256 bytes in; the reply (64 reconstructed samples and the score as JSON) is ~1 KB.
  ASSERT_TRUE(client.Publish("raw/d1", raw, Opts(1, "", std::string("corr-1"))));
  auto r = client.WaitOn("raw/d1/reply");
  ASSERT_TRUE(r) << server->Output();
  EXPECT_EQ(r->user_properties["status"], "RESOURCE_EXHAUSTED") << r->payload;
  EXPECT_NE(r->payload.find("of model 'vibration_anomaly'"), std::string::npos) << r->payload;
  EXPECT_NE(r->payload.find("-byte limit"), std::string::npos) << r->payload;
  EXPECT_NE(r->payload.find("600"), std::string::npos) << r->payload;
  EXPECT_EQ(r->correlation_data, "corr-1");
}

TEST_F(MqttE2ETest, Mqtt311RequestsNameTheirReplyTopicAndCorrelationIdInParameters) {
  auto server = StartInfergate("ig-v311-rt", "  protocol_version: \"3.1.1\"\n  max_reply_bytes: 600\n");
  ASSERT_TRUE(server->WaitForLine("mqtt: subscribed to")) << server->Output();
  auto client = Client("device-311-rt", /*mqtt5=*/false);
  ASSERT_TRUE(client->Subscribe("infergate/replies/#"));
  ASSERT_TRUE(client->Subscribe("infergate/models/+/result"));
  auto request = [](const std::string& id, const std::string& reply_topic, bool score_only) {
    std::string body = V2Request(id);
    std::string extra = R"("parameters":{"reply_topic":")" + reply_topic + R"(","correlation_id":"c-)" + id + R"("},)";
    if (score_only) extra += R"("outputs":[{"name":"anomaly_score"}],)";
    return body.insert(body.find("\"inputs\""), extra);
  };
  const std::string topic = "infergate/models/vibration_anomaly/infer";
  ASSERT_TRUE(client->Publish(topic, request("small", "infergate/replies/d42", true), Opts(1)));
  auto small = client->WaitOn("infergate/replies/d42");
  ASSERT_TRUE(small) << server->Output();
  EXPECT_EQ(IdOf(small->payload), "small");
  EXPECT_NE(small->payload.find(R"("parameters":{"correlation_id":"c-small"})"), std::string::npos) << small->payload;
  EXPECT_NE(small->payload.find("anomaly_score"), std::string::npos) << small->payload;

  // Every output: larger than mqtt.max_reply_bytes, an error that fits goes instead.
  ASSERT_TRUE(client->Publish(topic, request("big", "infergate/replies/d42", false), Opts(1)));
  auto big = client->WaitOn("infergate/replies/d42");
  ASSERT_TRUE(big) << server->Output();
  EXPECT_EQ(IdOf(big->payload), "big");
  EXPECT_NE(big->payload.find("\"error\""), std::string::npos) << big->payload;
  EXPECT_NE(big->payload.find("600-byte limit"), std::string::npos) << big->payload;
  EXPECT_NE(big->payload.find(R"("correlation_id":"c-big")"), std::string::npos) << big->payload;

  // A request that cannot be parsed: its error still goes to the reply topic its parameters name.
  ASSERT_TRUE(client->Publish(
      topic, R"({"id":"bad","parameters":{"reply_topic":"infergate/replies/d42","correlation_id":"c-bad"},"inputs":[{)",
      Opts(1)));
  auto bad = client->WaitOn("infergate/replies/d42");
  ASSERT_TRUE(bad) << server->Output();
  EXPECT_EQ(IdOf(bad->payload), "bad");
  EXPECT_NE(bad->payload.find(R"("correlation_id":"c-bad")"), std::string::npos) << bad->payload;

  // Outside mqtt.reply_topic_prefix (default "infergate/"): refused on the route's reply topic.
  ASSERT_TRUE(client->Publish(topic, request("away", "dev/42/reply", true), Opts(1)));
  auto away = client->WaitOn("infergate/models/vibration_anomaly/result");
  ASSERT_TRUE(away) << server->Output();
  EXPECT_EQ(IdOf(away->payload), "away");
  EXPECT_NE(away->payload.find("mqtt.reply_topic_prefix"), std::string::npos) << away->payload;
}

TEST_F(MqttE2ETest, ReconnectsAndResumesAfterTheBrokerRestarts) {
  auto server = StartInfergate("ig-restart");
  ASSERT_TRUE(server->WaitForLine("mqtt: subscribed to")) << server->Output();
  ASSERT_TRUE(broker_.Restart()) << broker_.Output();
  ASSERT_TRUE(server->WaitForLine("mqtt: connection to .* lost")) << server->Output();
  ASSERT_TRUE(server->WaitForLine("mqtt: connected to", 20s)) << server->Output();
  ASSERT_TRUE(server->WaitForLine("mqtt: subscribed to infergate/models/\\+/infer")) << server->Output();
  auto client = Client("device-5");
  ASSERT_TRUE(client->Subscribe("reply/#"));
  ASSERT_TRUE(client->Publish("infergate/models/vibration_anomaly/infer", V2Request("after"),
                              Opts(1, "reply/5")));
  auto r = client->WaitOn("reply/5");
  ASSERT_TRUE(r) << server->Output();
  EXPECT_EQ(IdOf(r->payload), "after");
}

TEST_F(MqttE2ETest, LastWillMarksACrashedInstanceOffline) {
  auto server = StartInfergate("ig-crash");
  ASSERT_TRUE(server->WaitForLine("mqtt: subscribed to")) << server->Output();
  auto client = Client("watcher");
  ASSERT_TRUE(client->Subscribe("infergate/status/ig-crash"));
  auto online = client->WaitOn("infergate/status/ig-crash");
  ASSERT_TRUE(online);
  EXPECT_EQ(online->payload, "online");
  server->Stop(SIGKILL);
  auto offline = client->WaitOn("infergate/status/ig-crash");
  ASSERT_TRUE(offline);
  EXPECT_EQ(offline->payload, "offline");
}

TEST_F(MqttE2ETest, Mqtt311ClientsGetRepliesOnTheResultTopic) {
  auto server = StartInfergate("ig-v311", "  protocol_version: \"3.1.1\"\n");
  ASSERT_TRUE(server->WaitForLine("mqtt: subscribed to")) << server->Output();
  auto client = Client("device-311", /*mqtt5=*/false);
  ASSERT_TRUE(client->Subscribe("infergate/models/+/result"));
  ASSERT_TRUE(client->Publish("infergate/models/vibration_anomaly/infer", V2Request("v3"), Opts(1)));
  auto r = client->WaitOn("infergate/models/vibration_anomaly/result");
  ASSERT_TRUE(r) << server->Output();
  EXPECT_EQ(IdOf(r->payload), "v3");
  ASSERT_TRUE(client->Publish("infergate/models/nope/infer", V2Request("v3e"), Opts(1)));
  auto e = client->WaitOn("infergate/models/nope/result");
  ASSERT_TRUE(e);
  EXPECT_NE(e->payload.find("\"error\""), std::string::npos);
}

TEST_F(MqttE2ETest, TwoInstancesInAShareGroupAnswerEachRequestExactlyOnce) {
  auto a = StartInfergate("ig-share-a", "", {"--mqtt-share-group", "pool"});
  auto b = StartInfergate("ig-share-b", "", {"--mqtt-share-group", "pool"});
  ASSERT_TRUE(a->WaitForLine("mqtt: subscribed to \\$share/pool/infergate/models/\\+/infer")) << a->Output();
  ASSERT_TRUE(b->WaitForLine("mqtt: subscribed to \\$share/pool/infergate/models/\\+/infer")) << b->Output();
  auto client = Client("device-6");
  ASSERT_TRUE(client->Subscribe("infergate/models/vibration_anomaly/result", 1));
  constexpr int kRequests = 1000;
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(client->Publish("infergate/models/vibration_anomaly/infer", V2Request("s" + std::to_string(i)),
                                Opts(1)));
  }
  auto replies = client->WaitForCount(kRequests, 90s);
  // Both instances drain and stop; a duplicate would arrive by then.
  EXPECT_EQ(a->Stop(SIGTERM), 0);
  EXPECT_EQ(b->Stop(SIGTERM), 0);
  auto late = client->WaitForCount(1, 500ms);
  std::map<std::string, int> count;
  for (const auto& r : replies) ++count[IdOf(r.payload)];
  for (const auto& r : late) ++count[IdOf(r.payload)];
  EXPECT_EQ(count.size(), static_cast<size_t>(kRequests));
  for (const auto& [id, n] : count) EXPECT_EQ(n, 1) << id;
  auto answered = [](Process& p) {
    auto m = p.WaitForLine("mqtt: stopped; (\\d+) requests answered", 1s);
    return m ? std::stoi((*m)[1]) : -1;
  };
  int na = answered(*a);
  int nb = answered(*b);
  EXPECT_GT(na, 0) << a->Output();
  EXPECT_GT(nb, 0) << b->Output();
  EXPECT_EQ(na + nb, kRequests);
}

// A CA, a broker certificate for 127.0.0.1 and a client certificate, made with
// the openssl command line. Readable by all: mosquitto started as root reads
// them after dropping to its own user.
bool MakeCertificates(const fs::path& dir) {
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  const std::string d = dir.string() + "/";
  const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 ";
  const std::string quiet = " >/dev/null 2>&1";
  return std::system(("openssl req -x509" + ec + "-keyout " + d + "ca.key -out " + d + "ca.crt -subj '/CN=test CA'" + quiet).c_str()) == 0 &&
         std::system(("openssl req -x509" + ec + "-keyout " + d + "server.key -out " + d + "server.crt -subj '/CN=127.0.0.1' "
                      "-addext subjectAltName=IP:127.0.0.1 -CA " + d + "ca.crt -CAkey " + d + "ca.key" + quiet).c_str()) == 0 &&
         std::system(("openssl req -x509" + ec + "-keyout " + d + "client.key -out " + d + "client.crt -subj '/CN=infergate' "
                      "-CA " + d + "ca.crt -CAkey " + d + "ca.key" + quiet).c_str()) == 0 &&
         std::system(("chmod a+r " + d + "*" + quiet).c_str()) == 0;
}

TEST_F(MqttE2ETest, ConnectsOverTlsWithAClientCertificate) {
  TempDir certs;
  ASSERT_TRUE(MakeCertificates(certs.path()));
  const std::string c = certs.path().string() + "/";
  const int tls_port = testing::FreePort();
  // Devices use the plain listener; infergate the TLS one, which demands a client certificate.
  MosquittoBroker broker("listener " + std::to_string(tls_port) + " 127.0.0.1\ncafile " + c + "ca.crt\ncertfile " + c +
                         "server.crt\nkeyfile " + c + "server.key\nrequire_certificate true\n");
  ASSERT_TRUE(broker.Start()) << broker.Output();
  const std::string tls = "  tls:\n    ca_file: " + c + "ca.crt\n    cert_file: " + c + "client.crt\n    key_file: " + c +
                          "client.key\n";
  auto server = StartInfergate("ig-tls", tls, {}, "mqtts://127.0.0.1:" + std::to_string(tls_port));
  ASSERT_TRUE(server->WaitForLine("mqtt: connected to mqtts://127.0.0.1:")) << server->Output();
  ASSERT_TRUE(server->WaitForLine("mqtt: subscribed to")) << server->Output();
  MqttTestClient client(broker.port(), "device-tls");
  ASSERT_TRUE(client.Connect());
  ASSERT_TRUE(client.Subscribe("reply/#"));
  ASSERT_TRUE(client.Publish("infergate/models/vibration_anomaly/infer", V2Request("t"), Opts(1, "reply/tls")));
  auto r = client.WaitOn("reply/tls");
  ASSERT_TRUE(r) << server->Output();
  EXPECT_EQ(IdOf(r->payload), "t");

  // Without the client certificate the broker refuses the handshake; infergate keeps retrying.
  auto refused = StartInfergate("ig-tls-nocert", "  tls:\n    ca_file: " + c + "ca.crt\n", {},
                                "mqtts://127.0.0.1:" + std::to_string(tls_port));
  ASSERT_TRUE(refused->WaitForLine("mqtt: (cannot connect to|connection to) mqtts://.*; re")) << refused->Output();
}

TEST_F(MqttE2ETest, PersistentSessionKeepsRequestsWhileInfergateIsAway) {
  const std::string persistent = "  clean_session: false\n  session_expiry_secs: 300\n";
  auto first = StartInfergate("ig-persist", persistent);
  ASSERT_TRUE(first->WaitForLine("mqtt: subscribed to")) << first->Output();
  EXPECT_EQ(first->Stop(SIGTERM), 0);
  auto client = Client("device-7");
  ASSERT_TRUE(client->Subscribe("infergate/models/+/result", 1));
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client->Publish("infergate/models/vibration_anomaly/infer", V2Request("p" + std::to_string(i)), Opts(1)));
  }
  ASSERT_TRUE(client->WaitPublished(20));  // the broker holds them for the absent session
  auto second = StartInfergate("ig-persist", persistent);
  auto replies = client->WaitForCount(20, 30s);
  std::set<std::string> ids;
  for (const auto& r : replies) ids.insert(IdOf(r.payload));
  EXPECT_EQ(ids.size(), 20u) << second->Output();
}

TEST(MqttConfigE2ETest, ABadRouteStopsStartUpWithAMessageNamingIt) {
  TempDir dir;
  auto config = dir.Write("infergate.yaml",
                          "model_repository: .\nmqtt:\n  broker: mqtt://127.0.0.1:1\n  routes:\n"
                          "    - {topic: a/+dev/x, model: m, reply_topic: \"a/{device}\"}\n");
  Process server(testing::ServeCommand({"--config", config.string()}));
  EXPECT_EQ(server.Wait(), 2) << server.Output();
  EXPECT_NE(server.Output().find("mqtt.routes[0] (a/+dev/x): reply topic 'a/{device}': unknown name {device}"),
            std::string::npos)
      << server.Output();
  Process bad_url(testing::ServeCommand({"--model-repository", dir.path().string(), "--mqtt-broker",
                                         "tcp://127.0.0.1:1883"}));
  EXPECT_EQ(bad_url.Wait(), 2);
  EXPECT_NE(bad_url.Output().find("unknown scheme"), std::string::npos) << bad_url.Output();
}

}  // namespace
}  // namespace infergate
