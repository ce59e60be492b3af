// The edge uplink under faults, end to end: two real mosquitto brokers, the
// "local" one the devices and infergate talk to and a "cloud" one the uplink
// forwards results to, and the real infergate binary with a state dir (its
// MQTT inbox journal and the uplink's outbox live there). What must hold:
//   - devices send telemetry for 30 s; the cloud broker is killed (kill -9)
//     for 10 s and during that outage infergate is killed (kill -9) and
//     started again with the same state dir. After recovery the cloud
//     subscriber has every alert the local broker saw, in order per device
//     (by the result's seq); duplicates are counted and printed (allowed at
//     uplink QoS 1, none expected at QoS 2). Readings sent while infergate
//     was down wait in the local broker (its persistent session) and are
//     answered after the restart, so the comparison is with the alerts the
//     local broker saw, not with the readings sent;
//   - with the cloud broker down, an outbox far smaller than the results it
//     is given drops the oldest (counted, reason "full") and stays within its
//     max_bytes; once the cloud broker is up the newest arrive, in order, and
//     received + dropped == produced.
//
// The model is identity_fp32 (tests/models) under a device contract: a
// reading {"seq": n, "ts": t, "v": x} is one inference, its score is x and an
// alert when x > 0.5, and every result is answered (on: always) on
// infergate/devices/<device>/reading/result. The uplink publishes the same
// body on <topic_prefix>/<that topic>.
//
// The cloud broker has persistence so that its subscriber's session (QoS 1
// or 2 subscription, queued messages) survives the kill. It saves only when
// told to (SIGUSR1, once the subscriber subscribed) and at a clean exit, not
// by autosave: mosquitto 2.0.11 sends the in-flight messages of a restored
// snapshot again and again (tests/e2e/mqtt_faults_test.cc), duplicates that
// would be the broker's, not infergate's. Without autosave the snapshot has
// the session and no message: what the broker took before the kill was on
// its way to the subscriber, which is connected, already.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "testing/http_client.h"
#include "testing/mosquitto_broker.h"
#include "testing/mqtt_recorder.h"
#include "testing/mqtt_test_client.h"
#include "testing/process.h"
#include "testing/serve_command.h"
#include "testing/temp_dir.h"
#include "testing/time_scale.h"

namespace infergate {
namespace {

using testing::MosquittoBroker;
using testing::MqttRecorder;
using testing::Process;
using testing::Scaled;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kDevices = 4;
constexpr double kRate = 25;  // readings per second and device
constexpr char kModel[] = "reading";
constexpr char kUplinkPrefix[] = "sites/e2e/gw";
constexpr int64_t kTinyOutbox =
    65536;  // bytes, the least uplink.outbox.max_bytes allows: a few hundred results

std::string Device(int d) { return "dev-" + std::to_string(d); }
std::string TelemetryTopic(int d) { return "infergate/devices/" + Device(d) + "/" + kModel; }
// Every third reading of a device is an alert, at a different phase per device.
bool IsAlert(int d, int64_t seq) { return (seq + d) % 3 == 0; }
std::string Reading(int d, int64_t seq) {
  std::ostringstream out;
  out << R"({"seq":)" << seq << R"(,"ts":)" << (1.7e9 + seq) << R"(,"v":)"
      << (IsAlert(d, seq) ? 0.875 : 0.125) << "}";
  return out.str();
}

// One result as a subscriber got it.
struct Result {
  std::string device;
  int64_t seq = -1;
  bool alert = false;
  std::string topic;
  std::string payload;
};

// The result in `m`, or nothing (an error reply, a status message).
std::optional<Result> ParseResult(const MqttRecorder::Message& m) {
  auto j = nlohmann::json::parse(m.payload, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("seq") || !j.contains("device"))
    return std::nullopt;
  return Result{j["device"].get<std::string>(), j["seq"].get<int64_t>(), j.value("alert", false),
                m.topic, m.payload};
}

// Results by device, in arrival order.
std::map<std::string, std::vector<Result>> ByDevice(
    const std::vector<MqttRecorder::Message>& messages) {
  std::map<std::string, std::vector<Result>> out;
  for (const auto& m : messages) {
    if (auto r = ParseResult(m)) out[r->device].push_back(std::move(*r));
  }
  return out;
}

// Waits until `done(messages)` holds, checking again whenever more arrived.
bool WaitChecked(MqttRecorder& recorder,
                 const std::function<bool(const std::vector<MqttRecorder::Message>&)>& done,
                 std::chrono::milliseconds timeout) {
  const auto end = Clock::now() + Scaled(timeout);
  while (true) {
    const auto messages = recorder.Messages();
    if (done(messages)) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
    if (left.count() <= 0) return false;
    // Unscaled: `left` is already the rest of the scaled deadline.
    recorder.WaitUntil(
        [&](const auto& now) { return now.size() > messages.size(); },
        std::chrono::milliseconds(static_cast<int64_t>(left.count() / testing::TimeScale())));
  }
}

class UplinkTwoBrokersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(local_.Start()) << local_.Output();
    ASSERT_TRUE(cloud_.Start()) << cloud_.Output();
    const auto version = models_.path() / kModel / "1";
    std::filesystem::create_directories(version);
    std::filesystem::copy_file(
        std::filesystem::path(INFERGATE_TEST_MODELS_DIR) / "identity_fp32.onnx",
        version / "model.onnx");
    models_.Write(std::string(kModel) + "/config.yaml",
                  "max_batch_size: 64\n"
                  "device:\n"
                  "  inputs: [{name: INPUT0, fields: [v]}]\n"
                  "  result: {output: OUTPUT0, kind: score, threshold: 0.5, on: always}\n");
  }

