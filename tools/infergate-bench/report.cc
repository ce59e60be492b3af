#include "report.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace infergate::bench {
namespace {

double Ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

const std::vector<std::string> kColumns = {
    "label",   "target", "mode",   "concurrency", "rate",   "duration_s", "requests",
    "ok",      "errors", "throughput_rps", "mean_ms", "p50_ms", "p90_ms", "p99_ms",
    "max_ms",  "errors_by_kind"};

std::vector<std::string> Cells(const RunResult& r) {
  return {r.label,
          r.target,
          r.mode,
          std::to_string(r.concurrency),
          Fixed(r.rate, 0),
          Fixed(r.duration_s, 2),
          std::to_string(r.requests),
          std::to_string(r.ok),
          std::to_string(r.errors),
          Fixed(r.throughput, 1),
          Fixed(r.latency.Mean() / 1e6, 3),
          Fixed(Ms(r.latency.Percentile(0.50)), 3),
          Fixed(Ms(r.latency.Percentile(0.90)), 3),
          Fixed(Ms(r.latency.Percentile(0.99)), 3),
          Fixed(Ms(r.latency.Max()), 3),
          ErrorsByKind(r)};
}

std::string Table(const std::vector<RunResult>& rows) {
  std::vector<std::vector<std::string>> grid = {kColumns};
  for (const auto& r : rows) grid.push_back(Cells(r));
  std::vector<size_t> width(kColumns.size(), 0);
  for (const auto& line : grid) {
    for (size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], line[c].size());
  }
  std::ostringstream out;
  for (const auto& line : grid) {
    std::string row;
    for (size_t c = 0; c < line.size(); ++c) {
      // Text columns left-aligned, numbers right-aligned.
      const bool text = c < 3 || c + 1 == line.size();
      const bool last = c + 1 == line.size();
      const std::string pad(last ? 0 : width[c] - line[c].size(), ' ');
      row += (text ? line[c] + pad : pad + line[c]) + (last ? "" : "  ");
    }
    row.erase(row.find_last_not_of(' ') + 1);
    out << row << '\n';
  }
  return out.str();
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char ch : s) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return quoted + "\"";
}

std::string Csv(const std::vector<RunResult>& rows) {
  std::ostringstream out;
  for (size_t c = 0; c < kColumns.size(); ++c) out << (c ? "," : "") << kColumns[c];
  out << '\n';
  for (const auto& r : rows) {
    const auto cells = Cells(r);
    for (size_t c = 0; c < cells.size(); ++c) out << (c ? "," : "") << CsvField(cells[c]);
    out << '\n';
  }
  return out.str();
}

std::string Json(const std::vector<RunResult>& rows) {
  nlohmann::json doc = {{"tool", "infergate-bench"}, {"rows", nlohmann::json::array()}};
  for (const auto& r : rows) {
    nlohmann::json errors = nlohmann::json::object();
    for (const auto& [kind, n] : r.errors_by_kind) errors[kind] = n;
    doc["rows"].push_back({{"label", r.label},
                           {"target", r.target},
                           {"mode", r.mode},
                           {"concurrency", r.concurrency},
                           {"rate", r.rate},
                           {"duration_s", r.duration_s},
                           {"requests", r.requests},
                           {"ok", r.ok},
                           {"errors", r.errors},
                           {"errors_by_kind", errors},
                           {"throughput_rps", r.throughput},
                           {"latency_ms",
                            {{"mean", r.latency.Mean() / 1e6},
                             {"min", Ms(r.latency.Min())},
                             {"p50", Ms(r.latency.Percentile(0.50))},
                             {"p90", Ms(r.latency.Percentile(0.90))},
                             {"p99", Ms(r.latency.Percentile(0.99))},
                             {"max", Ms(r.latency.Max())}}}});
  }
  // Replace invalid UTF-8 (a label from the command line) instead of throwing.
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string ErrorsByKind(const RunResult& row) {
  std::string out;
  for (const auto& [kind, n] : row.errors_by_kind) {
    out += (out.empty() ? "" : ";") + kind + "=" + std::to_string(n);
  }
  return out;
}

std::string FormatReport(const std::vector<RunResult>& rows, ReportFormat format) {
  switch (format) {
    case ReportFormat::kCsv: return Csv(rows);
    case ReportFormat::kJson: return Json(rows);
    case ReportFormat::kTable: break;
  }
  return Table(rows);
}

}  // namespace infergate::bench
