// Process-wide gauges read when /metrics is rendered:
//   infergate_process_resident_memory_bytes  the process's resident set size
//   infergate_models_loaded                  model versions READY to serve
//
// Thread-safety: call once, from the thread that builds the server.
#pragma once

#include "core/metrics.h"
#include "core/model_repository.h"

namespace infergate::server {

// `repository` is not owned and must outlive every render of `metrics`.
void RegisterProcessMetrics(core::MetricsRegistry* metrics, const core::ModelRepository* repository);

// The resident set size in bytes (0 when /proc is not readable).
double ResidentMemoryBytes();

}  // namespace infergate::server