  // infergate.yaml: a persistent session on the local broker, the uplink to
  // the cloud broker with `forward` and `qos`, `outbox` (a YAML flow map) if given.
  void WriteConfig(const std::string& forward, int qos, const std::string& outbox = "") {
    config_ = dir_.Write(
        "infergate.yaml",
        "model_repository: " + models_.path().string() +
            "\nmodel_control_mode: none\n"
            "mqtt:\n  broker: " +
            local_.url() +
            "\n  client_id: ig-uplink-e2e\n  clean_session: false\n  session_expiry_secs: 3600\n"
            "  default_qos: 1\n  reconnect_min_secs: 0.1\n  reconnect_max_secs: 0.5\n"
            "uplink:\n  broker: " +
            cloud_.url() + "\n  client_id: ig-uplink-e2e-cloud\n  topic_prefix: " + kUplinkPrefix +
            "\n  forward: " + forward + "\n  qos: " + std::to_string(qos) +
            "\n  reconnect_min_secs: 0.1\n  reconnect_max_secs: 0.5\n" +
            (outbox.empty() ? "" : "  outbox: " + outbox + "\n"));
  }

  // Starts infergate (same config and state dir every time); returns once it
  // subscribed to telemetry. Its /metrics are then read through http_.
  std::unique_ptr<Process> StartInfergate() {
    auto p = std::make_unique<Process>(testing::ServeCommand(
        {"--config", config_.string(), "--state-dir", (dir_.path() / "state").string()}));
    auto http = p->WaitForLine(R"(http: listening on ([0-9.]+):([0-9]+))");
    EXPECT_TRUE(http) << p->Output();
    if (!http) return p;
    http_ = std::make_unique<testing::CurlClient>("http://" + (*http)[1] + ":" + (*http)[2]);
    EXPECT_TRUE(p->WaitForLine(R"(mqtt: subscribed to infergate/devices/\+/\+)")) << p->Output();
    return p;
  }

