#include "server/process_metrics.h"

#include <unistd.h>

#include <fstream>

namespace infergate::server {

double ResidentMemoryBytes() {
  std::ifstream statm("/proc/self/statm");
  double total_pages = 0;
  double resident_pages = 0;
  if (!(statm >> total_pages >> resident_pages)) return 0;
  return resident_pages * static_cast<double>(sysconf(_SC_PAGESIZE));
}

void RegisterProcessMetrics(core::MetricsRegistry* metrics, const core::ModelRepository* repository) {
  metrics->AddCallbackGauge("infergate_process_resident_memory_bytes",
                            "Resident set size of the process, bytes", {}, &ResidentMemoryBytes);
  metrics->AddCallbackGauge("infergate_models_loaded", "Model versions READY to serve", {},
                            [repository] {
                              double ready = 0;
                              for (const auto& model : repository->Index()) {
                                for (const auto& v : model.versions) {
                                  ready += v.state == core::ModelState::kReady ? 1 : 0;
                                }
                              }
                              return ready;
                            });
}

}  // namespace infergate::server
