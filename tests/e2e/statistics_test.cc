// The statistics extension end to end: one server, N requests of batch 1 and
// M of batch 4 over gRPC, then HTTP /v2/models/{m}/stats and gRPC
// ModelStatistics must report the same figures (they render one snapshot).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>

#include "testing/grpc_server.h"
#include "testing/http_client.h"
#include "testing/mlp_request.h"
#include "testing/model_repo.h"
#include "testing/temp_dir.h"

namespace infergate {
namespace {

using nlohmann::json;

void ExpectSame(const json& http, const inference::StatisticDuration& grpc, const std::string& what) {
  EXPECT_EQ(http["count"].get<uint64_t>(), grpc.count()) << what;
  EXPECT_EQ(http["ns"].get<uint64_t>(), grpc.ns()) << what;
}

TEST(StatisticsE2ETest, HttpAndGrpcReportTheSameFigures) {
  testing::TempDir repo;
  testing::CopyModel(repo, "mlp16.onnx", "mlp");
  repo.Write("mlp/config.yaml", "max_batch_size: 8\n");  // no dynamic batching: one run per request
  testing::GrpcServer server({"--model-repository", repo.path().string()});
  ASSERT_TRUE(server.ok()) << server.process().Output();
  std::smatch m;
  const std::string log = server.process().Output();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(http: listening on ([0-9.]+):([0-9]+))"))) << log;
  testing::CurlClient http("http://" + m[1].str() + ":" + m[2].str());

  constexpr int kN = 3, kM = 2;
  for (int i = 0; i < kN + kM; ++i) {
    auto req = testing::MlpRequest("mlp", "r" + std::to_string(i), true, i < kN ? 1 : 4);
    inference::ModelInferResponse resp;
    ::grpc::ClientContext ctx;
    auto st = server.stub().ModelInfer(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  inference::ModelStatisticsRequest req;
  req.set_name("mlp");
  inference::ModelStatisticsResponse resp;
  ::grpc::ClientContext ctx;
  ASSERT_TRUE(server.stub().ModelStatistics(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.model_stats_size(), 1);
  const inference::ModelStatistics& g = resp.model_stats(0);
  auto got = http.Get("/v2/models/mlp/stats");
  ASSERT_EQ(got.status, 200) << got.body;
  const json h = json::parse(got.body)["model_stats"][0];

  EXPECT_EQ(g.inference_count(), uint64_t{kN + 4 * kM});
  EXPECT_EQ(g.execution_count(), uint64_t{kN + kM});
  EXPECT_EQ(g.inference_stats().success().count(), uint64_t{kN + kM});
  EXPECT_EQ(g.inference_stats().compute_input().count(), uint64_t{kN + kM});
  EXPECT_EQ(g.inference_stats().compute_infer().count(), uint64_t{kN + kM});
  EXPECT_EQ(g.inference_stats().compute_output().count(), uint64_t{kN + kM});
  EXPECT_GT(g.inference_stats().compute_infer().ns(), 0u);
  EXPECT_GT(g.last_inference(), 1'600'000'000'000u);  // ms since the epoch, not a steady clock
  ASSERT_EQ(g.batch_stats_size(), 2);
  EXPECT_EQ(g.batch_stats(0).batch_size(), 1u);
  EXPECT_EQ(g.batch_stats(0).compute_infer().count(), uint64_t{kN});
  EXPECT_EQ(g.batch_stats(1).batch_size(), 4u);
  EXPECT_EQ(g.batch_stats(1).compute_infer().count(), uint64_t{kM});

  EXPECT_EQ(h["name"], "mlp");
  EXPECT_EQ(h["version"], "1");
  EXPECT_EQ(h["inference_count"].get<uint64_t>(), g.inference_count());
  EXPECT_EQ(h["execution_count"].get<uint64_t>(), g.execution_count());
  EXPECT_EQ(h["last_inference"].get<uint64_t>(), g.last_inference());
  const json& hs = h["inference_stats"];
  ExpectSame(hs["success"], g.inference_stats().success(), "success");
  ExpectSame(hs["fail"], g.inference_stats().fail(), "fail");
  ExpectSame(hs["queue"], g.inference_stats().queue(), "queue");
  ExpectSame(hs["compute_input"], g.inference_stats().compute_input(), "compute_input");
  ExpectSame(hs["compute_infer"], g.inference_stats().compute_infer(), "compute_infer");
  ExpectSame(hs["compute_output"], g.inference_stats().compute_output(), "compute_output");
  ASSERT_EQ(h["batch_stats"].size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(h["batch_stats"][i]["batch_size"].get<uint64_t>(), g.batch_stats(i).batch_size());
    ExpectSame(h["batch_stats"][i]["compute_infer"], g.batch_stats(i).compute_infer(), "batch compute_infer");
  }

  // /metrics reads the same counters.
  const std::string metrics = http.Get("/metrics").body;
  EXPECT_NE(metrics.find("infergate_inference_count_total{model=\"mlp\",version=\"1\"} " +
                         std::to_string(g.inference_count()) + "\n"),
            std::string::npos);
  EXPECT_NE(metrics.find("infergate_inference_compute_infer_duration_ns_total{model=\"mlp\",version=\"1\"} " +
                         std::to_string(g.inference_stats().compute_infer().ns()) + "\n"),
            std::string::npos);
}

}  // namespace
}  // namespace infergate