  // The value of the sample `name` whose labels include every `labels`
  // (`key="value"` each), -1 when there is none.
  double Metric(const std::string& name, const std::vector<std::string>& labels = {}) {
    if (!http_) return -1;
    std::istringstream in(http_->Get("/metrics").body);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(name, 0) != 0 || (line[name.size()] != '{' && line[name.size()] != ' '))
        continue;
      bool all = true;
      for (const auto& l : labels) all = all && line.find(l) != std::string::npos;
      if (all) return std::stod(line.substr(line.rfind(' ') + 1));
    }
    return -1;
  }
  // The MQTT, pipeline, uplink and outbox lines of /metrics (for failure messages).
  std::string MetricsDigest() {
    if (!http_) return "";
    std::istringstream in(http_->Get("/metrics").body);
    std::string out;
    for (std::string line; std::getline(in, line);) {
      if (line[0] == '#') continue;
      for (const char* p :
           {"infergate_mqtt_", "infergate_pipeline_", "infergate_uplink_", "infergate_outbox_"}) {
        if (line.rfind(p, 0) == 0) {
          out += line + "\n";
          break;
        }
      }
    }
    return out;
  }
  double Outbox(const std::string& name) { return Metric(name, {R"(outbox="uplink")"}); }
  // Scrapes /metrics until `done()` holds or `timeout` (scaled) passes.
  bool WaitMetrics(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    for (auto end = Clock::now() + Scaled(timeout); Clock::now() < end;) {
      if (done()) return true;
      std::this_thread::sleep_for(20ms);  // the polling interval of a metrics scrape
    }
    return done();
  }

  // The cloud broker writes its database now (the subscriber's session is
  // in it then); returns once its log says it saved.
  bool SaveCloud() {
    auto saves = [&] {
      const std::string log = cloud_.Output();
      size_t n = 0;
      for (size_t at = 0; (at = log.find("Saving in-memory database", at)) != std::string::npos;
           ++at)
        ++n;
      return n;
    };
    const size_t before = saves();
    kill(cloud_.pid(), SIGUSR1);
    for (auto end = Clock::now() + Scaled(10s); Clock::now() < end;) {
      if (saves() > before) return true;
      std::this_thread::sleep_for(20ms);  // polling the broker's log file
    }
    return false;
  }

  // A subscriber on the cloud broker for everything the uplink forwards,
  // with a session that survives the broker's kill.
  std::unique_ptr<MqttRecorder> CloudSubscriber(int qos) {
    auto sub = std::make_unique<MqttRecorder>(cloud_.port(), "cloud-subscriber", true);
    EXPECT_TRUE(sub->Connect());
    EXPECT_TRUE(sub->Subscribe(std::string(kUplinkPrefix) + "/infergate/devices/#", qos));
    EXPECT_TRUE(SaveCloud()) << cloud_.Output();
    return sub;
  }
  // A subscriber on the local broker for every device's results.
  std::unique_ptr<MqttRecorder> LocalSubscriber() {
    auto sub = std::make_unique<MqttRecorder>(local_.port(), "local-subscriber", false);
    EXPECT_TRUE(sub->Connect());
    EXPECT_TRUE(sub->Subscribe("infergate/devices/+/+/result", 1));
    return sub;
  }

  // Waits until the local broker carried a reply for each of the first
  // `readings` readings of every one of `devices` devices: a result (counted
  // once per seq: a restart may answer a reading again) or an error (e.g.
  // `overloaded` when a backlog arrives at once; it has no seq).
  bool WaitAllAnswered(MqttRecorder& local, int devices, int64_t readings,
                       std::chrono::milliseconds timeout) {
    return WaitChecked(
        local,
        [&](const std::vector<MqttRecorder::Message>& messages) {
          if (messages.size() < static_cast<size_t>(devices * readings)) return false;
          std::map<std::string, std::set<int64_t>> results;
          std::map<std::string, size_t> errors;  // by topic
          for (const auto& m : messages) {
            if (auto r = ParseResult(m)) {
              results[r->topic].insert(r->seq);
            } else {
              ++errors[m.topic];
            }
          }
          for (int d = 0; d < devices; ++d) {
            const std::string topic = TelemetryTopic(d) + "/result";
            if (results[topic].size() + errors[topic] < static_cast<size_t>(readings)) return false;
          }
          return true;
        },
        timeout);
  }

  MosquittoBroker local_{"set_tcp_nodelay true\nmax_inflight_messages 256\n"};
  MosquittoBroker cloud_{
      "set_tcp_nodelay true\nmax_inflight_messages 256\nautosave_on_changes false\n"
      "autosave_interval 0\n",
      MosquittoBroker::Persistence::kOn};
  testing::TempDir dir_;
  testing::TempDir models_;
  std::filesystem::path config_;
  std::unique_ptr<testing::CurlClient> http_;
};

// Sends kRate readings a second per device from its own connection (QoS 1)
// for `seconds`; returns how many per device.
class DeviceFleet {
 public:
  DeviceFleet(int port, int devices) {
    for (int d = 0; d < devices; ++d) {
      clients_.push_back(
          std::make_unique<testing::MqttTestClient>(port, "device-" + std::to_string(d)));
      EXPECT_TRUE(clients_.back()->Connect());
    }
  }
  // Paced: reading i of every device is due at start + i / kRate (the load's shape).
  void Start(double seconds) {
    readings_ = static_cast<int64_t>(seconds * kRate);
    thread_ = std::thread([this] {
      const auto start = Clock::now();
      for (int64_t i = 0; i < readings_; ++i) {
        std::this_thread::sleep_until(
            start + std::chrono::microseconds(static_cast<int64_t>(i * 1e6 / kRate)));
        for (size_t d = 0; d < clients_.size(); ++d) {
          testing::PublishOptions o;
          o.qos = 1;
          const int dev = static_cast<int>(d);
          if (!clients_[d]->Publish(TelemetryTopic(dev), Reading(dev, i), o)) ++refused_;
        }
      }
    });
  }
  int64_t Join() {
    if (thread_.joinable()) thread_.join();
    EXPECT_EQ(refused_.load(), 0) << "readings libmosquitto did not take";
    return readings_;
  }
  ~DeviceFleet() { Join(); }

