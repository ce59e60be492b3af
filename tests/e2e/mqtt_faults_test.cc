// MQTT under faults, end to end: the real mosquitto broker with persistence,
// the real infergate binary with a persistent session (clean_session false,
// a fixed client id), and a device with a persistent session at QoS 1
// (testing/mqtt_device_session.h). What must hold:
//   - kill -9 of the broker mid-run (down 5 s, restarted on the same port
//     with the same persistence file): no request lost, duplicates allowed;
//   - kill -9 of infergate mid-run and a restart (same config, same state
//     folder): no request lost, duplicates allowed;
//   - a QoS 0 open-loop flood far above capacity: goodput stays at half of
//     the closed-loop capacity or more, the server never goes silent (probes
//     answered within 1 s each after the flood) and its memory stays bounded.
//
// What mosquitto 2.0.11 guarantees (mosquitto.conf(5): persistence,
// autosave_interval, autosave_on_changes): persistence is a snapshot of its
// in-memory database, written at exit, on SIGUSR1 and by autosave. The
// broker here saves with `autosave_on_changes true` and `autosave_interval
// 10`: after every 10 changes (queued messages, subscriptions), a few
// milliseconds of traffic (testing/mosquitto_broker.h says why not 1). It
// saves after acknowledging, so a kill -9 loses what came since the last
// save: a request the broker PUBACKed to the device in the last moments
// before the kill may be gone with the broker. Such requests (PUBACK
// under kBrokerWindow before the kill) are counted and printed apart; every
// other request must be answered. infergate cannot make up for a broker that
// forgets what it acknowledged; a broker with per-message durability could.
// After a restart from its database, mosquitto 2.0.11 sends a client the
// restored in-flight messages again and again (the k-th about k times:
// ~14,000 duplicate replies for ~170 restored ones): duplicates, which the
// device must tolerate anyway, not losses.
//
// The flood uses mlp16_heavy (8 M multiply-adds per request), so the
// capacity it is measured against is the model's, as on a real gateway,
// and five times of it is a rate infergate-bench can offer.
//
// The steady runs use mlp16 in dynamic batches of 64 (at 200/s, one every
// 320 ms), so up to 63 requests are taken and unanswered inside infergate
// at any time: exactly what a kill -9 loses if they were acknowledged
// before they were owned. The broker lets 256 unacknowledged messages out
// to a client (max_inflight_messages, as README.md recommends), so a client
// that acknowledges a request once answered can still fill a batch.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "testing/http_client.h"
#include "testing/model_repo.h"
#include "testing/mosquitto_broker.h"
#include "testing/mqtt_device_session.h"
#include "testing/mqtt_test_client.h"
#include "testing/process.h"
#include "testing/serve_command.h"
#include "testing/temp_dir.h"
#include "testing/time_scale.h"

namespace infergate {
namespace {

using testing::MosquittoBroker;
using testing::MqttDeviceSession;
using testing::Process;
using testing::Scaled;
using testing::TempDir;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kRequests = 2000;
constexpr double kRate = 200;                 // requests per second
constexpr auto kBrokerWindow = 100ms;         // see the file comment
constexpr auto kQuiet = 6s;                   // no reply for this long: the rest is lost
// A cap only: waiting ends after kQuiet without a reply. While replies keep
// coming (a restarted broker's backlog and re-sends drain slowly on a busy
// machine) the test waits for them.
constexpr auto kAnswerDeadline = 300s;
constexpr char kHeldModel[] = "mlp16_held";  // mlp16 run in batches of 64 (1 s at most)
constexpr char kFloodModel[] = "mlp16_heavy";  // CPU-bound: its capacity is the model's, not the broker's

std::string Request(const std::string& id) {
  std::string data;
  for (int i = 0; i < 16; ++i) data += (i ? "," : "") + std::to_string((i % 7) * 0.25 - 0.5);
  return R"({"id":")" + id + R"(","inputs":[{"name":"input","shape":[1,16],"datatype":"FP32","data":[)" + data +
         "]}]}";
}

// Runs `argv` to its end and returns what it printed.
std::string RunToEnd(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  Process p(argv);
  p.Wait(timeout);
  return p.Output();
}

// The resident set of `pid` in MiB (0 if unknown).
double RssMiB(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

struct SteadyResult {
  size_t answered = 0;
  size_t lost = 0;
  size_t lost_in_broker_window = 0;  // PUBACKed under kBrokerWindow before the broker's kill
  size_t duplicates = 0;             // replies beyond the first per request
  int most_replies = 0;              // to one request
  size_t duplicated = 0;             // requests answered more than once
  size_t error_replies = 0;
  double seconds = 0;
};

class MqttFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.Start()) << broker_.Output();
    testing::CopyModel(models_, "mlp16_heavy.onnx", kFloodModel);
    testing::CopyModel(models_, "mlp16.onnx", kHeldModel);
    HoldBatchesFor(1000000);
    WriteConfig("ig-faults", "clean_session: false\n  session_expiry_secs: 3600");
  }

