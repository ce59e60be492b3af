// Request/reply through a real mosquitto broker: simulated devices publish
// v2 JSON requests with a Response Topic and wait for the reply.
//
// One run measures, side by side on one broker:
//   echo      the broker's ceiling: an in-process client that answers each
//             request at once without inference (same topics, QoS and sizes)
//   infergate the real binary serving examples/models/vibration_anomaly
// each closed-loop (every device keeps one request outstanding) for the
// maximum throughput, then infergate open-loop at half its maximum for the
// latency at half load.
//
// Usage: mqtt_bench [--devices 64] [--connections 4] [--seconds 5] [--qos 1]
#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "testing/mosquitto_broker.h"
#include "testing/process.h"
#include "testing/serve_command.h"
#include "testing/temp_dir.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int devices = 64;
  int connections = 4;
  double seconds = 5;
  int qos = 1;
};

std::string RequestBody() {
  std::string data;
  for (int i = 0; i < 64; ++i) data += (i ? "," : "") + std::to_string(std::sin(i * 0.19));
  return R"({"inputs":[{"name":"accel","shape":[1,64],"datatype":"FP32","data":[)" + data + "]}]}";
}

// Answers every request on `filter` by publishing `reply` to its Response
// Topic with its Correlation Data: the broker round trip without inference.
class EchoResponder {
 public:
  EchoResponder(int port, const std::string& filter, std::string reply, int qos) : reply_(std::move(reply)), qos_(qos) {
    mosq_ = mosquitto_new("bench-echo", true, this);
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_message_v5_callback_set(mosq_, &EchoResponder::OnMessage);
    mosquitto_connect_bind_v5(mosq_, "127.0.0.1", port, 30, nullptr, nullptr);
    mosquitto_subscribe_v5(mosq_, nullptr, filter.c_str(), qos, 0, nullptr);
    mosquitto_loop_start(mosq_);
  }
  ~EchoResponder() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, true);
    mosquitto_destroy(mosq_);
  }

 private:
  static void OnMessage(mosquitto* mosq, void* self, const mosquitto_message*, const mosquitto_property* props) {
    auto* e = static_cast<EchoResponder*>(self);
    char* topic = nullptr;
    if (!mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &topic, false)) return;
    void* corr = nullptr;
    uint16_t len = 0;
    mosquitto_property* out = nullptr;
    if (mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &len, false)) {
      mosquitto_property_add_binary(&out, MQTT_PROP_CORRELATION_DATA, corr, len);
      free(corr);
    }
    mosquitto_publish_v5(mosq, nullptr, topic, static_cast<int>(e->reply_.size()), e->reply_.data(), e->qos_, false, out);
    mosquitto_property_free_all(&out);
    free(topic);
  }
  std::string reply_;
  int qos_;
  mosquitto* mosq_;
};

// Devices spread over a few connections. Each request carries its sequence
// number as Correlation Data; the reply's arrival gives its latency.
class Load {
 public:
  Load(int port, const Options& o, std::string topic)
      : o_(o), topic_(std::move(topic)), body_(RequestBody()), sent_at_(kSlots) {
    for (int c = 0; c < o.connections; ++c) {
      auto conn = std::make_unique<Conn>();
      conn->load = this;
      conn->reply_topic = "bench/reply/" + std::to_string(c);
      conn->mosq = mosquitto_new(("bench-load-" + std::to_string(c)).c_str(), true, conn.get());
      mosquitto_int_option(conn->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
      mosquitto_int_option(conn->mosq, MOSQ_OPT_TCP_NODELAY, 1);
      mosquitto_message_v5_callback_set(conn->mosq, &Load::OnReply);
      mosquitto_connect_bind_v5(conn->mosq, "127.0.0.1", port, 30, nullptr, nullptr);
      mosquitto_subscribe_v5(conn->mosq, nullptr, conn->reply_topic.c_str(), o.qos, 0, nullptr);
      mosquitto_loop_start(conn->mosq);
      conns_.push_back(std::move(conn));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // SUBACKs; no measurement runs yet
  }
  ~Load() {
    for (auto& c : conns_) {
      mosquitto_disconnect(c->mosq);
      mosquitto_loop_stop(c->mosq, true);
      mosquitto_destroy(c->mosq);
    }
  }

  struct Result {
    double throughput = 0;
    double p50_ms = 0;
    double p99_ms = 0;
    uint64_t errors = 0;
    uint64_t lost = 0;
  };

  // Every device keeps one request outstanding for `seconds`.
  Result ClosedLoop(double seconds) {
    Begin(true);
    for (int d = 0; d < o_.devices; ++d) Send(*conns_[d % conns_.size()]);
    return Measure(seconds);
  }
  // Requests at `rate` per second regardless of replies.
  Result OpenLoop(double rate, double seconds) {
    Begin(false);
    auto start = Clock::now();
    auto end = start + std::chrono::duration<double>(seconds);
    uint64_t n = 0;
    while (Clock::now() < end) {
      auto due = start + std::chrono::duration<double>(n / rate);
      if (due > Clock::now()) std::this_thread::sleep_until(due);
      Send(*conns_[n % conns_.size()]);
      ++n;
    }
    return Measure(0, std::chrono::duration<double>(Clock::now() - start).count());
  }

 private:
  static constexpr size_t kSlots = 1 << 21;
  struct Conn {
    Load* load;
    std::string reply_topic;
    mosquitto* mosq;
  };

  void Begin(bool closed) {
    std::lock_guard lock(mu_);
    closed_ = closed;
    running_ = true;
    latencies_.clear();
    errors_ = 0;
    sent_ = 0;
    answered_ = 0;
  }
  // Runs for `seconds` (0: the caller already ran for `elapsed` seconds), then
  // waits for late replies and summarises.
  Result Measure(double seconds, double elapsed = 0) {
    auto start = Clock::now();
    if (seconds > 0) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    {
      std::lock_guard lock(mu_);
      running_ = false;
    }
    if (seconds > 0) elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // replies still on the way
    std::lock_guard lock(mu_);
    Result r;
    auto l = latencies_;
    std::sort(l.begin(), l.end());
    if (!l.empty()) {
      r.p50_ms = l[l.size() / 2] * 1e3;
      r.p99_ms = l[std::min(l.size() - 1, l.size() * 99 / 100)] * 1e3;
    }
    r.throughput = elapsed > 0 ? static_cast<double>(l.size()) / elapsed : 0;
    r.errors = errors_;
    r.lost = sent_ > answered_ + errors_ ? sent_ - answered_ - errors_ : 0;
    return r;
  }
  void Send(Conn& c) {
    uint64_t seq = next_seq_++;
    sent_at_[seq % kSlots] = Clock::now();
    {
      std::lock_guard lock(mu_);
      ++sent_;
    }
    mosquitto_property* props = nullptr;
    mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, c.reply_topic.c_str());
    mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, &seq, sizeof(seq));
    mosquitto_publish_v5(c.mosq, nullptr, topic_.c_str(), static_cast<int>(body_.size()), body_.data(), o_.qos, false,
                         props);
    mosquitto_property_free_all(&props);
  }
  static void OnReply(mosquitto*, void* self, const mosquitto_message* msg, const mosquitto_property* props) {
    auto* c = static_cast<Conn*>(self);
    Load* l = c->load;
    void* corr = nullptr;
    uint16_t len = 0;
    if (!mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &len, false)) return;
    uint64_t seq = 0;
    if (len == sizeof(seq)) std::memcpy(&seq, corr, sizeof(seq));
    free(corr);
    double latency = std::chrono::duration<double>(Clock::now() - l->sent_at_[seq % kSlots]).count();
    bool error = msg->payloadlen > 9 && std::memcmp(msg->payload, "{\"error\":", 9) == 0;
    bool again;
    {
      std::lock_guard lock(l->mu_);
      if (error) {
        ++l->errors_;
      } else {
        ++l->answered_;
        if (l->running_) l->latencies_.push_back(latency);
      }
      again = l->running_ && l->closed_;
    }
    if (again) l->Send(*c);
  }

  Options o_;
  std::string topic_;
  std::string body_;
  std::vector<Clock::time_point> sent_at_;
  std::atomic<uint64_t> next_seq_{0};
  std::vector<std::unique_ptr<Conn>> conns_;
  std::mutex mu_;
  bool running_ = false;
  bool closed_ = true;
  std::vector<double> latencies_;
  uint64_t errors_ = 0;
  uint64_t sent_ = 0;
  uint64_t answered_ = 0;
};