 private:
  std::vector<std::unique_ptr<testing::MqttTestClient>> clients_;
  std::thread thread_;
  int64_t readings_ = 0;
  std::atomic<int> refused_{0};
};

// What the cloud got against what the local broker saw.
struct Comparison {
  size_t local_alerts = 0;      // distinct (device, seq) alerts on the local broker
  size_t local_duplicates = 0;  // local results beyond the first per reading
  size_t cloud = 0;             // results the cloud subscriber received
  size_t lost = 0;              // local alerts the cloud never got
  size_t duplicates = 0;        // cloud results beyond the first per (device, seq)
  // Cloud copies of a result beyond the local broker's copies of it: a
  // restarted infergate may answer a reading again (the inbox replays a
  // reading whose answer went out just before the kill), and both answers
  // are forwarded; what the uplink itself sent twice is counted here.
  size_t uplink_duplicates = 0;
  size_t out_of_order = 0;  // first arrivals at the cloud whose seq is not above the previous one
  size_t extra = 0;         // cloud alerts the local broker never carried
  size_t not_alerts = 0;    // cloud results that are not alerts (forward: alerts)
  size_t mismatched = 0;    // cloud body or topic not the local one
  std::string detail;       // the first few problems
};

Comparison Compare(const std::vector<MqttRecorder::Message>& local_messages,
                   const std::vector<MqttRecorder::Message>& cloud_messages) {
  Comparison c;
  auto note = [&](const std::string& what) {
    if (c.detail.size() < 2000) c.detail += what + "\n";
  };
  std::map<std::string, std::map<int64_t, Result>> local_alerts;  // device -> seq -> first arrival
  std::map<std::string, std::map<int64_t, size_t>> local_copies;  // device -> seq -> results
  for (const auto& [device, results] : ByDevice(local_messages)) {
    std::set<int64_t> seen;
    for (const auto& r : results) {
      ++local_copies[device][r.seq];
      if (!seen.insert(r.seq).second) {
        ++c.local_duplicates;
        continue;
      }
      if (r.alert) local_alerts[device].emplace(r.seq, r);
    }
    c.local_alerts += local_alerts[device].size();
  }
  const auto cloud = ByDevice(cloud_messages);
  for (const auto& [device, results] : cloud) {
    std::map<int64_t, size_t> copies;
    int64_t last = -1;
    for (const auto& r : results) {
      ++c.cloud;
      if (++copies[r.seq] > 1) {
        ++c.duplicates;
        if (copies[r.seq] > std::max<size_t>(1, local_copies[device][r.seq])) ++c.uplink_duplicates;
        continue;
      }
      if (r.seq <= last) {
        ++c.out_of_order;
        note(device + ": seq " + std::to_string(r.seq) + " after " + std::to_string(last));
      }
      last = std::max(last, r.seq);
      if (!r.alert) ++c.not_alerts;
      auto it = local_alerts[device].find(r.seq);
      if (it == local_alerts[device].end()) {
        ++c.extra;
        continue;
      }
      if (r.payload != it->second.payload ||
          r.topic != std::string(kUplinkPrefix) + "/" + it->second.topic) {
        ++c.mismatched;
        note("cloud " + r.topic + " " + r.payload + " vs local " + it->second.topic + " " +
             it->second.payload);
      }
    }
  }
  for (const auto& [device, alerts] : local_alerts) {
    std::set<int64_t> got;
    if (auto it = cloud.find(device); it != cloud.end()) {
      for (const auto& r : it->second) got.insert(r.seq);
    }
    for (const auto& [seq, r] : alerts) {
      if (got.count(seq)) continue;
      ++c.lost;
      note("lost: " + device + " seq " + std::to_string(seq));
    }
  }
  return c;
}

// Every local alert has reached the cloud.
bool CloudHasAll(const std::vector<MqttRecorder::Message>& local,
                 const std::vector<MqttRecorder::Message>& cloud) {
  return Compare(local, cloud).lost == 0;
}