  // The held model waits up to `delay_us` for a batch of 64.
  void HoldBatchesFor(int64_t delay_us) {
    models_.Write(std::string(kHeldModel) + "/config.yaml",
                  "max_batch_size: 64\ndynamic_batching: {preferred_batch_size: [64], "
                  "max_queue_delay_microseconds: " + std::to_string(delay_us) + "}\n");
  }
  // infergate.yaml with this client id and session keys.
  void WriteConfig(const std::string& client_id, const std::string& session) {
    config_ = dir_.Write("infergate.yaml", "model_repository: " + models_.path().string() +
                                               "\nmodel_control_mode: none\nmqtt:\n  broker: " + broker_.url() +
                                               "\n  client_id: " + client_id + "\n  " + session +
                                               "\n  default_qos: 1\n"
                                               "  reconnect_min_secs: 0.1\n  reconnect_max_secs: 0.5\n");
  }

  // `infergate serve` with the config and --state-dir (the inbox journal lives there).
  std::vector<std::string> ServeArgv() {
    return testing::ServeCommand({"--config", config_.string(), "--state-dir", (dir_.path() / "state").string()});
  }

  std::unique_ptr<Process> StartInfergate(const std::vector<std::string>& argv) {
    auto p = std::make_unique<Process>(argv);
    EXPECT_TRUE(p->WaitForLine("mqtt: subscribed to infergate/models/\\+/infer")) << p->Output();
    return p;
  }

  // Sends kRequests at kRate (request i due at start + i/kRate); `fault(i)`
  // runs before request i. Requests libmosquitto refuses are sent again.
  SteadyResult RunSteady(MqttDeviceSession& device, const std::function<void(int)>& fault,
                         std::optional<Clock::time_point>* broker_killed_at) {
    const std::string topic = std::string("infergate/models/") + kHeldModel + "/infer";
    std::vector<int> refused;  // not taken by libmosquitto yet
    auto send_refused = [&] {
      std::vector<int> again;
      for (int r : refused) {
        const std::string key = "r" + std::to_string(r);
        if (!device.Request(topic, key, Request(key))) again.push_back(r);
      }
      refused.swap(again);
    };
    const auto start = Clock::now();
    for (int i = 0; i < kRequests; ++i) {
      fault(i);
      std::this_thread::sleep_until(start + std::chrono::microseconds(static_cast<int64_t>(i * 1e6 / kRate)));
      refused.push_back(i);
      send_refused();
    }
    for (auto end = Clock::now() + Scaled(20s); !refused.empty() && Clock::now() < end;) {
      std::this_thread::sleep_for(10ms);  // pacing the resend of refused requests, not synchronisation
      send_refused();
    }
    EXPECT_TRUE(refused.empty()) << refused.size() << " requests never taken by libmosquitto";
    device.WaitAnswered(kRequests, kQuiet, kAnswerDeadline);
    SteadyResult out;
    out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const auto replies = device.Replies();
    for (int i = 0; i < kRequests; ++i) {
      const std::string key = "r" + std::to_string(i);
      auto it = replies.find(key);
      if (it != replies.end()) {
        ++out.answered;
        out.duplicates += static_cast<size_t>(it->second - 1);
        out.most_replies = std::max(out.most_replies, it->second);
        out.duplicated += it->second > 1 ? 1 : 0;
        continue;
      }
      ++out.lost;
      const auto acked = device.AckedAt(key);
      if (broker_killed_at && *broker_killed_at && acked && *acked <= **broker_killed_at &&
          **broker_killed_at - *acked < kBrokerWindow) {
        ++out.lost_in_broker_window;
      }
    }
    out.error_replies = device.ErrorReplies();
    return out;
  }

