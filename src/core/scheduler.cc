#include "core/scheduler.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <thread>

#include "core/batch_assembly.h"

namespace infergate::core {
namespace {

// Whether a failed batch may have failed because of one of its requests (and
// is worth running again one request at a time). UNAVAILABLE and
// DEADLINE_EXCEEDED say the backend could not run anything (e.g. a remote
// model's server is unreachable or too slow); they fail the whole batch.
bool AnyRequestsFault(const Status& status) {
  return status.code() != StatusCode::kUnavailable && status.code() != StatusCode::kDeadlineExceeded;
}

using std::chrono::microseconds;

std::string Micros(Duration d) {
  return std::to_string(std::chrono::duration_cast<microseconds>(d).count()) + " us";
}

// `t + d`, or nullopt when that is past the clock's range (no deadline).
std::optional<TimePoint> AddOrNever(TimePoint t, Duration d) {
  if (d > TimePoint::max() - t) return std::nullopt;
  return t + d;
}

// How batches form, read once from the version's config.
struct BatchPolicy {
  bool batching = false;  // false: one request per run
  int64_t max_batch_size = 0;
  std::set<int64_t> preferred;
  Duration max_delay{};
  Duration default_timeout{};  // zero: requests without a deadline have none
  size_t max_queue = kDefaultMaxQueueSize;
};

StatusOr<BatchPolicy> MakePolicy(const ModelConfig& config) {
  const DynamicBatchingConfig& db = config.dynamic_batching;
  const std::string where = "model '" + config.name + "': ";
  if (config.max_batch_size < 0) {
    return InvalidArgument(where + "max_batch_size is " + std::to_string(config.max_batch_size) +
                           "; the scheduler needs a completed config (0 or more)");
  }
  if (db.max_queue_delay_microseconds < 0 || db.max_queue_size < 0 ||
      db.default_timeout_microseconds < 0) {
    return InvalidArgument(where + "dynamic_batching settings must not be negative");
  }
  BatchPolicy policy;
  policy.max_batch_size = config.max_batch_size;
  policy.batching = config.has_dynamic_batching && config.max_batch_size > 0;
  if (policy.batching) {
    for (int64_t size : db.preferred_batch_size) {
      if (size < 1 || size > config.max_batch_size) {
        return InvalidArgument(where + "dynamic_batching.preferred_batch_size " +
                               std::to_string(size) + " is not from 1 to max_batch_size " +
                               std::to_string(config.max_batch_size));
      }
      policy.preferred.insert(size);
    }
  }
  policy.max_delay = microseconds(db.max_queue_delay_microseconds);
  policy.default_timeout = microseconds(db.default_timeout_microseconds);
  if (db.max_queue_size > 0) policy.max_queue = static_cast<size_t>(db.max_queue_size);
  return policy;
}

// One model version's refusal counters; all null without a registry. (The
// figures of requests that run are in VersionStatistics.)
struct SchedulerMetrics {
  Counter* rejected_queue_full = nullptr;
  Counter* rejected_deadline = nullptr;
  Counter* rejected_shutdown = nullptr;
};

SchedulerMetrics LookUpMetrics(MetricsRegistry* registry, const ModelVersion& version) {
  SchedulerMetrics m;
  if (!registry) return m;
  const Labels labels = {{"model", version.name()}, {"version", std::to_string(version.version())}};
  auto rejected = [&](const char* reason) {
    Labels l = labels;
    l.emplace_back("reason", reason);
    return &registry->GetCounter("infergate_inference_rejected_total",
                                 "Requests a model's scheduler refused or dropped unrun, by reason", l);
  };
  m.rejected_queue_full = rejected("queue_full");
  m.rejected_deadline = rejected("deadline");
  m.rejected_shutdown = rejected("shutdown");
  return m;
}

void Increment(Counter* counter) {
  if (counter) counter->Increment();
}

// A request on its way through the scheduler.
struct Job {
  std::unique_ptr<InferRequest> request;
  int64_t rows = 1;
};

class DynamicScheduler final : public Scheduler {
 public:
  DynamicScheduler(std::shared_ptr<const ModelVersion> version, SchedulerOptions options,
                   BatchPolicy policy);
  ~DynamicScheduler() override { Shutdown(); }

  // Starts the threads; on failure stops those already started.
  Status Start();

  Status Enqueue(std::unique_ptr<InferRequest>& request) override;
  size_t queued() const override;
  void Wake() override;
  void Shutdown() override;