class UplinkFaultsE2ETest : public UplinkTwoBrokersTest {
 protected:
  // Devices send for 30 s; the cloud broker is down from 8 s to 18 s; at
  // 12 s, with alerts waiting in the outbox, infergate is killed and started
  // again. Returns the comparison once every local alert reached the cloud
  // (or the wait gave up).
  Comparison RunOutage(int qos) {
    WriteConfig("alerts", qos);
    auto cloud_sub = CloudSubscriber(qos);
    auto local_sub = LocalSubscriber();
    auto server = StartInfergate();
    EXPECT_TRUE(WaitMetrics([&] { return Metric("infergate_uplink_connected") == 1; }, 10s))
        << server->Output();
    DeviceFleet fleet(local_.port(), kDevices);
    const auto start = Clock::now();
    fleet.Start(30);

    std::this_thread::sleep_until(start +
                                  8s);  // the fault schedule (load shape), not synchronisation
    cloud_.Kill();
    EXPECT_TRUE(WaitMetrics([&] { return Outbox("infergate_outbox_messages") > 0; }, 10s))
        << "no alert waiting in the outbox while the cloud broker is down\n"
        << server->Output();
    std::this_thread::sleep_until(start + 12s);
    const double waiting = Outbox("infergate_outbox_messages");
    server->Stop(SIGKILL);
    const std::string first_run = server->Output();
    server = StartInfergate();
    std::this_thread::sleep_until(start + 18s);
    EXPECT_TRUE(cloud_.Relaunch())
        << "the cloud broker did not come back on port " << cloud_.port();

    const int64_t readings = fleet.Join();
    EXPECT_TRUE(WaitAllAnswered(*local_sub, kDevices, readings, 60s))
        << local_sub->Messages().size() << " local replies\n"
        << MetricsDigest() << server->Output();
    const bool complete = WaitChecked(
        *cloud_sub, [&](const auto& cloud) { return CloudHasAll(local_sub->Messages(), cloud); },
        60s);
    EXPECT_TRUE(complete) << "before the kill:\n" << first_run << "\nafter:\n" << server->Output();
    EXPECT_TRUE(WaitMetrics([&] { return Outbox("infergate_outbox_messages") == 0; }, 30s))
        << server->Output();
    EXPECT_GE(cloud_sub->Connects(), 2) << "the cloud subscriber never reconnected";

    const auto c = Compare(local_sub->Messages(), cloud_sub->Messages());
    std::printf(
        "[ uplink   ] QoS %d: %d devices x %lld readings; %.0f alerts in the outbox at the kill; "
        "local "
        "broker: %zu alerts (%zu duplicate results); cloud: %zu received, lost %zu, duplicates %zu "
        "(%zu more "
        "than the local broker carried), out of order %zu, not seen locally %zu, not alerts %zu, "
        "bodies or "
        "topics differing %zu\n",
        qos, kDevices, static_cast<long long>(readings), waiting, c.local_alerts,
        c.local_duplicates, c.cloud, c.lost, c.duplicates, c.uplink_duplicates, c.out_of_order,
        c.extra, c.not_alerts, c.mismatched);
    ::testing::Test::RecordProperty("lost", static_cast<int>(c.lost));
    ::testing::Test::RecordProperty("duplicates", static_cast<int>(c.duplicates));
    ::testing::Test::RecordProperty("uplink_duplicates", static_cast<int>(c.uplink_duplicates));
    EXPECT_GT(c.local_alerts, static_cast<size_t>(kDevices * readings / 4));
    EXPECT_EQ(c.lost, 0u) << c.detail;
    EXPECT_EQ(c.out_of_order, 0u) << c.detail;
    EXPECT_EQ(c.not_alerts, 0u);
    EXPECT_EQ(c.mismatched, 0u) << c.detail;
    EXPECT_EQ(server->Stop(SIGTERM), 0) << server->Output();
    return c;
  }
};

TEST_F(UplinkFaultsE2ETest, EveryAlertReachesTheCloudThroughAnOutageAndAKillAtQos1) {
  RunOutage(1);  // duplicates allowed (printed)
}

// At QoS 2 the uplink delivers each result it forwards once. A reading that
// infergate answers twice across its kill -9 (the inbox answers again a
// reading whose first answer went out just before the kill) is two results,
// on the local broker and in the cloud alike: those are counted, not failed.
TEST_F(UplinkFaultsE2ETest, EveryAlertReachesTheCloudOnceThroughAnOutageAndAKillAtQos2) {
  const auto c = RunOutage(2);
  EXPECT_EQ(c.uplink_duplicates, 0u) << c.detail;
}