  static void Print(const char* what, const SteadyResult& r) {
    std::printf("[ faults   ] %s: %d requests at %.0f/s: answered %zu, lost %zu (%zu PUBACKed by the broker "
                "under %lld ms before its kill), duplicates %zu (%zu requests, up to %d replies each), error replies "
                "%zu, %.1f s\n",
                what, kRequests, kRate, r.answered, r.lost, r.lost_in_broker_window,
                static_cast<long long>(kBrokerWindow.count()), r.duplicates, r.duplicated, r.most_replies,
                r.error_replies, r.seconds);
    ::testing::Test::RecordProperty("lost", static_cast<int>(r.lost));
    ::testing::Test::RecordProperty("duplicates", static_cast<int>(r.duplicates));
  }

  MosquittoBroker broker_{"set_tcp_nodelay true\nmax_inflight_messages 256\n", MosquittoBroker::Persistence::kOn};
  TempDir dir_;
  TempDir models_;
  std::filesystem::path config_;
};

TEST_F(MqttFaultsTest, BrokerKilledMidRunLosesNoRequest) {
  auto server = StartInfergate(ServeArgv());
  MqttDeviceSession device(broker_.port(), "faults-device", "faults/device/reply");
  ASSERT_TRUE(device.Connect());
  std::optional<Clock::time_point> killed_at;
  const int kill_at = kRequests * 3 / 10;                        // 3 s in
  const int restart_at = kill_at + static_cast<int>(kRate * 5);  // down 5 s
  auto result = RunSteady(
      device,
      [&](int i) {
        if (i == kill_at) {
          killed_at = Clock::now();
          broker_.Kill();
        } else if (i == restart_at) {
          ASSERT_TRUE(broker_.Relaunch()) << "mosquitto did not come back on port " << broker_.port();
        }
      },
      &killed_at);
  Print("broker kill -9", result);
  EXPECT_GE(device.Connects(), 2) << "the device never reconnected";
  EXPECT_EQ(result.lost - result.lost_in_broker_window, 0u) << server->Output();
}

TEST_F(MqttFaultsTest, InfergateKilledMidRunLosesNoRequest) {
  const auto argv = ServeArgv();
  auto server = StartInfergate(argv);
  MqttDeviceSession device(broker_.port(), "faults-device", "faults/device/reply");
  ASSERT_TRUE(device.Connect());
  std::string first_output;
  auto result = RunSteady(
      device,
      [&](int i) {
        if (i != kRequests / 2) return;
        server->Stop(SIGKILL);
        first_output = server->Output();
        server = std::make_unique<Process>(argv);  // not waited for here: the device keeps sending
      },
      nullptr);
  Print("infergate kill -9", result);
  EXPECT_EQ(result.lost, 0u) << "before the kill:\n" << first_output << "\nafter:\n" << server->Output();
}

