#include "core/dispatcher.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <system_error>
#include <thread>

namespace infergate::core {

// What a request's completion records, looked up once when the version loads.
struct Dispatcher::VersionMetrics {
  std::shared_ptr<VersionStatistics> statistics;
  Gauge* in_flight;
};

// Destroys schedulers on its own thread, so that the last reference to a
// scheduler may be dropped anywhere, its own threads included.
class Dispatcher::Reaper {
 public:
  ~Reaper() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // Takes `scheduler` and destroys it on the reaper thread.
  void Add(Scheduler* scheduler) {
    std::unique_ptr<Scheduler> owned(scheduler);
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) {
      try {
        thread_ = std::thread([this] { Loop(); });
      } catch (const std::system_error&) {
        return;  // no thread: `owned` is destroyed here, as before the reaper
      }
    }
    queue_.push_back(std::move(owned));
    cv_.notify_all();
  }

  // Returns once every scheduler added so far is destroyed.
  void Flush() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      std::unique_ptr<Scheduler> next = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      lock.unlock();
      next.reset();  // drains and joins the scheduler's threads
      lock.lock();
      busy_ = false;
      cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Scheduler>> queue_;  // GUARDED_BY(mu_)
  bool busy_ = false;                             // GUARDED_BY(mu_)
  bool stopping_ = false;                         // GUARDED_BY(mu_)
  std::thread thread_;                            // started by the first Add
};

Status ValidateRequest(const ModelConfig& config, const InferRequest& request) {
  RETURN_IF_ERROR(ValidateInputs(RequestInputSpecs(config), request.inputs));
  if (config.max_batch_size > 0 && !request.inputs.empty()) {
    const int64_t batch = request.inputs.front().tensor.shape().front();
    for (const auto& in : request.inputs) {
      if (in.tensor.shape().front() != batch) {
        return InvalidArgument("input '" + in.name + "' has batch size " +
                               std::to_string(in.tensor.shape().front()) + " but input '" +
                               request.inputs.front().name + "' has " + std::to_string(batch) +
                               "; the first dimension is the batch and must agree");
      }
    }
    if (batch < 1 || batch > config.max_batch_size) {
      return InvalidArgument("batch size " + std::to_string(batch) + " (the first dimension of input '" +
                             request.inputs.front().name + "') must be from 1 to max_batch_size " +
                             std::to_string(config.max_batch_size));
    }
  }
  for (size_t i = 0; i < request.outputs.size(); ++i) {
    const std::string& name = request.outputs[i].name;
    if (std::none_of(config.outputs.begin(), config.outputs.end(),
                     [&](const TensorConfig& t) { return t.name == name; })) {
      std::string known;
      for (const auto& t : config.outputs) known += (known.empty() ? "'" : ", '") + t.name + "'";
      return InvalidArgument("unknown output '" + name + "'; the model's outputs are " + known);
    }
    for (size_t j = 0; j < i; ++j) {
      if (request.outputs[j].name == name) {
        return InvalidArgument("output '" + name + "' is requested more than once");
      }
    }
  }
  return Status::Ok();
}

Dispatcher::Dispatcher(ModelRepository* repository, MetricsRegistry* metrics, const Clock* clock,
                       const WallClock* wall)
    : repository_(repository),
      metrics_(metrics),
      clock_(clock),
      wall_(wall),
      reaper_(std::make_unique<Reaper>()) {
  repository_->AddListener([this](const RepositoryEvent& e) { OnRepositoryEvent(e); });
}

Dispatcher::~Dispatcher() { Shutdown(); }

void Dispatcher::Shutdown() {
  std::map<const ModelVersion*, Entry> entries;
  {
    std::lock_guard lock(mu_);
    shut_down_ = true;
    entries.swap(entries_);
  }
  entries.clear();  // hands every scheduler to the reaper, outside the lock
  reaper_->Flush();
}

void Dispatcher::OnRepositoryEvent(const RepositoryEvent& event) {
  if (event.kind == RepositoryEvent::Kind::kVersionRemoved) {
    RemoveVersion(event.version.get());
  } else {
    AddVersion(event.version);
  }
}

void Dispatcher::RemoveVersion(const ModelVersion* version) {
  {
    Entry removed;
    std::lock_guard lock(mu_);
    auto it = entries_.find(version);
    if (it == entries_.end()) return;
    removed = std::move(it->second);
    entries_.erase(it);
  }
  // The scheduler went to the reaper unless a Submit still holds it.
  reaper_->Flush();
}

