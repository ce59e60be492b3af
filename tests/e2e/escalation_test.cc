// Escalation end to end: two real infergate processes on loopback. The
// "cloud" serves identity_fp32 as `ident`; the "edge" serves identity_fp32 as
// `small` (its score is its input) escalating to `big`, a remote model
// pointing to the cloud. Escalation fires exactly below the threshold, the
// answer says which tier gave it, a frozen or dead cloud costs at most
// timeout_ms and, once the breaker is open, nothing; a cloud that comes back
// gets escalations again after the half-open probe.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "grpc_service.grpc.pb.h"
#include "testing/http_client.h"
#include "testing/model_repo.h"
#include "testing/serve_instance.h"
#include "testing/temp_dir.h"
#include "testing/time_scale.h"

namespace infergate {
namespace {

using std::chrono::milliseconds;
using testing::TempDir;
using Instance = testing::ServeInstance;
using Clock = std::chrono::steady_clock;

constexpr int kTimeoutMs = 300;
constexpr double kOpenSecs = 1.5;

struct Answer {
  grpc::Status status;
  std::string tier;
  std::string escalation;
  Clock::duration took{};
};

Answer Ask(inference::GRPCInferenceService::Stub& stub, float score) {
  inference::ModelInferRequest request;
  request.set_model_name("small");
  auto* in = request.add_inputs();
  in->set_name("INPUT0");
  in->set_datatype("FP32");
  in->add_shape(1);
  in->add_shape(1);
  request.add_raw_input_contents(std::string(reinterpret_cast<const char*>(&score), sizeof score));
  inference::ModelInferResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  Answer a;
  const auto start = Clock::now();
  a.status = stub.ModelInfer(&context, request, &response);
  a.took = Clock::now() - start;
  auto tier = response.parameters().find("tier");
  if (tier != response.parameters().end()) a.tier = tier->second.string_param();
  auto esc = response.parameters().find("escalation");
  if (esc != response.parameters().end()) a.escalation = esc->second.string_param();
  return a;
}

Clock::duration Median(std::vector<Clock::duration> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

class EscalationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::CopyModel(cloud_repo_, "identity_fp32.onnx", "ident");
    cloud_ = Instance::Start(cloud_repo_.path());
    ASSERT_TRUE(cloud_.stub) << cloud_.process->Output();
    testing::CopyModel(edge_repo_, "identity_fp32.onnx", "small");
    edge_repo_.Write("small/config.yaml", "escalate:\n  to: big\n  when: {score_below: 0.8}\n  timeout_ms: " +
                                              std::to_string(kTimeoutMs) + "\n  breaker: {failures: 3, open_secs: " +
                                              std::to_string(kOpenSecs) + "}\n");
    edge_repo_.Write("big/config.yaml", "backend: remote\nremote:\n  url: grpc://127.0.0.1:" +
                                            std::to_string(cloud_.grpc_port) + "\n  model: ident\n  timeout_ms: 2000\n");
    edge_ = Instance::Start(edge_repo_.path());
    ASSERT_TRUE(edge_.stub) << edge_.process->Output();
  }

  // Escalations go through again (after the breaker's half-open probe).
  bool EscalatesWithin(std::chrono::seconds limit) {
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      if (Ask(*edge_.stub, 0.5f).tier == "cloud") return true;
      std::this_thread::sleep_for(milliseconds(100));  // waiting out the breaker's cool-down
    }
    return false;
  }

  TempDir cloud_repo_, edge_repo_;
  Instance cloud_, edge_;
};

