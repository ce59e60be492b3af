// Device telemetry through a real mosquitto broker into infergate's device
// contracts: many simulated devices, one reading per message, count windows
// of 32 readings (x and y: 64 values, the example vibration model's input).
//
// It measures, in one run:
//   broker ceiling     the same publishers, messages and QoS, read by a plain
//                      subscriber instead of infergate: messages/s from the
//                      first publish until the last message arrived
//   telemetry ingest   messages/s from the first publish until the last
//                      window's result arrived (on: always, so every window
//                      is answered), and windows (inferences) per second
//   memory per device  infergate's RSS (/proc/<pid>/status) after all devices
//                      are tracked minus before the first message, per device;
//                      and the pipeline's own account
//                      (infergate_pipeline_device_memory_bytes, from the
//                      metrics infergate logs at shutdown with --log-level debug)
//
// The default 63 messages per device complete one window each and leave 31
// readings in every window: the most a device holds.
//
// Usage: telemetry_bench [--devices 10000] [--rounds 63] [--connections 4] [--qos 1]
#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "testing/mosquitto_broker.h"
#include "testing/process.h"
#include "testing/serve_command.h"
#include "testing/temp_dir.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct Options {
  int devices = 10000;
  int rounds = 63;  // messages per device; a window completes every 32
  int connections = 4;
  int qos = 1;
};

constexpr int kWindow = 32;
constexpr int kMaxUnacked = 4000;  // QoS 1 publishes not yet acknowledged, per connection

double RssBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) * 1024;
  }
  return 0;
}

// The example vibration model with a contract of 32 readings of (x, y).
void WriteRepository(const fs::path& repo, int devices) {
  fs::create_directories(repo / "bench_vibration" / "1");
  fs::copy_file(fs::path(INFERGATE_EXAMPLE_MODELS_DIR) / "vibration_anomaly" / "1" / "model.onnx",
                repo / "bench_vibration" / "1" / "model.onnx");
  std::ofstream(repo / "bench_vibration" / "config.yaml")
      << "max_batch_size: 64\n"
         "device:\n"
         "  max_devices: "
      << devices
      << "\n"
         "  idle_ttl_secs: 3600\n"
         "  inputs: [{name: accel, fields: [x, y]}]\n"
         "  window: {count: "
      << kWindow
      << "}\n"
         "  result: {output: anomaly_score, kind: score, threshold: 0.0232, on: always}\n";
}

class Counter {
 public:
  explicit Counter(int port, const std::string& id) {
    mosq_ = mosquitto_new(id.c_str(), true, this);
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_bind_v5(mosq_, "127.0.0.1", port, 30, nullptr, nullptr);
    mosquitto_loop_start(mosq_);
  }
  ~Counter() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, true);
    mosquitto_destroy(mosq_);
  }
  mosquitto* mosq() { return mosq_; }

 protected:
  mosquitto* mosq_;
};

// Counts the messages (and errors) on `filter`.
class ResultSink : public Counter {
 public:
  ResultSink(int port, int qos, const std::string& filter) : Counter(port, "bench-sink") {
    mosquitto_message_v5_callback_set(
        mosq_, [](mosquitto*, void* self, const mosquitto_message* m, const mosquitto_property*) {
          auto* s = static_cast<ResultSink*>(self);
          const bool error = m->payloadlen > 9 && std::memcmp(m->payload, "{\"error\":", 9) == 0;
          (error ? s->errors : s->results).fetch_add(1);
        });
    mosquitto_subscribe_v5(mosq_, nullptr, filter.c_str(), qos, 0, nullptr);
  }
  std::atomic<uint64_t> results{0};
  std::atomic<uint64_t> errors{0};
};

// Publishes telemetry for its share of the devices, keeping at most
// kMaxUnacked QoS 1 messages unacknowledged.
class Publisher : public Counter {
 public:
  Publisher(int port, int index) : Counter(port, "bench-devices-" + std::to_string(index)) {
    mosquitto_publish_v5_callback_set(
        mosq_, [](mosquitto*, void* self, int, int, const mosquitto_property*) {
          static_cast<Publisher*>(self)->acked.fetch_add(1);
        });
  }
  void Publish(const std::string& topic, const std::string& body, int qos) {
    while (qos > 0 && sent - acked.load() >= kMaxUnacked) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    mosquitto_publish_v5(mosq_, nullptr, topic.c_str(), static_cast<int>(body.size()), body.data(),
                         qos, false, nullptr);
    ++sent;
  }
  uint64_t sent = 0;
  std::atomic<uint64_t> acked{0};
};

