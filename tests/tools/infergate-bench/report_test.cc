#include "report.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "recorder.h"

namespace infergate::bench {
namespace {

using std::chrono::milliseconds;

RunResult Sample() {
  Recorder rec;
  const TimePoint t0{std::chrono::seconds(10)};
  rec.SetWindow(t0, t0 + std::chrono::seconds(2));
  // Warm-up: not measured.
  rec.Add({{0, t0 - milliseconds(5)}, t0 - milliseconds(1), ""});
  for (uint64_t i = 1; i <= 100; ++i) rec.Add({{i, t0 + milliseconds(i)}, t0 + milliseconds(i + i), ""});
  rec.Add({{101, t0 + milliseconds(200)}, t0 + milliseconds(201), "http_503"});
  rec.Add({{102, t0 + milliseconds(300)}, t0 + milliseconds(301), "io"});
  rec.Add({{103, t0 + milliseconds(400)}, t0 + milliseconds(401), "io"});
  rec.AddUnfinished(2, "timeout");
  RunResult r;
  r.label = "peer, \"quoted\"";
  r.target = "http";
  r.mode = "concurrency";
  r.concurrency = 4;
  rec.Fill(&r);
  return r;
}

TEST(RecorderTest, CountsTheWindowOnly) {
  const RunResult r = Sample();
  EXPECT_EQ(r.requests, 105u);
  EXPECT_EQ(r.ok, 100u);
  EXPECT_EQ(r.errors, 5u);
  EXPECT_EQ(r.errors_by_kind.at("io"), 2u);
  EXPECT_EQ(r.errors_by_kind.at("timeout"), 2u);
  EXPECT_EQ(r.latency.Count(), 100u);
  EXPECT_EQ(r.latency.Max(), 100'000'000u);  // request 100: 100 ms
  EXPECT_DOUBLE_EQ(r.duration_s, 2.0);
  EXPECT_DOUBLE_EQ(r.throughput, 50.0);  // 100 ok completions in 2 s
  EXPECT_EQ(ErrorsByKind(r), "http_503=1;io=2;timeout=2");
}

TEST(ReportTest, TableCsvAndJsonCarryTheSameFigures) {
  const std::vector<RunResult> rows = {Sample()};
  const std::string table = FormatReport(rows, ReportFormat::kTable);
  EXPECT_NE(table.find("p99_ms"), std::string::npos);
  EXPECT_NE(table.find("http_503=1;io=2;timeout=2"), std::string::npos);

  const std::string csv = FormatReport(rows, ReportFormat::kCsv);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "label,target,mode,concurrency,rate,duration_s,requests,ok,errors,throughput_rps,mean_ms,p50_ms,"
            "p90_ms,p99_ms,max_ms,errors_by_kind");
  EXPECT_NE(csv.find("\"peer, \"\"quoted\"\"\",http,concurrency,4,0,2.00,105,100,5,50.0,"), std::string::npos) << csv;

  const auto doc = nlohmann::json::parse(FormatReport(rows, ReportFormat::kJson));
  const auto& row = doc["rows"][0];
  EXPECT_EQ(row["ok"], 100);
  EXPECT_EQ(row["errors_by_kind"]["io"], 2);
  EXPECT_NEAR(row["latency_ms"]["max"].get<double>(), 100.0, 1e-9);
  EXPECT_NEAR(row["latency_ms"]["p50"].get<double>(), 50.0, 0.5);
  EXPECT_NEAR(row["throughput_rps"].get<double>(), 50.0, 1e-9);
}

}  // namespace
}  // namespace infergate::bench