 private:
  struct Pending {
    Job job;
    uint64_t seq = 0;      // admission order
    TimePoint enqueued{};  // the batching delay counts from here
    std::optional<std::multiset<TimePoint>::iterator> deadline;  // into deadlines_
  };
  // Requests that may share a batch (equal BatchKey), oldest first.
  struct Group {
    bool solo = false;  // its requests run one at a time
    std::deque<Pending> entries;
  };
  struct Worker {
    explicit Worker(ModelInstance* i) : instance(i) {}
    ModelInstance* instance;
    std::condition_variable cv;
    std::vector<Job> batch;  // GUARDED_BY(mu_): handed over by ScheduleLocked while idle
    std::thread thread;
  };

  // All *Locked methods need mu_ held.
  // Moves expired requests to expired_, then hands due batches to idle workers.
  void ScheduleLocked(TimePoint now);
  void ExpireLocked(TimePoint now);
  // How many of the group's first requests form a batch that is due now; 0
  // when the group should wait for more.
  size_t DueCountLocked(const Group& group, TimePoint now) const;
  std::vector<Job> TakeLocked(std::map<std::string, Group>::iterator group, size_t count);
  // When the timer should next look: the earliest deadline, and when a worker
  // is idle, the end of the earliest batching delay. max() for never.
  TimePoint NextWakeLocked() const;
  // Wakes the timer thread if it would otherwise look later than needed.
  void ArmTimerLocked();

  void WorkerLoop(Worker* worker);
  void TimerLoop();

  // Runs a batch on the calling worker thread; no lock held.
  void Execute(ModelInstance& instance, std::vector<Job> jobs);
  void RunBatch(ModelInstance& instance, std::vector<Job>& jobs, TimePoint start);
  // `ready`: when this run's input preparation began; `earlier`: the time a
  // failed batch run already spent on the request.
  void RunAlone(ModelInstance& instance, Job& job, TimePoint start, TimePoint ready,
                const ComputeTimes& earlier);
  Status RunTimed(ModelInstance& instance, const std::vector<InferInput>& inputs,
                  const std::vector<std::string>& output_names, std::vector<InferOutput>* outputs,
                  Duration* took);
  // Answers the request; `compute` is its execution's (recorded for a success).
  void Reply(Job& job, Status status, std::vector<InferOutput> outputs, TimePoint start,
             const ComputeTimes& compute);
  void ReplyExpired(Job& job, TimePoint now);
  std::string Name() const;

  const std::shared_ptr<const ModelVersion> version_;
  const Clock* const clock_;
  const BatchPolicy policy_;
  const SchedulerMetrics metrics_;
  const std::shared_ptr<VersionStatistics> statistics_;

  mutable std::mutex mu_;
  std::condition_variable timer_cv_;
  std::map<std::string, Group> groups_;  // GUARDED_BY(mu_); no empty groups
  std::multiset<TimePoint> deadlines_;   // GUARDED_BY(mu_); of queued requests
  size_t queued_ = 0;                    // GUARDED_BY(mu_)
  uint64_t next_seq_ = 0;                // GUARDED_BY(mu_)
  std::vector<Worker*> idle_;            // GUARDED_BY(mu_); a stack, last idle on top
  std::vector<Job> expired_;             // GUARDED_BY(mu_); answered by the timer thread
  // When the timer thread will next look by itself; min() while it is awake.
  TimePoint timer_target_ = TimePoint::min();  // GUARDED_BY(mu_)
  bool stopping_ = false;                      // GUARDED_BY(mu_)