// The cloud broker is down from the start; the outbox holds kTinyOutbox
// bytes, far fewer than the results it is given.
class UplinkDropE2ETest : public UplinkTwoBrokersTest {};

TEST_F(UplinkDropE2ETest, AFullOutboxDropsTheOldestCountsThemAndSendsTheNewestInOrder) {
  constexpr int64_t kReadings = 1500;
  WriteConfig("results", 1, "{max_bytes: " + std::to_string(kTinyOutbox) + "}");
  auto cloud_sub = CloudSubscriber(1);
  cloud_.Stop();  // SIGTERM: it saves the subscriber's session on the way out
  auto local_sub = LocalSubscriber();
  auto server = StartInfergate();
  {
    testing::MqttTestClient device(local_.port(), "device-0");
    ASSERT_TRUE(device.Connect());
    testing::PublishOptions o;
    o.qos = 1;
    for (int64_t i = 0; i < kReadings; ++i) {
      ASSERT_TRUE(device.Publish(TelemetryTopic(0), Reading(0, i), o));
      std::this_thread::sleep_for(1ms);  // a device's pace (load shape): 1,000 readings a second
    }
    ASSERT_TRUE(device.WaitPublished(static_cast<int>(kReadings))) << local_.Output();
  }
  ASSERT_TRUE(WaitAllAnswered(*local_sub, 1, kReadings, 30s))
      << local_sub->Messages().size() << " local replies\n"
      << MetricsDigest() << server->Output();
  std::vector<int64_t> produced;  // the results' seqs, in order
  const auto local = ByDevice(local_sub->Messages());
  for (const auto& r : local.at(Device(0))) produced.push_back(r.seq);
  const auto n = static_cast<double>(produced.size());
  const auto dropped = [&] {
    return Metric("infergate_outbox_dropped_total", {R"(outbox="uplink")", R"(reason="full")"});
  };
  // Every result written, then kept or dropped.
  EXPECT_TRUE(
      WaitMetrics([&] { return Outbox("infergate_outbox_messages") + dropped() == n; }, 20s))
      << n << " results\n"
      << MetricsDigest();
  const double waiting = Outbox("infergate_outbox_messages");
  const double bytes = Outbox("infergate_outbox_bytes");
  const double full = dropped();
  EXPECT_GT(full, 0);
  EXPECT_GT(waiting, 0);
  EXPECT_LE(bytes, kTinyOutbox);
  EXPECT_EQ(Metric("infergate_uplink_connected"), 0);

  ASSERT_TRUE(cloud_.Relaunch()) << cloud_.Output();
  const auto waiting_n = static_cast<size_t>(waiting);
  const bool arrived = WaitChecked(
      *cloud_sub,
      [&](const auto& messages) { return ByDevice(messages)[Device(0)].size() >= waiting_n; }, 30s);
  EXPECT_TRUE(arrived) << MetricsDigest() << server->Output();
  EXPECT_TRUE(WaitMetrics([&] { return Outbox("infergate_outbox_messages") == 0; }, 10s))
      << MetricsDigest();
  std::vector<int64_t> seqs;
  const auto cloud = ByDevice(cloud_sub->Messages());
  if (cloud.count(Device(0))) {
    for (const auto& r : cloud.at(Device(0))) seqs.push_back(r.seq);
  }
  std::printf(
      "[ uplink   ] outbox of %lld bytes, cloud broker down: %lld readings, %zu results, %.0f "
      "dropped (full), "
      "%.0f kept (%.0f bytes); received once the broker was back: %zu, seq %lld to %lld\n",
      static_cast<long long>(kTinyOutbox), static_cast<long long>(kReadings), produced.size(), full,
      waiting, bytes, seqs.size(), seqs.empty() ? -1LL : static_cast<long long>(seqs.front()),
      seqs.empty() ? -1LL : static_cast<long long>(seqs.back()));
  // The newest results, in order, each once.
  ASSERT_LE(waiting_n, produced.size());
  EXPECT_EQ(seqs, std::vector<int64_t>(produced.end() - static_cast<std::ptrdiff_t>(waiting_n),
                                       produced.end()));
  EXPECT_EQ(static_cast<double>(seqs.size()) + full, n);
  EXPECT_EQ(Outbox("infergate_outbox_sent_total"), waiting);
  EXPECT_EQ(server->Stop(SIGTERM), 0) << server->Output();
}

}  // namespace
}  // namespace infergate
