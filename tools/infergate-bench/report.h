// Formats run results as an aligned text table, CSV or JSON. Latencies are
// reported in milliseconds, throughput in successful requests per second.
#pragma once

#include <string>
#include <vector>

#include "recorder.h"

namespace infergate::bench {

enum class ReportFormat { kTable, kCsv, kJson };

std::string FormatReport(const std::vector<RunResult>& rows, ReportFormat format);

// "io=3;timeout=1", sorted by kind; empty when there were no errors.
std::string ErrorsByKind(const RunResult& row);

}  // namespace infergate::bench