  std::vector<std::unique_ptr<Worker>> workers_;  // fixed after the constructor
  std::thread timer_;
  std::once_flag shutdown_once_;
};

DynamicScheduler::DynamicScheduler(std::shared_ptr<const ModelVersion> version,
                                   SchedulerOptions options, BatchPolicy policy)
    : version_(std::move(version)),
      clock_(options.clock),
      policy_(std::move(policy)),
      metrics_(LookUpMetrics(options.metrics, *version_)),
      statistics_(options.statistics
                      ? std::move(options.statistics)
                      : std::make_shared<VersionStatistics>(options.metrics, version_->name(),
                                                            version_->version())) {
  for (size_t i = 0; i < version_->instance_count(); ++i) {
    workers_.push_back(std::make_unique<Worker>(&version_->instance(i)));
  }
  // Instance 0 on top of the stack, so a lone request always finds it.
  for (auto it = workers_.rbegin(); it != workers_.rend(); ++it) idle_.push_back(it->get());
}

Status DynamicScheduler::Start() {
  try {
    for (auto& worker : workers_) {
      worker->thread = std::thread([this, w = worker.get()] { WorkerLoop(w); });
    }
    timer_ = std::thread([this] { TimerLoop(); });
  } catch (const std::system_error& e) {
    Shutdown();
    return Internal(Name() + ": cannot start scheduler threads: " + e.what());
  }
  return Status::Ok();
}

std::string DynamicScheduler::Name() const {
  return "model '" + version_->name() + "' version " + std::to_string(version_->version());
}

Status DynamicScheduler::Enqueue(std::unique_ptr<InferRequest>& request) {
  if (!request) return InvalidArgument("no request to enqueue");
  const TimePoint now = clock_->Now();
  const TimePoint arrival = request->arrival == TimePoint{} ? now : request->arrival;
  std::optional<TimePoint> deadline = request->deadline;
  if (!deadline && policy_.default_timeout > Duration::zero()) {
    deadline = AddOrNever(arrival, policy_.default_timeout);
  }
  std::string key = policy_.batching ? BatchKey(*request) : std::string();
  const int64_t rows = RequestRows(*request);

  std::lock_guard lock(mu_);
  if (stopping_) {
    Increment(metrics_.rejected_shutdown);
    return Unavailable(Name() + " is unloading; retry");
  }
  if (deadline && *deadline <= now) {
    Increment(metrics_.rejected_deadline);
    return DeadlineExceeded("the request's deadline passed before it reached the queue of model '" +
                            version_->name() + "'");
  }
  if (queued_ >= policy_.max_queue) {
    Increment(metrics_.rejected_queue_full);
    return Unavailable("model '" + version_->name() + "' queue is full (" +
                       std::to_string(policy_.max_queue) + " requests)");
  }
  request->arrival = arrival;
  request->deadline = deadline;
  Pending pending;
  pending.seq = next_seq_++;
  pending.enqueued = now;
  if (deadline) pending.deadline = deadlines_.insert(*deadline);
  pending.job = Job{std::move(request), rows};
  const bool solo = key.empty();
  Group& group = groups_[std::move(key)];
  group.solo = solo;
  group.entries.push_back(std::move(pending));
  ++queued_;
  ScheduleLocked(now);
  ArmTimerLocked();
  return Status::Ok();
}

size_t DynamicScheduler::queued() const {
  std::lock_guard lock(mu_);
  return queued_;
}

void DynamicScheduler::Wake() {
  std::lock_guard lock(mu_);
  ScheduleLocked(clock_->Now());
  ArmTimerLocked();
}

void DynamicScheduler::Shutdown() {
  std::call_once(shutdown_once_, [this] {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      ScheduleLocked(clock_->Now());
      for (auto& worker : workers_) worker->cv.notify_one();
      timer_cv_.notify_one();
    }
    for (auto& worker : workers_) {
      if (worker->thread.joinable()) worker->thread.join();
    }
    if (timer_.joinable()) timer_.join();
  });
}

void DynamicScheduler::ScheduleLocked(TimePoint now) {
  ExpireLocked(now);
  while (!idle_.empty() && !groups_.empty()) {
    auto best = groups_.end();
    size_t best_count = 0;
    for (auto it = groups_.begin(); it != groups_.end(); ++it) {
      const size_t count = DueCountLocked(it->second, now);
      if (count == 0) continue;
      if (best == groups_.end() || it->second.entries.front().seq < best->second.entries.front().seq) {
        best = it;
        best_count = count;
      }
    }
    if (best == groups_.end()) break;
    Worker* worker = idle_.back();
    idle_.pop_back();
    worker->batch = TakeLocked(best, best_count);
    worker->cv.notify_one();
  }
  if (!expired_.empty()) timer_cv_.notify_one();
  if (stopping_ && queued_ == 0) {
    // Nothing more will come: let idle workers and the timer finish.
    for (auto& worker : workers_) worker->cv.notify_one();
    timer_cv_.notify_one();
  }
}

void DynamicScheduler::ExpireLocked(TimePoint now) {
  if (deadlines_.empty() || *deadlines_.begin() > now) return;
  for (auto group = groups_.begin(); group != groups_.end();) {
    auto& entries = group->second.entries;
    for (auto it = entries.begin(); it != entries.end();) {
      if (it->deadline && **it->deadline <= now) {
        deadlines_.erase(*it->deadline);
        expired_.push_back(std::move(it->job));
        it = entries.erase(it);
        --queued_;
      } else {
        ++it;
      }
    }
    group = entries.empty() ? groups_.erase(group) : std::next(group);
  }
}

size_t DynamicScheduler::DueCountLocked(const Group& group, TimePoint now) const {
  if (group.solo || !policy_.batching) return 1;
  int64_t rows = 0;
  size_t count = 0;
  size_t preferred = 0;  // length of the longest prefix of a preferred size
  bool full = false;
  for (const Pending& p : group.entries) {
    if (count > 0 && rows + p.job.rows > policy_.max_batch_size) {
      full = true;
      break;
    }
    rows += p.job.rows;
    ++count;
    if (policy_.preferred.count(rows)) preferred = count;
    if (rows >= policy_.max_batch_size) {
      full = true;
      break;
    }
  }
  // A delay of 0 is always over: run what is there.
  if (stopping_ || now - group.entries.front().enqueued >= policy_.max_delay) return count;
  if (preferred > 0) return preferred;
  return full ? count : 0;
}

std::vector<Job> DynamicScheduler::TakeLocked(std::map<std::string, Group>::iterator group,
                                              size_t count) {
  std::vector<Job> jobs;
  jobs.reserve(count);
  auto& entries = group->second.entries;
  for (size_t i = 0; i < count; ++i) {
    Pending& p = entries.front();
    if (p.deadline) deadlines_.erase(*p.deadline);
    jobs.push_back(std::move(p.job));
    entries.pop_front();
  }
  queued_ -= count;
  if (entries.empty()) groups_.erase(group);
  return jobs;
}

TimePoint DynamicScheduler::NextWakeLocked() const {
  TimePoint next = deadlines_.empty() ? TimePoint::max() : *deadlines_.begin();
  if (idle_.empty() || !policy_.batching) return next;
  for (const auto& [key, group] : groups_) {
    if (group.solo) continue;
    if (auto end = AddOrNever(group.entries.front().enqueued, policy_.max_delay)) {
      next = std::min(next, *end);
    }
  }
  return next;
}

void DynamicScheduler::ArmTimerLocked() {
  if (NextWakeLocked() < timer_target_) timer_cv_.notify_one();
}

void DynamicScheduler::WorkerLoop(Worker* worker) {
  std::unique_lock lock(mu_);
  while (true) {
    worker->cv.wait(lock, [&] { return !worker->batch.empty() || (stopping_ && queued_ == 0); });
    if (worker->batch.empty()) return;
    std::vector<Job> batch = std::move(worker->batch);
    worker->batch.clear();
    lock.unlock();
    Execute(*worker->instance, std::move(batch));
    lock.lock();
    idle_.push_back(worker);
    ScheduleLocked(clock_->Now());
    ArmTimerLocked();
  }
}

void DynamicScheduler::TimerLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    timer_target_ = TimePoint::min();
    const TimePoint now = clock_->Now();
    ScheduleLocked(now);
    if (!expired_.empty()) {
      std::vector<Job> expired;
      expired.swap(expired_);
      lock.unlock();
      for (Job& job : expired) ReplyExpired(job, now);
      lock.lock();
      continue;
    }
    if (stopping_ && queued_ == 0) return;
    const TimePoint next = NextWakeLocked();
    timer_target_ = next;
    clock_->WaitUntil(timer_cv_, lock, next);
  }
}

