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

// The windows one message led to, from submission to OnDone. Shared by their
// completion callbacks; the last one to complete reports.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(core::InferenceService* inference, std::shared_ptr<ContractRunner> runner,
           std::string device, std::shared_ptr<DeviceReplies> replies)
      : inference_(inference),
        runner_(std::move(runner)),
        device_(std::move(device)),
        replies_(std::move(replies)) {}

  // Submits `requests`: from DeviceService::Submit.
  void Submit(std::vector<std::unique_ptr<core::InferRequest>> requests) {
    const size_t first_seq = Reserve(requests.size());
    Dispatch(first_seq, std::move(requests));
  }

 private:
  // Counts `n` windows as outstanding before they are submitted (so OnDone
  // waits for them) and tells the replies; returns the first one's seq.
  size_t Reserve(size_t n) {
    size_t first_seq;
    {
      std::lock_guard lock(mu_);
      first_seq = next_seq_;
      next_seq_ += n;
      outstanding_ += n;
    }
    replies_->OnSubmit(n);
    return first_seq;
  }

  void Dispatch(size_t first_seq, std::vector<std::unique_ptr<core::InferRequest>> requests) {
    for (size_t i = 0; i < requests.size(); ++i) {
      requests[i]->on_complete = [self = shared_from_this(), seq = first_seq + i](
                                     std::unique_ptr<core::InferResponse> response) {
        self->Complete(seq, *response);
      };
      inference_->Submit(std::move(requests[i]));
    }
  }

  // On a scheduler thread, or inline when the InferenceService refuses at once.
  void Complete(size_t seq, const core::InferResponse& response) {
    ContractRunner::Outcome outcome = runner_->Interpret(device_, response);
    // The device's next window runs as part of this message: counted before
    // this window is done (so OnDone waits for it) and submitted after this
    // window's outcome is reported (so results are reported in order).
    const size_t next_seq = outcome.next.empty() ? 0 : Reserve(outcome.next.size());
    WindowOutcome window{std::move(outcome.status), std::move(outcome.result)};
    replies_->OnWindow(device_, window);
    if (!outcome.next.empty()) Dispatch(next_seq, std::move(outcome.next));
    bool last = false;
    {
      std::lock_guard lock(mu_);
      ++windows_;
      if (!window.status.ok() && error_.ok()) error_ = window.status;
      if (window.result) results_.emplace_back(seq, std::move(*window.result));
      last = --outstanding_ == 0;
    }
    if (last) Finish();
  }

  // Every window has completed: no lock is needed any more.
  void Finish() {
    std::sort(results_.begin(), results_.end(),
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

  std::mutex mu_;
  size_t outstanding_ = 0;  // GUARDED_BY(mu_)
  size_t next_seq_ = 0;     // GUARDED_BY(mu_)
  size_t windows_ = 0;      // GUARDED_BY(mu_): windows completed
  core::Status error_;      // GUARDED_BY(mu_): the first failure
  std::vector<std::pair<size_t, Result>> results_;  // GUARDED_BY(mu_): with their seq
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
  replies->OnDevice(*device);
  auto requests = (*runner)->Accept(*device, telemetry);
  if (!requests.ok()) {
    // Accept refuses a full device table with UNAVAILABLE, anything else names a field.
    const bool full = requests.status().code() == core::StatusCode::kUnavailable;
    return Refuse(replies.get(), full ? Refusal::kDeviceLimit : Refusal::kInvalidTelemetry,
                  requests.status(), *device);
  }
  if (requests->empty()) {
    MessageOutcome out;
    out.progress = (*runner)->WindowProgress(*device).value_or(ContractRunner::Progress{});
    out.on = (*runner)->plan().contract.result.on;
    out.device = std::move(*device);
    return replies->OnDone(std::move(out));
  }
  if (options.deadline) {
    for (auto& request : *requests) request->deadline = *options.deadline;
  }
  auto exchange = std::make_shared<Exchange>(inference_, std::move(*runner), std::move(*device),
                                             std::move(replies));
  exchange->Submit(std::move(*requests));
}

size_t DeviceService::EvictIdle() { return contracts_->EvictIdle(); }

}  // namespace infergate::pipeline
