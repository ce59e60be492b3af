// Dispatcher: the one entry point frontends hand requests to.
//
// Submit() finds the model version in the repository, checks the request
// against its configuration, and enqueues it on that version's scheduler. It
// keeps one scheduler per loaded version by listening to the repository: a
// scheduler is created when a version becomes READY and drained and destroyed
// when the version is removed (requests already queued still run).
//
// Ownership: Submit() takes the request and calls its on_complete exactly
// once: at once (inline, on the caller's thread) for a refusal, later from a
// scheduler thread otherwise. Frontends must not block in on_complete.
//
// Statistics: the dispatcher keeps one VersionStatistics per model name and
// version for the life of the process (a reload continues its figures, as the
// Prometheus counters do), records success/fail on every answer, hands it to
// the version's scheduler (queue, compute, executions), and serves snapshots
// (StatisticsSource) to the frontends.
//
// Scheduler lifetime: a removed version's scheduler is destroyed (drained and
// joined) by the dispatcher's reaper thread, never on a scheduler's own
// thread: Submit, when called from an on_complete (a scheduler thread), may
// hold the last reference to a scheduler unloaded meanwhile. The repository
// event that removes a version still returns only once its scheduler is gone
// (unless a Submit holds it; then the reaper destroys it when that returns).
//
// Thread-safety: Submit and Snapshot may be called from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "core/clock.h"
#include "core/infer.h"
#include "core/metrics.h"
#include "core/model_repository.h"
#include "core/scheduler.h"
#include "core/statistics.h"

namespace infergate::core {

class InferenceService {
 public:
  virtual ~InferenceService() = default;
  virtual void Submit(std::unique_ptr<InferRequest> request) = 0;
};

// Checks a request against a model version's configuration: inputs (names,
// types, shapes with the batch dimension), batch size <= max_batch_size, and
// the requested outputs. Errors name the input or output.
Status ValidateRequest(const ModelConfig& config, const InferRequest& request);

class Dispatcher final : public InferenceService, public StatisticsSource {
 public:
  // Registers itself as a repository listener: construct before the
  // repository's first Poll. The pointers are not owned and outlive this.
  // `wall` dates the statistics' last_inference.
  Dispatcher(ModelRepository* repository, MetricsRegistry* metrics,
             const Clock* clock = &SteadyClock::Instance(),
             const WallClock* wall = &SystemWallClock::Instance());
  ~Dispatcher() override;

  void Submit(std::unique_ptr<InferRequest> request) override;

  // Drains every scheduler (what is queued runs and is answered) and refuses
  // every later Submit with UNAVAILABLE. Must not be called from a scheduler
  // thread. Idempotent; the destructor calls it.
  void Shutdown();
  StatusOr<StatisticsSnapshot> Snapshot(const std::string& model, int64_t version) const override;

 private:
  struct VersionMetrics;
  class Reaper;
  struct Entry {
    std::shared_ptr<Scheduler> scheduler;  // null when creating it failed
    Status error;                          // why there is no scheduler
    std::shared_ptr<VersionMetrics> metrics;
  };

  void OnRepositoryEvent(const RepositoryEvent& event);
  // Refuses the request with `status`, counting it.
  void Refuse(std::unique_ptr<InferRequest> request, Status status);

  void AddVersion(const std::shared_ptr<const ModelVersion>& version);
  void RemoveVersion(const ModelVersion* version);

  ModelRepository* repository_;
  MetricsRegistry* metrics_;
  const Clock* clock_;
  const WallClock* wall_;
  // Before entries_: destroyed after them (it destroys their schedulers).
  std::unique_ptr<Reaper> reaper_;
  mutable std::mutex mu_;
  std::map<const ModelVersion*, Entry> entries_;  // GUARDED_BY(mu_)
  bool shut_down_ = false;                        // GUARDED_BY(mu_)
  // By model name and version; never erased.
  std::map<std::pair<std::string, int64_t>, std::shared_ptr<VersionStatistics>>
      statistics_;  // GUARDED_BY(mu_)
};

}  // namespace infergate::core