void DynamicScheduler::Execute(ModelInstance& instance, std::vector<Job> jobs) {
  const TimePoint start = clock_->Now();
  std::vector<Job> live;
  live.reserve(jobs.size());
  for (Job& job : jobs) {
    if (job.request->deadline && *job.request->deadline <= start) {
      ReplyExpired(job, start);
    } else {
      live.push_back(std::move(job));
    }
  }
  if (live.size() == 1) {
    RunAlone(instance, live.front(), start, start, ComputeTimes{});
  } else if (live.size() > 1) {
    RunBatch(instance, live, start);
  }
}

void DynamicScheduler::RunBatch(ModelInstance& instance, std::vector<Job>& jobs, TimePoint start) {
  std::vector<const InferRequest*> requests;
  requests.reserve(jobs.size());
  int64_t rows = 0;
  for (const Job& job : jobs) {
    requests.push_back(job.request.get());
    rows += job.rows;
  }
  std::vector<InferOutput> outputs;
  ComputeTimes times;
  Status status = [&]() -> Status {
    ASSIGN_OR_RETURN(std::vector<InferInput> inputs, ConcatInputs(requests));
    times.input = clock_->Now() - start;
    RETURN_IF_ERROR(RunTimed(instance, inputs, UnionOfOutputs(requests), &outputs, &times.infer));
    return CheckBatchOutputs(outputs, rows);
  }();
  if (!status.ok() && !AnyRequestsFault(status)) {
    // No request caused it (a remote model's server is down or did not
    // answer): running each alone would repeat it once per request.
    for (Job& job : jobs) Reply(job, status, {}, start, times);
    return;
  }
  if (!status.ok()) {
    // Run each request alone so one bad request does not fail the others.
    for (Job& job : jobs) RunAlone(instance, job, start, clock_->Now(), times);
    return;
  }
  const TimePoint split = clock_->Now();
  std::vector<StatusOr<std::vector<InferOutput>>> split_outputs;
  split_outputs.reserve(jobs.size());
  int64_t begin = 0;
  for (Job& job : jobs) {
    split_outputs.push_back(OutputsFor(*job.request, outputs, std::make_pair(begin, begin + job.rows)));
    begin += job.rows;
  }
  times.output = clock_->Now() - split;
  statistics_->RecordExecution(rows, times);
  for (size_t i = 0; i < jobs.size(); ++i) {
    auto& mine = split_outputs[i];
    if (mine.ok()) {
      Reply(jobs[i], Status::Ok(), std::move(*mine), start, times);
    } else {
      Reply(jobs[i], mine.status(), {}, start, times);
    }
  }
}