TEST_F(EscalationTest, FiresExactlyBelowTheThreshold) {
  for (float score : {0.0f, 0.5f, 0.79f, 0.7999f}) {
    Answer a = Ask(*edge_.stub, score);
    ASSERT_TRUE(a.status.ok()) << a.status.error_message() << edge_.process->Output();
    EXPECT_EQ(a.tier, "cloud") << score;
    EXPECT_EQ(a.escalation, "") << score;
  }
  for (float score : {0.8f, 0.81f, 1.0f}) {
    Answer a = Ask(*edge_.stub, score);
    ASSERT_TRUE(a.status.ok()) << a.status.error_message();
    EXPECT_EQ(a.tier, "edge") << score;
    EXPECT_EQ(a.escalation, "") << score;
  }
  // Over HTTP: the same rule, the tier in the v2 JSON reply's parameters.
  testing::CurlClient http(edge_.http());
  for (auto [score, tier] : {std::pair{0.5, "cloud"}, std::pair{0.9, "edge"}}) {
    nlohmann::json body = {{"inputs", {{{"name", "INPUT0"}, {"datatype", "FP32"}, {"shape", {1, 1}}, {"data", {score}}}}}};
    auto reply = http.Post("/v2/models/small/infer", body.dump());
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto json = nlohmann::json::parse(reply.body);
    EXPECT_EQ(json["parameters"]["tier"], tier) << reply.body;
    EXPECT_EQ(json["model_name"], "small");
  }
  auto metrics = http.Get("/metrics").body;
  EXPECT_NE(metrics.find("infergate_escalations_total{model=\"small\",to=\"big\"} 5"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("infergate_escalation_duration_seconds_count{model=\"small\"} 5"), std::string::npos);
  EXPECT_NE(metrics.find("infergate_escalation_breaker_state{to=\"big\"} 0"), std::string::npos);
}

TEST_F(EscalationTest, AGoneCloudCostsTimeoutThenNothingAndComesBack) {
  ASSERT_EQ(Ask(*edge_.stub, 0.5f).tier, "cloud");
  std::vector<Clock::duration> local;
  for (int i = 0; i < 20; ++i) local.push_back(Ask(*edge_.stub, 0.9f).took);
  const Clock::duration local_median = Median(local);
  const Clock::duration local_max = *std::max_element(local.begin(), local.end());

  // Frozen cloud: the first three escalations wait timeout_ms, then the edge answers.
  kill(cloud_.process->pid(), SIGSTOP);
  Clock::duration slowest{};
  for (int i = 0; i < 3; ++i) {
    Answer a = Ask(*edge_.stub, 0.5f);
    ASSERT_TRUE(a.status.ok()) << a.status.error_message();
    EXPECT_EQ(a.tier, "edge");
    EXPECT_EQ(a.escalation, "timeout");
    EXPECT_GE(a.took, milliseconds(kTimeoutMs));
    EXPECT_LT(a.took, milliseconds(kTimeoutMs) + testing::Scaled(milliseconds(20))) << i;
    slowest = std::max(slowest, a.took);
  }
  // The breaker is open: at once, as fast as a local answer.
  std::vector<Clock::duration> open;
  for (int i = 0; i < 20; ++i) {
    Answer a = Ask(*edge_.stub, 0.5f);
    ASSERT_TRUE(a.status.ok());
    EXPECT_EQ(a.tier, "edge");
    EXPECT_EQ(a.escalation, "unavailable");
    EXPECT_LT(a.took, local_max + testing::Scaled(milliseconds(1))) << i;
    open.push_back(a.took);
  }
  EXPECT_LT(Median(open), local_median + testing::Scaled(milliseconds(1)));
  std::printf("frozen cloud: slowest answer %.3f ms; local answer median %.3f ms (max %.3f ms); "
              "breaker open: median %.3f ms\n",
              std::chrono::duration<double, std::milli>(slowest).count(),
              std::chrono::duration<double, std::milli>(local_median).count(),
              std::chrono::duration<double, std::milli>(local_max).count(),
              std::chrono::duration<double, std::milli>(Median(open)).count());
  auto metrics = testing::CurlClient(edge_.http()).Get("/metrics").body;
  EXPECT_NE(metrics.find("infergate_escalation_fallbacks_total{model=\"small\",reason=\"timeout\"} 3"),
            std::string::npos) << metrics;
  EXPECT_NE(metrics.find("infergate_escalation_breaker_state{to=\"big\"} 1"), std::string::npos);

  // Killed: refused connections fail at once; every answer still within timeout_ms + 20 ms.
  kill(cloud_.process->pid(), SIGCONT);
  ASSERT_EQ(cloud_.process->Stop(SIGKILL), 128 + SIGKILL);
  const auto dead_until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(kOpenSecs * 2.5));
  while (Clock::now() < dead_until) {
    Answer a = Ask(*edge_.stub, 0.5f);
    ASSERT_TRUE(a.status.ok());
    EXPECT_EQ(a.tier, "edge");
    EXPECT_NE(a.escalation, "");
    EXPECT_LT(a.took, milliseconds(kTimeoutMs) + testing::Scaled(milliseconds(20)));
    std::this_thread::sleep_for(milliseconds(20));
  }

  // Back: escalations resume after the half-open probe.
  cloud_ = Instance::Start(cloud_repo_.path(), cloud_.http_port, cloud_.grpc_port);
  ASSERT_TRUE(cloud_.stub) << cloud_.process->Output();
  EXPECT_TRUE(EscalatesWithin(std::chrono::seconds(10)));
  EXPECT_EQ(Ask(*edge_.stub, 0.5f).tier, "cloud");
  EXPECT_EQ(Ask(*edge_.stub, 0.95f).tier, "edge");
}

}  // namespace
}  // namespace infergate
