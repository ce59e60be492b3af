// POST /v2/models/{m}[/versions/{v}]/devices/{device}/telemetry: decode the
// device's message on the IO thread, let the model's ContractRunner turn it
// into the requests of the windows it completed, submit them, and reply once
// every one has completed (on the scheduler thread that completes the last).
#include <algorithm>
#include <mutex>
#include <utility>
#include <vector>

#include "core/status_map.h"
#include "frontends/http/routes.h"
#include "pipeline/contracts.h"
#include "protocol/json_writer.h"
#include "protocol/telemetry_json.h"

namespace infergate::http {
namespace {

using pipeline::ContractRunner;
using protocol::JsonWriter;

// The requests one message led to, from submission to the reply. Shared by
// their completion callbacks; the last one to complete replies.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(core::InferenceService* inference, HttpMetrics* metrics,
           std::shared_ptr<ContractRunner> runner, std::string device, Reply reply)
      : inference_(inference),
        metrics_(metrics),
        runner_(std::move(runner)),
        device_(std::move(device)),
        reply_(std::move(reply)) {}

  // Submits `requests`; called from the IO thread, then from callbacks.
  void Submit(std::vector<std::unique_ptr<core::InferRequest>> requests) {
    std::vector<size_t> seqs;
    {
      std::lock_guard lock(mu_);
      for (size_t i = 0; i < requests.size(); ++i) seqs.push_back(next_seq_++);
      outstanding_ += requests.size();
    }
    for (size_t i = 0; i < requests.size(); ++i) {
      requests[i]->on_complete = [self = shared_from_this(),
                                  seq = seqs[i]](std::unique_ptr<core::InferResponse> response) {
        self->Complete(seq, *response);
      };
      inference_->Submit(std::move(requests[i]));
    }
  }

 private:
  // On a scheduler thread (or inline, when Submit refuses at once).
  void Complete(size_t seq, const core::InferResponse& response) {
    ContractRunner::Outcome outcome = runner_->Interpret(device_, response);
    // The device's next window (stateful contracts) runs as part of this
    // exchange, so its result is in this reply; submitted before this one is
    // counted as done, so the reply waits for it.
    if (!outcome.next.empty()) Submit(std::move(outcome.next));
    bool last = false;
    {
      std::lock_guard lock(mu_);
      ++windows_;
      if (!outcome.status.ok() && error_.ok()) error_ = outcome.status;
      if (outcome.result) results_.emplace_back(seq, protocol::EncodeResult(*outcome.result));
      last = --outstanding_ == 0;
    }
    if (last) Finish();
  }

  // Every request has completed: no lock is needed any more.
  void Finish() {
    if (!error_.ok()) {
      if (error_.code() == core::StatusCode::kUnavailable) metrics_->Reject(RejectReason::kOverloaded);
      return reply_(ErrorResponse(error_));
    }
    std::sort(results_.begin(), results_.end());
    if (results_.size() == 1) return reply_(JsonResponse(std::move(results_[0].second)));
    std::string body;
    if (results_.empty()) {
      JsonWriter w(&body);
      w.BeginObject();
      const bool change = runner_->plan().contract.result.on == core::DeviceResult::On::kChange;
      w.Member("status", change ? "no change" : "no alert");
      w.Member("device", std::string_view(device_));
      w.Member("windows", static_cast<int64_t>(windows_));
      w.EndObject();
      return reply_(JsonResponse(std::move(body)));
    }
    body = "[";
    for (size_t i = 0; i < results_.size(); ++i) {
      if (i) body += ',';
      body += results_[i].second;
    }
    body += ']';
    reply_(JsonResponse(std::move(body)));
  }

  core::InferenceService* const inference_;
  HttpMetrics* const metrics_;
  const std::shared_ptr<ContractRunner> runner_;
  const std::string device_;
  Reply reply_;

  std::mutex mu_;
  size_t outstanding_ = 0;  // GUARDED_BY(mu_)
  size_t next_seq_ = 0;     // GUARDED_BY(mu_)
  size_t windows_ = 0;      // GUARDED_BY(mu_): requests completed
  core::Status error_;      // GUARDED_BY(mu_): the first failure
  std::vector<std::pair<size_t, std::string>> results_;  // GUARDED_BY(mu_): by submission order
};

// 202: the message was taken, no window completed (or it waits its turn).
HttpResponse Pending(const ContractRunner& runner, const std::string& device) {
  const auto progress = runner.WindowProgress(device).value_or(ContractRunner::Progress{});
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Member("status", progress.queued ? "queued" : "window filling");
  w.Member("device", std::string_view(device));
  w.Member("readings", progress.readings);
  if (progress.needed >= 0) w.Member("needed", progress.needed);
  if (progress.queued) w.Member("queued", static_cast<int64_t>(progress.queued));
  w.EndObject();
  return JsonResponse(std::move(body), 202);
}

}  // namespace

void DeviceTelemetry(const RouteContext& ctx, const HttpRequest& request, const ModelPath& path,
                     const std::string& device, Reply reply) {
  auto refuse = [&](RejectReason reason, const core::Status& status) {
    ctx.http_metrics->Reject(reason);
    reply(ErrorResponse(status));
  };
  auto runner = ctx.contracts->Get(path.name, path.version);
  if (!runner.ok()) {
    return refuse(runner.status().code() == core::StatusCode::kNotFound
                      ? RejectReason::kUnknownModel
                      : RejectReason::kNoDeviceContract,
                  runner.status());
  }
  pipeline::Telemetry telemetry;
  core::Status st;
  if (request.telemetry_decoder) {
    st = request.telemetry_decoder->Decode(request.body, &telemetry);
  } else {
    auto decoded = protocol::DecodeTelemetry(request.body);
    st = decoded.status();
    if (decoded.ok()) telemetry = std::move(*decoded);
  }
  if (!st.ok()) return refuse(RejectReason::kInvalidTelemetry, st);
  auto id = (*runner)->DeviceId(device, telemetry);
  if (!id.ok()) return refuse(RejectReason::kInvalidTelemetry, id.status());
  auto requests = (*runner)->Accept(*id, telemetry);
  if (!requests.ok()) {
    if (requests.status().code() == core::StatusCode::kResourceExhausted) {
      // The device table is full: a capacity refusal, answered as overload.
      return refuse(RejectReason::kDeviceLimit,
                    core::Unavailable(std::string(requests.status().message())));
    }
    return refuse(RejectReason::kInvalidTelemetry, requests.status());
  }
  if (requests->empty()) return reply(Pending(**runner, *id));
  auto exchange = std::make_shared<Exchange>(ctx.inference, ctx.http_metrics, *runner, *id,
                                             std::move(reply));
  exchange->Submit(std::move(*requests));
}

}  // namespace infergate::http