void DynamicScheduler::RunAlone(ModelInstance& instance, Job& job, TimePoint start, TimePoint ready,
                                const ComputeTimes& earlier) {
  std::vector<std::string> names;
  names.reserve(job.request->outputs.size());
  for (const auto& out : job.request->outputs) names.push_back(out.name);
  ComputeTimes run;  // this execution's own
  run.input = clock_->Now() - ready;
  std::vector<InferOutput> outputs;
  Status status = RunTimed(instance, job.request->inputs, names, &outputs, &run.infer);
  ComputeTimes times = {earlier.input + run.input, earlier.infer + run.infer, Duration::zero()};
  if (!status.ok()) return Reply(job, std::move(status), {}, start, times);
  const TimePoint split = clock_->Now();
  auto mine = OutputsFor(*job.request, outputs, std::nullopt);
  run.output = clock_->Now() - split;
  times.output = run.output;
  statistics_->RecordExecution(job.rows, run);
  if (!mine.ok()) return Reply(job, mine.status(), {}, start, times);
  Reply(job, Status::Ok(), std::move(*mine), start, times);
}

Status DynamicScheduler::RunTimed(ModelInstance& instance, const std::vector<InferInput>& inputs,
                                  const std::vector<std::string>& output_names,
                                  std::vector<InferOutput>* outputs, Duration* took) {
  const TimePoint begin = clock_->Now();
  Status status = instance.Run(inputs, output_names, outputs);
  *took = clock_->Now() - begin;
  return status;
}

void DynamicScheduler::Reply(Job& job, Status status, std::vector<InferOutput> outputs,
                             TimePoint start, const ComputeTimes& compute) {
  auto response = std::make_unique<InferResponse>();
  response->status = std::move(status);
  response->model_name = version_->name();
  response->model_version = version_->version();
  response->id = job.request->id;
  response->queue_time = start - job.request->arrival;
  response->compute_time = compute.infer;
  if (response->status.ok()) {
    response->outputs = std::move(outputs);
    statistics_->RecordRequest(job.rows, response->queue_time, compute);
  }
  ResponseCallback callback = std::move(job.request->on_complete);
  job.request.reset();  // frees the inputs before the reply goes out
  if (callback) callback(std::move(response));
}

void DynamicScheduler::ReplyExpired(Job& job, TimePoint now) {
  Increment(metrics_.rejected_deadline);
  const Duration waited = now - job.request->arrival;
  Reply(job,
        DeadlineExceeded("the request's deadline passed after " + Micros(waited) +
                         " in the queue of model '" + version_->name() + "'; it was not run"),
        {}, now, ComputeTimes{});
}

}  // namespace

StatusOr<std::unique_ptr<Scheduler>> Scheduler::Create(std::shared_ptr<const ModelVersion> version,
                                                       SchedulerOptions options) {
  if (!version) return InvalidArgument("a scheduler needs a model version");
  if (version->instance_count() == 0) {
    return InvalidArgument("model '" + version->name() + "' version " +
                           std::to_string(version->version()) + " has no instances to run on");
  }
  if (!options.clock) options.clock = &SteadyClock::Instance();
  ASSIGN_OR_RETURN(BatchPolicy policy, MakePolicy(version->config()));
  auto scheduler = std::make_unique<DynamicScheduler>(std::move(version), options, std::move(policy));
  RETURN_IF_ERROR(scheduler->Start());
  return std::unique_ptr<Scheduler>(std::move(scheduler));
}

}  // namespace infergate::core