// With a clean session the broker forgets whatever infergate had not
// acknowledged when it comes back, so only the inbox can answer requests that
// were inside infergate at a kill -9. The held model keeps them there (a
// batch of 64 that waits up to 30 s); they are journaled and acknowledged
// before they run, and the restarted infergate answers them from its inbox.
TEST_F(MqttFaultsTest, InfergateKilledWithACleanSessionAnswersFromItsInbox) {
  constexpr int kHeld = 20;
  HoldBatchesFor(30000000);
  WriteConfig("ig-inbox", "clean_session: true");
  const auto argv = ServeArgv();
  auto server = std::make_unique<Process>(argv);
  auto http = server->WaitForLine("http: listening on [^ ]*:([0-9]+)");
  ASSERT_TRUE(http) << server->Output();
  ASSERT_TRUE(server->WaitForLine("mqtt: subscribed to infergate/models/\\+/infer")) << server->Output();
  MqttDeviceSession device(broker_.port(), "inbox-device", "inbox/device/reply");
  ASSERT_TRUE(device.Connect());
  const std::string topic = std::string("infergate/models/") + kHeldModel + "/infer";
  for (int i = 0; i < kHeld; ++i) {
    const std::string key = "h" + std::to_string(i);
    ASSERT_TRUE(device.Request(topic, key, Request(key)));
  }
  // Every request durable in the inbox and acknowledged for that reason,
  // none answered yet (the batch waits for 64 or 30 s).
  testing::CurlClient client("http://127.0.0.1:" + (*http)[1]);
  const std::string acked = "infergate_mqtt_acknowledgements_total{after=\"journal\"} " + std::to_string(kHeld);
  bool journaled = false;
  for (auto end = Clock::now() + Scaled(20s); !journaled && Clock::now() < end;) {
    journaled = client.Get("/metrics").body.find(acked) != std::string::npos;
    if (!journaled) std::this_thread::sleep_for(20ms);  // polling interval of a metrics scrape
  }
  ASSERT_TRUE(journaled) << client.Get("/metrics").body;
  EXPECT_TRUE(device.Replies().empty());
  server->Stop(SIGKILL);
  // The restart runs them at once (its batching delay is the same, so they
  // are answered when the 30 s delay ends or at shutdown: a short delay now).
  models_.Write(std::string(kHeldModel) + "/config.yaml", "max_batch_size: 64\n");
  server = std::make_unique<Process>(argv);
  EXPECT_TRUE(server->WaitForLine("mqtt: inbox .* \\(" + std::to_string(kHeld) + " requests of the previous run"))
      << server->Output();
  EXPECT_EQ(device.WaitAnswered(kHeld, kQuiet, Scaled(30s)), static_cast<size_t>(kHeld)) << server->Output();
  EXPECT_EQ(device.ErrorReplies(), 0u);
  EXPECT_EQ(server->Stop(SIGTERM), 0) << server->Output();
}

// infergate-bench's report (--format json) of one level.
struct BenchRow {
  double throughput = 0;
  int64_t ok = 0;
  int64_t requests = 0;
  std::map<std::string, int64_t> errors;  // by kind
  std::string ErrorText() const {
    std::string out;
    for (const auto& [kind, n] : errors) out += kind + "=" + std::to_string(n) + " ";
    return out;
  }
};

class MqttFaultsFloodTest : public MqttFaultsTest {
 protected:
  BenchRow Bench(const std::vector<std::string>& flags, double seconds) {
    const auto report = dir_.path() / "bench.json";
    std::filesystem::remove(report);
    std::vector<std::string> argv = {INFERGATE_BENCH_BINARY, "--target", "mqtt", "--broker",
                                     "127.0.0.1:" + std::to_string(broker_.port()), "--model", kFloodModel,
                                     "--input", "input:FP32:1,16", "--qos", "0", "--format", "json",
                                     "--progress", "off", "--output", report.string()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    const std::string out = RunToEnd(argv, std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)) + 30s);
    BenchRow row;
    std::ifstream in(report);
    auto doc = nlohmann::json::parse(in, nullptr, false);
    if (doc.is_discarded() || doc["rows"].empty()) {
      ADD_FAILURE() << "infergate-bench wrote no report:\n" << out;
      return row;
    }
    const auto& r = doc["rows"][0];
    row.throughput = r["throughput_rps"].get<double>();
    row.ok = r["ok"].get<int64_t>();
    row.requests = r["requests"].get<int64_t>();
    for (const auto& [kind, n] : r["errors_by_kind"].items()) row.errors[kind] = n.get<int64_t>();
    return row;
  }
};

