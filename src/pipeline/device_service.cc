#include "pipeline/device_service.h"

#include <algorithm>
#include <mutex>
#include <utility>

namespace infergate::pipeline {
namespace {

void Refuse(DeviceReplies* replies, Refusal refusal, core::Status status, std::string device) {
  MessageOutcome out;
  out.refusal = refusal;
  out.status = std::move(status);
  out.device = std::move(device);
  replies->OnDone(std::move(out));
}

// The windows one message led to, from Accept to OnDone: those it submits at
// once, those that wait for the device's window in flight (the runner hands
// them back to this exchange, whichever message's completion releases them),
// and those refused. Shared by their completion callbacks and the runner's
// waiting windows; the last window to finish reports.
class Exchange final : public WindowOwner, public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(core::InferenceService* inference, std::shared_ptr<ContractRunner> runner,
           std::string device, std::shared_ptr<DeviceReplies> replies,
           std::optional<core::TimePoint> deadline, ResultObserver* observer, std::string topic)
      : inference_(inference),
        runner_(std::move(runner)),
        device_(std::move(device)),
        replies_(std::move(replies)),
        deadline_(deadline),
        observer_(observer),
        topic_(std::move(topic)) {}

  // From DeviceService::Submit, after Accept: counts the message's windows
  // (waiting ones may already have run, on another thread), reports the
  // refused ones and submits the rest.
  void Start(ContractRunner::Accepted accepted) {
    const size_t now = accepted.run.size() + accepted.refused.size();
    {
      std::lock_guard lock(mu_);
      outstanding_ += static_cast<int64_t>(now + accepted.queued);
    }
    if (now) replies_->OnSubmit(now);
    for (auto& r : accepted.refused) Report(r.stamp, {std::move(r.status), std::nullopt}, false);
    for (auto& w : accepted.run) Dispatch(std::move(w));
    bool last;
    {
      std::lock_guard lock(mu_);
      started_ = true;
      last = outstanding_ == 0;
    }
    if (last) Finish();
  }

  // A waiting window of this message, handed out by a completion.
  void RunWaiting(Window window) {
    replies_->OnSubmit(1);
    Dispatch(std::move(window));
  }

  void Discarded(const ReadingStamp& stamp, const core::Status& why) override {
    replies_->OnSubmit(1);
    Report(stamp, {why, std::nullopt}, false);
  }

 private:
  void Dispatch(Window window) {
    if (deadline_) window.request->deadline = *deadline_;
    window.request->on_complete = [self = shared_from_this(), stamp = window.stamp](
                                      std::unique_ptr<core::InferResponse> response) {
      self->Complete(stamp, *response);
    };
    inference_->Submit(std::move(window.request));
  }

  // On a scheduler thread, or inline when the InferenceService refuses at once.
  void Complete(const ReadingStamp& stamp, const core::InferResponse& response) {
    ContractRunner::Outcome outcome = runner_->Interpret(device_, response);
    if (outcome.result) {
      outcome.result->seq = stamp.seq;
      outcome.result->ts = stamp.ts;
    }
    // This window's outcome is reported before the device's next window is
    // submitted (for its own message), so a device's results come in order.
    Report(stamp, {std::move(outcome.status), std::move(outcome.result)}, true);
    if (outcome.next) {
      auto owner = std::static_pointer_cast<Exchange>(outcome.next->owner);
      owner->RunWaiting(std::move(*outcome.next));
    }
  }

  // One window is done (`ran`: it was inferred).
  void Report(const ReadingStamp& stamp, WindowOutcome window, bool ran) {
    if (observer_ && window.result) observer_->OnResult({*window.result, topic_});
    replies_->OnWindow(device_, window);
    bool last;
    {
      std::lock_guard lock(mu_);
      if (ran) ++windows_;
      if (!window.status.ok() && error_.ok()) error_ = window.status;
      if (window.result) results_.emplace_back(stamp.seq, std::move(*window.result));
      last = --outstanding_ == 0 && started_;
    }
    if (last) Finish();
  }

  // Every window has completed: no lock is needed any more.
  void Finish() {
    std::stable_sort(results_.begin(), results_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    MessageOutcome out;
    out.status = std::move(error_);
    out.device = device_;
    out.windows = windows_;
    out.on = runner_->plan().contract.result.on;
    out.results.reserve(results_.size());
    for (auto& [seq, result] : results_) out.results.push_back(std::move(result));
    std::shared_ptr<DeviceReplies> replies = std::move(replies_);
    replies->OnDone(std::move(out));
  }

  core::InferenceService* const inference_;
  const std::shared_ptr<ContractRunner> runner_;
  const std::string device_;
  std::shared_ptr<DeviceReplies> replies_;  // released by Finish
  const std::optional<core::TimePoint> deadline_;
  ResultObserver* const observer_;  // null: no result tap
  const std::string topic_;         // the results' local topic, for observer_

  std::mutex mu_;
  int64_t outstanding_ = 0;  // GUARDED_BY(mu_): may dip below 0 before Start counts
  bool started_ = false;     // GUARDED_BY(mu_): Start has counted every window
  size_t windows_ = 0;       // GUARDED_BY(mu_): windows inferred
  core::Status error_;       // GUARDED_BY(mu_): the first failure
  std::vector<std::pair<int64_t, Result>> results_;  // GUARDED_BY(mu_): with their seq
};

}  // namespace

void DeviceService::Submit(const std::string& model, int64_t version,
                           std::string_view route_device, const Telemetry& telemetry,
                           const SubmitOptions& options, std::shared_ptr<DeviceReplies> replies) {
  auto runner = contracts_->Get(model, version);
  if (!runner.ok()) {
    const bool unknown = runner.status().code() == core::StatusCode::kNotFound;
    return Refuse(replies.get(), unknown ? Refusal::kUnknownModel : Refusal::kNoDeviceContract,
                  runner.status(), "");
  }
  auto device = (*runner)->DeviceId(route_device, telemetry);
  if (!device.ok()) return Refuse(replies.get(), Refusal::kInvalidTelemetry, device.status(), "");
  std::string topic = options.result_topic;
  replies->OnDevice(*device, &topic);
  auto exchange = std::make_shared<Exchange>(inference_, *runner, *device, replies, options.deadline,
                                             observer_.load(), std::move(topic));
  auto accepted = (*runner)->Accept(*device, telemetry, exchange);
  if (!accepted.ok()) {
    // Accept refuses a full device table with UNAVAILABLE, anything else names a field.
    const bool full = accepted.status().code() == core::StatusCode::kUnavailable;
    return Refuse(replies.get(), full ? Refusal::kDeviceLimit : Refusal::kInvalidTelemetry,
                  accepted.status(), *device);
  }
  if (accepted->run.empty() && accepted->queued == 0 && accepted->refused.empty()) {
    MessageOutcome out;
    out.progress = (*runner)->WindowProgress(*device).value_or(ContractRunner::Progress{});
    out.on = (*runner)->plan().contract.result.on;
    out.device = std::move(*device);
    return replies->OnDone(std::move(out));
  }
  exchange->Start(std::move(*accepted));
}

size_t DeviceService::EvictIdle() { return contracts_->EvictIdle(); }

}  // namespace infergate::pipeline