// The value of `series` (a name and its labels) in the Prometheus text `text`, or -1.
double MetricValue(const std::string& text, const std::string& series) {
  const auto at = text.rfind(series + " ");
  if (at == std::string::npos) return -1;
  return std::atof(text.c_str() + at + series.size() + 1);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (k == "--devices")
      o.devices = v;
    else if (k == "--rounds")
      o.rounds = v;
    else if (k == "--connections")
      o.connections = v;
    else if (k == "--qos")
      o.qos = v;
  }
  if (o.devices < 1 || o.rounds < kWindow || o.connections < 1) {
    std::fprintf(stderr, "telemetry_bench: --devices >= 1, --rounds >= %d, --connections >= 1\n",
                 kWindow);
    return 2;
  }
  mosquitto_lib_init();
  // Every message is kept: publishers run ahead of the subscribers, and the
  // default queue bound would drop what infergate has not read yet.
  infergate::testing::MosquittoBroker broker("set_tcp_nodelay true\nmax_queued_messages 0\n");
  if (!broker.Start()) {
    std::fprintf(stderr, "telemetry_bench: mosquitto did not start\n");
    return 1;
  }
  infergate::testing::TempDir dir;
  WriteRepository(dir.path() / "models", o.devices);
  auto config = dir.Write(
      "infergate.yaml",
      "model_repository: models\nmodel_control_mode: none\nmqtt:\n  broker: " + broker.url() +
          "\n  client_id: bench-infergate\n  default_qos: " + std::to_string(o.qos) + "\n");
  infergate::testing::Process server(
      infergate::testing::ServeCommand({"--config", config.string(), "--log-level", "debug"}));
  // The server loads its models before it starts MQTT, so the subscription
  // line (which may come before or after "infergate ready") means ready.
  if (!server.WaitForLine(R"(mqtt: subscribed to infergate/devices/\+/\+)")) {
    std::fprintf(stderr, "telemetry_bench: infergate did not start\n%s", server.Output().c_str());
    return 1;
  }
  std::vector<std::unique_ptr<Publisher>> pubs;
  for (int c = 0; c < o.connections; ++c)
    pubs.push_back(std::make_unique<Publisher>(broker.port(), c));
  const uint64_t messages = static_cast<uint64_t>(o.devices) * o.rounds;
  const uint64_t expected = static_cast<uint64_t>(o.devices) * (o.rounds / kWindow);
  // Publishes every device's telemetry under `prefix`; returns the seconds
  // until `sink` has counted `until` messages (or two minutes passed).
  auto run = [&](const std::string& prefix, ResultSink& sink, uint64_t until) {
    std::this_thread::sleep_for(
        std::chrono::milliseconds(500));  // CONNACKs and SUBACK; nothing measured yet
    std::vector<std::string> topics;
    for (int d = 0; d < o.devices; ++d)
      topics.push_back(prefix + "/dev-" + std::to_string(d) + "/bench_vibration");
    const auto start = Clock::now();
    char body[96];
    for (int r = 0; r < o.rounds; ++r) {
      for (int d = 0; d < o.devices; ++d) {
        std::snprintf(body, sizeof(body), R"({"x":%.4f,"y":%.4f})", std::sin(r * 0.19 + d),
                      std::cos(r * 0.19 + d));
        pubs[d % pubs.size()]->Publish(topics[d], body, o.qos);
      }
      server.Output();  // keep infergate's log pipe drained
    }
    const auto deadline = start + std::chrono::seconds(120);
    while (sink.results + sink.errors < until && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      server.Output();
    }
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  double ceiling_secs;
  uint64_t ceiling_seen;
  {
    ResultSink plain(broker.port(), o.qos, "bench/devices/+/bench_vibration");
    ceiling_secs = run("bench/devices", plain, messages);
    ceiling_seen = plain.results;
  }
  ResultSink sink(broker.port(), o.qos, "infergate/devices/+/bench_vibration/result");
  const double rss_before = RssBytes(server.pid());
  const double elapsed = run("infergate/devices", sink, expected);
  const double rss_after = RssBytes(server.pid());
  pubs.clear();
  server.Stop(SIGTERM);
  const std::string log = server.Output();
  const double pipeline_bytes =
      MetricValue(log, R"(infergate_pipeline_device_memory_bytes{model="bench_vibration"})");
  const double devices = MetricValue(log, R"(infergate_pipeline_devices{model="bench_vibration"})");

  std::printf(
      "telemetry_bench: %d devices x %d messages (count windows of %d), %d connections, QoS %d\n",
      o.devices, o.rounds, kWindow, o.connections, o.qos);
  std::printf("  %llu messages, %llu/%llu results, %llu errors in %.2f s\n",
              static_cast<unsigned long long>(messages),
              static_cast<unsigned long long>(sink.results.load()),
              static_cast<unsigned long long>(expected),
              static_cast<unsigned long long>(sink.errors.load()), elapsed);
  std::printf("  broker ceiling        %10.0f messages/s (%llu/%llu delivered in %.2f s)\n",
              messages / ceiling_secs, static_cast<unsigned long long>(ceiling_seen),
              static_cast<unsigned long long>(messages), ceiling_secs);
  std::printf("  telemetry ingest      %10.0f messages/s, %.2f x the broker ceiling\n",
              messages / elapsed, ceiling_secs / elapsed);
  std::printf("  windows (inferences)  %10.0f /s\n", sink.results.load() / elapsed);
  std::printf("  RSS before %.1f MB, after %.1f MB: %.0f bytes per device\n", rss_before / 1e6,
              rss_after / 1e6, (rss_after - rss_before) / o.devices);
  std::printf("  pipeline gauge: %.0f devices, %.0f bytes: %.0f bytes per device\n", devices,
              pipeline_bytes, devices > 0 ? pipeline_bytes / devices : 0);
  return sink.results.load() == expected && sink.errors.load() == 0 ? 0 : 1;
}