TEST_F(MqttFaultsFloodTest, QosZeroFloodKeepsGoodputAndNeverGoesSilent) {
  auto server = StartInfergate(ServeArgv());
  const double scale = testing::TimeScale();
  const BenchRow closed = Bench({"--concurrency", "16", "--warmup", "1", "--duration", "3", "--timeout", "5"}, 4);
  ASSERT_GT(closed.throughput, 0) << server->Output();
  const double capacity = closed.throughput;

  const double flood_rate = 5 * capacity;
  const double flood_secs = std::max(5.0, 20.0 / scale);
  const double baseline_mib = RssMiB(server->pid());
  std::atomic<bool> flooding{true};
  double peak_mib = baseline_mib;
  std::thread sampler([&] {
    while (flooding) {
      peak_mib = std::max(peak_mib, RssMiB(server->pid()));
      server->Output();  // drains its log pipe (the main thread leaves `server` alone meanwhile)
      std::this_thread::sleep_for(100ms);  // a sampling period, not synchronisation
    }
  });
  const BenchRow flood = Bench({"--rate", std::to_string(static_cast<int>(flood_rate)), "--devices", "50",
                                "--warmup", "0", "--duration", std::to_string(flood_secs), "--timeout", "2"},
                               flood_secs + 2);
  flooding = false;
  sampler.join();

  // Probes right after the flood: one at a time, each answered within 1 s.
  testing::MqttTestClient probe(broker_.port(), "faults-probe");
  ASSERT_TRUE(probe.Connect());
  ASSERT_TRUE(probe.Subscribe("faults/probe/reply"));
  int answered_probes = 0;
  double worst_probe_ms = 0;
  for (int i = 0; i < 10; ++i) {
    testing::PublishOptions o;
    o.qos = 1;
    o.response_topic = "faults/probe/reply";
    o.correlation_data = "p" + std::to_string(i);
    const auto sent = Clock::now();
    ASSERT_TRUE(probe.Publish(std::string("infergate/models/") + kFloodModel + "/infer", Request("p"), o));
    auto reply = probe.WaitFor([&](const testing::MqttMessage& m) { return m.correlation_data == o.correlation_data; },
                               Scaled(1s));
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
    worst_probe_ms = std::max(worst_probe_ms, ms);
    if (reply) ++answered_probes;
  }

  const double answered_per_sec = static_cast<double>(flood.ok) / flood_secs;
  std::printf("[ flood    ] closed loop (16 devices, QoS 0): %.0f req/s\n"
              "[ flood    ] open loop %.0f req/s for %.0f s (50 devices, QoS 0): %lld sent, %lld answered "
              "(%.0f/s, %.0f%% of capacity), errors: %s\n"
              "[ flood    ] probes: %d/10 answered, worst %.0f ms; RSS baseline %.0f MiB, peak %.0f MiB\n",
              capacity, flood_rate, flood_secs, static_cast<long long>(flood.requests),
              static_cast<long long>(flood.ok), answered_per_sec, 100 * answered_per_sec / capacity,
              flood.ErrorText().c_str(), answered_probes, worst_probe_ms, baseline_mib, peak_mib);
  EXPECT_GE(answered_per_sec, 0.5 * capacity);
  // The excess is answered (error_reply: `overloaded`) or shed (timeout;
  // client_overload is infergate-bench's own queue); nothing else.
  for (const auto& [kind, n] : flood.errors) {
    EXPECT_TRUE(kind == "error_reply" || kind == "timeout" || kind == "client_overload") << kind << "=" << n;
  }
  EXPECT_EQ(answered_probes, 10) << "silent after the flood";
  EXPECT_LT(peak_mib, baseline_mib + 256);
}

}  // namespace
}  // namespace infergate
