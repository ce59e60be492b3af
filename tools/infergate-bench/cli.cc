#include "cli.h"

#include <signal.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "driver.h"
#include "grpc_target.h"
#include "http_target.h"
#include "mqtt_echo.h"
#include "mqtt_target.h"
#include "payload.h"
#include "report.h"
#include "shared_memory.h"

namespace infergate::bench {
namespace {

struct Flags {
  std::string target;
  std::string url = "http://127.0.0.1:8000";
  std::string grpc_address = "127.0.0.1:8001";
  std::string broker = "127.0.0.1:1883";
  std::string model = "mlp16";
  std::string model_version;
  std::vector<std::string> inputs;
  std::string input_file;
  int variants = 16;
  bool binary = false;
  std::string shared_memory = "none";
  std::vector<int> concurrency;
  std::vector<double> rates;
  int connections = 0;  // http/grpc; 0: concurrency (closed) or 8 (open)
  int devices = 0;      // mqtt; 0: concurrency (closed) or 16 (open)
  int mqtt_clients = 0;  // 0: one per device
  int qos = 0;
  std::string request_topic;
  double warmup_s = 1;
  double duration_s = 10;
  double timeout_s = 10;
  std::string label;
  std::string format = "table";
  std::string output;
  std::string progress = "auto";
  bool strict = false;
  ClientSecurity security;  // http, grpc
};

struct EchoFlags {
  std::string broker = "127.0.0.1:1883";
  std::string filter = "infergate/models/+/infer";
  int clients = 1;
  int qos = 0;
  double duration_s = 0;  // 0: until SIGINT/SIGTERM
};

Nanos ToNanos(double seconds) { return Nanos(static_cast<int64_t>(seconds * 1e9)); }

int Fail(const core::Status& status) {
  std::fprintf(stderr, "infergate-bench: %s\n", status.ToString().c_str());
  return 2;
}

core::StatusOr<PayloadSet> MakePayloads(const Flags& f) {
  if (!f.input_file.empty()) return PayloadsFromFile(f.input_file, f.binary);
  if (f.inputs.empty()) return core::InvalidArgument("give --input NAME:DATATYPE:DIMS or --input-file FILE");
  std::vector<InputSpec> specs;
  for (const auto& text : f.inputs) {
    ASSIGN_OR_RETURN(InputSpec spec, ParseInputSpec(text));
    specs.push_back(std::move(spec));
  }
  return RandomPayloads(specs, f.variants, f.binary, 42);
}

core::StatusOr<TargetFactory> MakeFactory(const Flags& f, const PayloadSet* payloads) {
  const Nanos timeout = ToNanos(f.timeout_s);
  RETURN_IF_ERROR(CheckClientSecurity(f.security));
  if (f.target == "http") {
    HttpOptions o;
    RETURN_IF_ERROR(ParseHttpUrl(f.url, &o.host, &o.port));
    o.path = "/v2/models/" + f.model + (f.model_version.empty() ? "" : "/versions/" + f.model_version) + "/infer";
    o.timeout = timeout;
    o.security = f.security;
    if (f.url.rfind("https://", 0) == 0 && !o.security.tls()) {
      return core::InvalidArgument("--url https://... needs --tls-ca (the CA to verify the server against)");
    }
    const int connections = f.connections;
    return TargetFactory([o, connections, payloads](const LoadSpec& spec) -> core::StatusOr<std::unique_ptr<Target>> {
      HttpOptions run = o;
      run.connections = connections > 0 ? connections : spec.open_loop ? 8 : spec.concurrency;
      return MakeHttpTarget(run, payloads);
    });
  }
  if (f.target == "grpc") {
    GrpcOptions o;
    o.address = f.grpc_address;
    o.model = f.model;
    o.model_version = f.model_version;
    o.timeout = timeout;
    o.channels = std::max(f.connections, 1);
    o.security = f.security;
    return TargetFactory([o, payloads](const LoadSpec&) { return MakeGrpcTarget(o, *payloads); });
  }
  if (f.target == "mqtt") {
    MqttTargetOptions o;
    RETURN_IF_ERROR(ParseBroker(f.broker, &o.connection.host, &o.connection.port));
    o.connection.clients = f.mqtt_clients;
    o.connection.timeout = timeout;
    o.qos = f.qos;
    o.request_topic = f.request_topic.empty() ? DefaultRequestTopic(f.model) : f.request_topic;
    o.reply_prefix = "infergate-bench/" + std::to_string(getpid()) + "/replies";
    o.timeout = timeout;
    const int devices = f.devices;
    return TargetFactory([o, devices, payloads](const LoadSpec& spec) {
      MqttTargetOptions run = o;
      run.devices = devices > 0 ? devices : spec.open_loop ? 16 : spec.concurrency;
      return MakeMqttTarget(run, payloads);
    });
  }
  return core::InvalidArgument("--target must be http, grpc or mqtt");
}

std::vector<LoadSpec> Levels(const Flags& f) {
  LoadSpec base;
  base.label = f.label.empty() ? f.target : f.label;
  base.target = f.target;
  base.warmup = ToNanos(f.warmup_s);
  base.duration = ToNanos(f.duration_s);
  base.drain_timeout = ToNanos(f.timeout_s);
  std::vector<LoadSpec> levels;
  for (double rate : f.rates) {
    LoadSpec s = base;
    s.open_loop = true;
    s.rate = rate;
    levels.push_back(s);
  }
  for (int c : f.concurrency) {
    LoadSpec s = base;
    s.concurrency = c;
    levels.push_back(s);
  }
  if (levels.empty()) levels.push_back(base);  // concurrency 1
  return levels;
}

bool WantProgress(const Flags& f, size_t levels) {
  if (f.progress == "on") return true;
  if (f.progress == "off") return false;
  return (f.warmup_s + f.duration_s) * static_cast<double>(levels) >= 5.0;
}

int RunLevels(const Flags& f, const PayloadSet* payloads);

int WriteReport(const Flags& f, const std::vector<RunResult>& rows) {
  const ReportFormat format = f.format == "csv" ? ReportFormat::kCsv
                              : f.format == "json" ? ReportFormat::kJson
                                                   : ReportFormat::kTable;
  const std::string text = FormatReport(rows, format);
  if (f.output.empty() || f.output == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  std::ofstream out(f.output, std::ios::trunc);
  out << text;
  if (!out) return Fail(core::Internal("cannot write " + f.output));
  return 0;
}

int RunLoadCommand(Flags f) {
  std::unique_ptr<SharedMemoryInputs> shm;
  std::string host, port;
  if (f.shared_memory == "system") {
    if (f.target == "mqtt") return Fail(core::InvalidArgument("--shared-memory system works with http and grpc"));
    if (f.target == "http") {
      if (auto s = ParseHttpUrl(f.url, &host, &port); !s.ok()) return Fail(s);
    }
    f.binary = true;  // the tensors' bytes, then moved into the region
  }
  auto payloads = MakePayloads(f);
  if (!payloads.ok()) return Fail(payloads.status());
  // Registers the region, or unregisters it, with the server.
  auto control = [&](bool register_region) {
    if (f.target == "grpc") {
      return GrpcSharedMemory(f.grpc_address, register_region, shm->region(), shm->key(), shm->size());
    }
    return register_region ? shm->Register(host, port) : shm->Unregister(host, port);
  };
  if (f.shared_memory == "system") {
    auto made = SharedMemoryInputs::Create(&*payloads, "infergate-bench-" + std::to_string(getpid()));
    if (!made.ok()) return Fail(made.status());
    shm = std::move(made).value();
    if (auto s = control(true); !s.ok()) return Fail(s);
  }
  int rc = RunLevels(f, &*payloads);
  if (shm) {
    if (auto s = control(false); !s.ok()) {
      std::fprintf(stderr, "infergate-bench: %s\n", s.ToString().c_str());
      rc = rc ? rc : 1;
    }
  }
  return rc;
}

int RunLevels(const Flags& f, const PayloadSet* payloads) {
  auto factory = MakeFactory(f, payloads);
  if (!factory.ok()) return Fail(factory.status());
  const std::vector<LoadSpec> levels = Levels(f);
  ProgressLine progress(stderr, WantProgress(f, levels.size()));
  std::vector<RunResult> rows;
  for (const LoadSpec& spec : levels) {
    auto result = RunLoad(*factory, spec, &progress);
    if (!result.ok()) return Fail(result.status().WithPrefix(spec.label));
    rows.push_back(std::move(result).value());
  }
  if (int rc = WriteReport(f, rows); rc != 0) return rc;
  if (f.strict) {
    for (const auto& r : rows) {
      if (r.errors > 0 || r.ok == 0) {
        std::fprintf(stderr, "infergate-bench: %s: %llu ok, %llu errors (%s)\n", r.label.c_str(),
                     static_cast<unsigned long long>(r.ok), static_cast<unsigned long long>(r.errors),
                     ErrorsByKind(r).c_str());
        return 1;
      }
    }
  }
  return 0;
}

int RunEchoCommand(const EchoFlags& f) {
  // Signals are taken by sigtimedwait below, in every thread started after this.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  MqttEchoOptions o;
  if (auto s = ParseBroker(f.broker, &o.connection.host, &o.connection.port); !s.ok()) return Fail(s);
  o.connection.clients = f.clients;
  o.filter = f.filter;
  o.qos = f.qos;
  auto echo = MqttEcho::Create(o);
  if (!echo.ok()) return Fail(echo.status());
  if (auto s = (*echo)->Start(); !s.ok()) return Fail(s);
  std::fprintf(stderr, "mqtt-echo: subscribed to %s on %s\n", (*echo)->subscription().c_str(), f.broker.c_str());

  const auto end = Clock::now() + ToNanos(f.duration_s > 0 ? f.duration_s : 1e9);
  while (Clock::now() < end) {
    const auto left = std::min<Nanos>(end - Clock::now(), std::chrono::seconds(1));
    timespec ts{static_cast<time_t>(left.count() / 1000000000), static_cast<long>(left.count() % 1000000000)};
    if (sigtimedwait(&signals, nullptr, &ts) > 0) break;
  }
  (*echo)->Stop();
  std::fprintf(stderr, "mqtt-echo: answered %llu requests (%llu without a response topic ignored)\n",
               static_cast<unsigned long long>((*echo)->answered()),
               static_cast<unsigned long long>((*echo)->ignored()));
  return 0;
}

void AddLoadFlags(CLI::App& app, Flags& f) {
  app.add_option("--target", f.target, "http | grpc | mqtt")->check(CLI::IsMember({"http", "grpc", "mqtt"}));
  app.add_option("--url", f.url, "http: the server's base URL")->capture_default_str();
  app.add_option("--grpc-address", f.grpc_address, "grpc: HOST:PORT")->capture_default_str();
  app.add_option("--broker", f.broker, "mqtt: broker HOST:PORT")->capture_default_str();
  app.add_option("--model", f.model, "Model name")->capture_default_str();
  app.add_option("--model-version", f.model_version, "Model version (default: the server's choice)");
  app.add_option("--input", f.inputs, "Random input NAME:DATATYPE:D0,D1,... (repeat for several)");
  app.add_option("--input-file", f.input_file, "JSON file: one v2 request or an array of them");
  app.add_option("--variants", f.variants, "Random request bodies to cycle through")->capture_default_str();
  app.add_option("--tls-ca", f.security.tls_ca,
                 "http, grpc: use TLS (https / gRPC SslCredentials), verifying the server against this CA (PEM)");
  app.add_option("--tls-cert", f.security.tls_cert, "http, grpc: client certificate (PEM) for mutual TLS; with --tls-key");
  app.add_option("--tls-key", f.security.tls_key, "http, grpc: the private key (PEM) of --tls-cert");
  app.add_option("--token", f.security.token, "http, grpc: send 'Authorization: Bearer TOKEN' with every request");
  app.add_flag("--binary", f.binary, "http: send the binary tensor extension instead of JSON");
  app.add_option("--shared-memory", f.shared_memory,
                 "http, grpc: 'system' puts the inputs in a POSIX shared memory region registered with "
                 "the server (Triton's extension; outputs come back in the reply)")
      ->check(CLI::IsMember({"none", "system"}))
      ->capture_default_str();
  app.add_option("--concurrency", f.concurrency, "Closed loop: requests in flight; a list sweeps (1,2,4)")
      ->delimiter(',');
  app.add_option("--rate", f.rates, "Open loop: requests per second on a fixed timetable; a list sweeps")
      ->delimiter(',');
  app.add_option("--connections", f.connections,
                 "http: connections (default: concurrency; 8 with --rate); grpc: channels (default 1)");
  app.add_option("--devices", f.devices, "mqtt: simulated devices (default: concurrency; 16 with --rate)");
  app.add_option("--mqtt-clients", f.mqtt_clients, "mqtt: client connections the devices share (0: one each)")
      ->capture_default_str();
  app.add_option("--qos", f.qos, "mqtt: QoS of requests and replies")->check(CLI::Range(0, 2))->capture_default_str();
  app.add_option("--request-topic", f.request_topic, "mqtt: default infergate/models/<model>/infer");
  app.add_option("--warmup", f.warmup_s, "Seconds of load before measuring")->capture_default_str();
  app.add_option("--duration", f.duration_s, "Seconds measured per level")->capture_default_str();
  app.add_option("--timeout", f.timeout_s, "Seconds: connecting, each request, and the final drain")
      ->capture_default_str();
  app.add_option("--label", f.label, "Name of the rows in the report (default: the target)");
  app.add_option("--format", f.format, "table | csv | json")
      ->check(CLI::IsMember({"table", "csv", "json"}))
      ->capture_default_str();
  app.add_option("--output", f.output, "Write the report to FILE instead of stdout");
  app.add_option("--progress", f.progress, "auto (runs of 5 s and longer) | on | off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  app.add_flag("--strict", f.strict, "Exit 1 if any request failed or none succeeded");
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"infergate-bench: load generator for KServe v2 over HTTP and gRPC, and MQTT request/reply"};
  Flags flags;
  AddLoadFlags(app, flags);
  EchoFlags echo;
  CLI::App* echo_cmd = app.add_subcommand("mqtt-echo", "Answer MQTT requests without inference (broker ceiling)");
  echo_cmd->add_option("--broker", echo.broker, "Broker HOST:PORT")->capture_default_str();
  echo_cmd->add_option("--filter", echo.filter, "Request topic filter")->capture_default_str();
  echo_cmd->add_option("--clients", echo.clients, "Connections sharing the subscription")->capture_default_str();
  echo_cmd->add_option("--qos", echo.qos, "Subscription QoS")->check(CLI::Range(0, 2))->capture_default_str();
  echo_cmd->add_option("--duration", echo.duration_s, "Seconds to run (0: until SIGINT/SIGTERM)")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (echo_cmd->parsed()) return RunEchoCommand(echo);
  if (flags.target.empty()) return Fail(core::InvalidArgument("give --target http|grpc|mqtt, or mqtt-echo"));
  return RunLoadCommand(flags);
}

}  // namespace infergate::bench