void Print(const char* name, const Load::Result& r) {
  std::printf("%-28s %10.0f req/s   p50 %7.3f ms   p99 %7.3f ms   errors %llu   unanswered %llu\n", name,
              r.throughput, r.p50_ms, r.p99_ms, static_cast<unsigned long long>(r.errors),
              static_cast<unsigned long long>(r.lost));
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    double v = std::atof(argv[i + 1]);
    if (k == "--devices") o.devices = static_cast<int>(v);
    else if (k == "--connections") o.connections = static_cast<int>(v);
    else if (k == "--seconds") o.seconds = v;
    else if (k == "--qos") o.qos = static_cast<int>(v);
  }
  mosquitto_lib_init();
  infergate::testing::MosquittoBroker broker("set_tcp_nodelay true\n");
  if (!broker.Start()) {
    std::fprintf(stderr, "mqtt_bench: mosquitto did not start\n");
    return 1;
  }
  infergate::testing::TempDir dir;
  auto config = dir.Write("infergate.yaml", std::string("model_repository: ") + INFERGATE_EXAMPLE_MODELS_DIR +
                                                "\nmodel_control_mode: none\nlog_level: warn\nmqtt:\n  broker: " +
                                                broker.url() + "\n  client_id: bench-infergate\n  default_qos: " +
                                                std::to_string(o.qos) + "\n");
  infergate::testing::Process server(
      infergate::testing::ServeCommand({"--config", config.string(), "--log-level", "info"}));
  if (!server.WaitForLine("mqtt: subscribed to")) {
    std::fprintf(stderr, "mqtt_bench: infergate did not subscribe\n%s", server.Output().c_str());
    return 1;
  }
  std::printf("mqtt_bench: %d devices over %d connections, QoS %d, %.1f s per phase, mosquitto %s\n", o.devices,
              o.connections, o.qos, o.seconds, broker.url().c_str());

  Load::Result echo, ig, half;
  {
    // A reply the size of infergate's for this model.
    EchoResponder responder(broker.port(), "echo/models/+/infer", RequestBody(), o.qos);
    Load load(broker.port(), o, "echo/models/vibration_anomaly/infer");
    echo = load.ClosedLoop(o.seconds);
  }
  {
    Load load(broker.port(), o, "infergate/models/vibration_anomaly/infer");
    ig = load.ClosedLoop(o.seconds);
    half = load.OpenLoop(std::max(1.0, ig.throughput / 2), o.seconds);
  }
  Print("echo ceiling (closed loop)", echo);
  Print("infergate (closed loop)", ig);
  Print("infergate at 50% of max", half);
  std::printf("ratio infergate / echo: %.2f\n", echo.throughput > 0 ? ig.throughput / echo.throughput : 0);
  server.Stop(SIGTERM);
  bool ok = ig.errors == 0 && half.errors == 0 && ig.throughput > 0;
  return ok ? 0 : 1;
}