void Dispatcher::AddVersion(const std::shared_ptr<const ModelVersion>& version) {
  std::shared_ptr<VersionStatistics> statistics;
  {
    std::lock_guard lock(mu_);
    auto& slot = statistics_[{version->name(), version->version()}];
    if (!slot) slot = std::make_shared<VersionStatistics>(metrics_, version->name(), version->version(), wall_);
    statistics = slot;
  }
  Entry entry;
  auto scheduler = Scheduler::Create(version, SchedulerOptions{clock_, metrics_, statistics});
  if (scheduler.ok()) {
    Reaper* reaper = reaper_.get();
    entry.scheduler = std::shared_ptr<Scheduler>(scheduler->release(),
                                                 [reaper](Scheduler* s) { reaper->Add(s); });
  } else {
    entry.error = scheduler.status();
  }
  const Labels labels = {{"model", version->name()}, {"version", std::to_string(version->version())}};
  entry.metrics = std::make_shared<VersionMetrics>(VersionMetrics{
      std::move(statistics),
      &metrics_->GetGauge("infergate_inference_in_flight", "Requests admitted and not yet answered",
                          labels)});
  std::lock_guard lock(mu_);
  if (!shut_down_) entries_[version.get()] = std::move(entry);
}

StatusOr<StatisticsSnapshot> Dispatcher::Snapshot(const std::string& model, int64_t version) const {
  std::shared_ptr<VersionStatistics> statistics;
  {
    std::lock_guard lock(mu_);
    auto it = statistics_.find({model, version});
    if (it == statistics_.end()) {
      return NotFound("model '" + model + "' version " + std::to_string(version) +
                      " has no statistics (it was never loaded)");
    }
    statistics = it->second;
  }
  return statistics->Snapshot();
}

void Dispatcher::Refuse(std::unique_ptr<InferRequest> request, Status status) {
  metrics_
      ->GetCounter("infergate_requests_refused_total",
                   "Requests refused before reaching a model's queue, by status code",
                   {{"code", std::string(StatusCodeName(status.code()))}})
      .Increment();
  auto callback = std::move(request->on_complete);
  callback(MakeErrorResponse(*request, std::move(status)));
}

void Dispatcher::Submit(std::unique_ptr<InferRequest> request) {
  if (request->arrival == TimePoint{}) request->arrival = clock_->Now();
  // A version can be swapped between the lookup and the enqueue; the next
  // attempt then finds its successor.
  Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto version = repository_->Get(request->model_name, request->model_version);
    if (!version.ok()) return Refuse(std::move(request), version.status());
    Entry entry;
    bool shut_down = false;
    {
      std::lock_guard lock(mu_);
      shut_down = shut_down_;
      auto it = entries_.find(version->get());
      if (it != entries_.end()) entry = it->second;
    }
    if (shut_down) return Refuse(std::move(request), Unavailable("the server is shutting down"));
    if (!entry.scheduler && !entry.error.ok()) return Refuse(std::move(request), entry.error);
    if (!entry.scheduler) {
      last = Unavailable("model '" + request->model_name + "' is being reloaded; retry");
      continue;
    }
    if (Status st = ValidateRequest((*version)->config(), *request); !st.ok()) {
      entry.metrics->statistics->RecordFailure(clock_->Now() - request->arrival);
      return Refuse(std::move(request), std::move(st));
    }
    ResponseCallback original = request->on_complete;
    auto metrics = entry.metrics;
    const TimePoint arrival = request->arrival;
    const Clock* clock = clock_;
    metrics->in_flight->Add(1);
    request->on_complete = [original, metrics, arrival, clock](std::unique_ptr<InferResponse> r) {
      const Duration total = clock->Now() - arrival;
      if (r->status.ok()) {
        metrics->statistics->RecordSuccess(total);
      } else {
        metrics->statistics->RecordFailure(total);
      }
      metrics->in_flight->Add(-1);
      original(std::move(r));
    };
    Status st = entry.scheduler->Enqueue(request);
    if (st.ok()) return;
    metrics->in_flight->Add(-1);
    metrics->statistics->RecordFailure(clock_->Now() - arrival);
    request->on_complete = std::move(original);
    auto callback = std::move(request->on_complete);
    return callback(MakeErrorResponse(*request, std::move(st)));
  }
  Refuse(std::move(request), std::move(last));
}

}  // namespace infergate::core
