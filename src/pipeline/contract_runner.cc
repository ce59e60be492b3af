#include "pipeline/contract_runner.h"

#include <chrono>

#include "pipeline/tensor_values.h"

namespace infergate::pipeline {
namespace {

double UnixSeconds(core::WallTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// Bytes a device entry holds besides its window: the entry, its list and map
// nodes, the id, the last reading and the state.
size_t EntryBytes(const std::string& id, const std::vector<double>& last_row,
                  const std::vector<std::vector<double>>& state) {
  size_t bytes = 160 + 2 * id.capacity() + last_row.capacity() * sizeof(double);
  for (const auto& s : state) bytes += sizeof(s) + s.capacity() * sizeof(double);
  return bytes;
}

}  // namespace

core::StatusOr<std::unique_ptr<ContractRunner>> ContractRunner::Create(
    const core::ModelConfig& config, int64_t version, Options options) {
  ASSIGN_OR_RETURN(ContractPlan plan, PlanContract(config, version));
  return std::unique_ptr<ContractRunner>(new ContractRunner(std::move(plan), options));
}

ContractRunner::ContractRunner(ContractPlan plan, Options options)
    : plan_(std::move(plan)),
      options_(options),
      ttl_(std::chrono::duration_cast<core::Duration>(
          std::chrono::duration<double>(plan_.contract.idle_ttl_secs))),
      stateful_(!plan_.state.empty()) {
  if (!options_.metrics) return;
  auto& m = *options_.metrics;
  const core::Labels model = {{"model", plan_.model_name}};
  devices_gauge_ =
      &m.GetGauge("infergate_pipeline_devices", "Devices whose windows and state are held", model);
  memory_gauge_ = &m.GetGauge("infergate_pipeline_device_memory_bytes",
                              "Bytes held for devices: windows, last readings, state, ids", model);
  for (size_t i = 0; i < std::size(kAllRejects); ++i) {
    rejected_[i] = &m.GetCounter(
        "infergate_pipeline_telemetry_rejected_total", "Telemetry messages refused, by reason",
        {{"model", plan_.model_name}, {"reason", std::string(RejectName(kAllRejects[i]))}});
  }
  evicted_ = &m.GetCounter("infergate_pipeline_devices_evicted_total",
                           "Devices forgotten after idle_ttl_secs", model);
  windows_ = &m.GetCounter("infergate_pipeline_windows_total",
                           "Inference requests built from device windows", model);
  skipped_ =
      &m.GetCounter("infergate_pipeline_windows_skipped_total",
                    "Complete windows not sent because one reading completed too many", model);
  sent_ = &m.GetCounter("infergate_pipeline_results_total",
                        "Results, by whether the on: rule sent them",
                        {{"model", plan_.model_name}, {"sent", "true"}});
  quiet_ = &m.GetCounter("infergate_pipeline_results_total",
                         "Results, by whether the on: rule sent them",
                         {{"model", plan_.model_name}, {"sent", "false"}});
}

ContractRunner::~ContractRunner() {
  std::lock_guard lock(mu_);
  if (devices_gauge_) devices_gauge_->Add(-static_cast<double>(lru_.size()));
  if (memory_gauge_) memory_gauge_->Add(-static_cast<double>(memory_));
}

core::StatusOr<std::string> ContractRunner::DeviceId(std::string_view route_id,
                                                     const Telemetry& telemetry) {
  auto id = DeviceIdOf(plan_.contract, route_id, telemetry);
  if (!id.ok()) return Refuse(Reject::kNoDeviceId, id.status());
  return id;
}

core::Status ContractRunner::Refuse(Reject reason, core::Status status) {
  for (size_t i = 0; i < std::size(kAllRejects); ++i) {
    if (kAllRejects[i] == reason && rejected_[i]) rejected_[i]->Increment();
  }
  return status;
}

ContractRunner::Device* ContractRunner::Find(const std::string& id) {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &*it->second;
}

void ContractRunner::Account(Device* d) {
  size_t pending = 0;  // waiting windows, with their owner's control block
  for (const auto& p : d->pending) pending += sizeof(p) + 48 + p.values.capacity() * sizeof(double);
  const size_t now =
      sizeof(Device) + d->window.MemoryBytes() + EntryBytes(d->id, d->last_row, d->state) + pending;
  memory_ = memory_ - d->memory + now;
  if (memory_gauge_) memory_gauge_->Add(static_cast<double>(now) - static_cast<double>(d->memory));
  d->memory = now;
}

void ContractRunner::Erase(DeviceList::iterator it, Dropped* dropped) {
  for (auto& p : it->pending) {
    core::Status why = core::Unavailable("device '" + it->id + "': window of reading " +
                                         std::to_string(p.stamp.seq) +
                                         " not run: the device was evicted (device.idle_ttl_secs)");
    dropped->emplace_back(std::move(p), std::move(why));
  }
  memory_ -= it->memory;
  if (memory_gauge_) memory_gauge_->Add(-static_cast<double>(it->memory));
  if (devices_gauge_) devices_gauge_->Add(-1);
  index_.erase(it->id);
  lru_.erase(it);
}

size_t ContractRunner::EvictIdleLocked(core::TimePoint now, Dropped* dropped) {
  size_t n = 0;
  while (!lru_.empty() && now - lru_.front().last_seen >= ttl_) {
    Erase(lru_.begin(), dropped);
    ++n;
  }
  if (n && evicted_) evicted_->Increment(n);
  return n;
}

size_t ContractRunner::EvictIdle() {
  Dropped dropped;
  size_t n;
  {
    std::lock_guard lock(mu_);
    n = EvictIdleLocked(options_.clock->Now(), &dropped);
  }
  TellDropped(std::move(dropped));
  return n;
}

void ContractRunner::TellDropped(Dropped dropped) {
  for (auto& [window, why] : dropped) {
    if (window.owner) window.owner->Discarded(window.stamp, why);
  }
}

void ContractRunner::ResetDevice(Device* d, Dropped* dropped) {
  d->window.Clear();
  for (auto& p : d->pending) {
    core::Status why = core::Cancelled("device '" + d->id + "': window of reading " +
                                       std::to_string(p.stamp.seq) +
                                       " not run: the device was reset before its turn");
    dropped->emplace_back(std::move(p), std::move(why));
  }
  d->pending.clear();
  d->has_label = false;
  d->discard_state = d->in_flight;
  d->state.clear();
  for (const auto& s : plan_.state)
    d->state.emplace_back(static_cast<size_t>(s.elements), s.initial);
}

bool ContractRunner::Reset(const std::string& device_id) {
  Dropped dropped;
  {
    std::lock_guard lock(mu_);
    Device* d = Find(device_id);
    if (!d) return false;
    ResetDevice(d, &dropped);
    d->last_row.clear();
    Account(d);
  }
  TellDropped(std::move(dropped));
  return true;
}

std::unique_ptr<core::InferRequest> ContractRunner::BuildRequest(
    const Device& d, const std::vector<double>& window) const {
  auto req = std::make_unique<core::InferRequest>();
  req->model_name = plan_.model_name;
  req->model_version = plan_.model_version;
  std::vector<double> values;
  for (const auto& in : plan_.inputs) {
    values.resize(static_cast<size_t>(plan_.rows * in.width));
    for (int64_t r = 0; r < plan_.rows; ++r) {
      std::copy_n(&window[r * plan_.row_width + in.offset], in.width, &values[r * in.width]);
    }
    req->inputs.push_back({in.name, ToTensor(in.dtype, in.shape, values), {}});
  }
  for (size_t i = 0; i < plan_.state.size(); ++i) {
    req->inputs.push_back({plan_.state[i].input,
                           ToTensor(plan_.state[i].dtype, plan_.state[i].shape, d.state[i]),
                           {}});
  }
  for (const auto& k : plan_.constants) {
    req->inputs.push_back({k.input, ToTensor(k.dtype, k.shape, k.values), {}});
  }
  req->outputs.push_back({plan_.contract.result.output, {}, {}});
  for (const auto& s : plan_.state) {
    if (s.output != plan_.contract.result.output) req->outputs.push_back({s.output, {}, {}});
  }
  return req;
}

void ContractRunner::QueueWindow(Device* d, Pending window, Accepted* out) {
  if (!stateful_ || !d->in_flight) {
    out->run.push_back({BuildRequest(*d, window.values), window.stamp, std::move(window.owner)});
    d->in_flight = stateful_;
    if (windows_) windows_->Increment();
    return;
  }
  const auto backlog = static_cast<size_t>(plan_.contract.max_backlog);
  if (d->pending.size() >= backlog) {
    out->refused.push_back(
        {window.stamp,
         Refuse(Reject::kBacklog,
                core::Unavailable("device '" + d->id + "': " + std::to_string(d->pending.size()) +
                                  " windows already wait for model '" + plan_.model_name +
                                  "' (device.max_backlog); window of reading " +
                                  std::to_string(window.stamp.seq) + " not run"))});
    return;
  }
  d->pending.push_back(std::move(window));
  ++out->queued;
}

core::StatusOr<ContractRunner::Accepted> ContractRunner::Accept(
    const std::string& device_id, const Telemetry& telemetry, std::shared_ptr<WindowOwner> owner) {
  const core::TimePoint now = options_.clock->Now();
  Dropped dropped;
  core::StatusOr<Accepted> out = core::Internal("unset");
  {
    std::lock_guard lock(mu_);
    out = AcceptLocked(device_id, telemetry, std::move(owner), now, &dropped);
  }
  TellDropped(std::move(dropped));
  return out;
}

core::StatusOr<ContractRunner::Accepted> ContractRunner::AcceptLocked(
    const std::string& device_id, const Telemetry& telemetry, std::shared_ptr<WindowOwner> owner,
    core::TimePoint now, Dropped* dropped) {
  EvictIdleLocked(now, dropped);
  Device* d = Find(device_id);
  Reject reason{};
  auto readings = ExtractReadings(plan_, telemetry,
                                  d && !d->last_row.empty() ? &d->last_row : nullptr, &reason);
  if (!readings.ok()) return Refuse(reason, readings.status());
  if (!d) {
    if (lru_.size() >= static_cast<size_t>(plan_.contract.max_devices)) {
      return Refuse(Reject::kMaxDevices,
                    core::Unavailable(
                        "device '" + device_id + "' refused: " + std::to_string(lru_.size()) +
                        " devices are tracked, the most device.max_devices allows"));
    }
    lru_.emplace_back(device_id, &plan_.contract.window, plan_.row_width);
    index_[device_id] = std::prev(lru_.end());
    d = &lru_.back();
    ResetDevice(d, dropped);
    if (devices_gauge_) devices_gauge_->Add(1);
  } else if (readings->reset) {
    ResetDevice(d, dropped);
  }
  const double t = readings->timestamp ? *readings->timestamp
                                        : UnixSeconds(options_.wall_clock->Now());
  const double spacing = plan_.contract.window.kind == core::DeviceWindow::Kind::kTime
                             ? plan_.contract.window.period_secs
                             : 0;
  WindowBuffer::Added added;
  core::Status st = d->window.Add(t, spacing, readings->values.data(), readings->count, &added);
  Accepted out;
  if (st.ok()) {
    const int64_t first_seq = readings->seq.value_or(d->readings_seen);
    d->readings_seen += readings->count;
    const auto last = readings->values.end() - plan_.row_width;
    d->last_row.assign(last, readings->values.end());
    d->last_seen = now;
    lru_.splice(lru_.end(), lru_, index_[device_id]);
    if (added.skipped && skipped_) skipped_->Increment(static_cast<uint64_t>(added.skipped));
    for (size_t i = 0; i < added.windows.size(); ++i) {
      const int64_t reading = added.completed_by[i];
      const ReadingStamp stamp{first_seq + reading, t + static_cast<double>(reading) * spacing};
      QueueWindow(d, {std::move(added.windows[i]), stamp, owner}, &out);
    }
  }
  Account(d);
  if (!st.ok()) return Refuse(Reject::kLate, std::move(st));
  return out;
}

void ContractRunner::CarryState(Device* d, const core::InferResponse& response,
                                core::Status* status) {
  for (size_t i = 0; i < plan_.state.size(); ++i) {
    const auto& s = plan_.state[i];
    const core::InferOutput* o = nullptr;
    for (const auto& out : response.outputs) {
      if (out.name == s.output) o = &out;
    }
    if (!o) {
      *status = core::Internal("the response has no state output '" + s.output + "'");
      return;
    }
    auto values = ToDoubles(o->tensor, "state output '" + s.output + "'");
    if (!values.ok() || static_cast<int64_t>(values->size()) != s.elements) {
      *status = values.ok() ? core::Internal("state output '" + s.output + "' has " +
                                             std::to_string(values->size()) + " values, expected " +
                                             std::to_string(s.elements))
                            : values.status();
      return;
    }
    d->state[i] = std::move(*values);
  }
}

ContractRunner::Outcome ContractRunner::Interpret(const std::string& device_id,
                                                  const core::InferResponse& response) {
  Outcome out;
  std::optional<Result> result;
  if (!response.status.ok()) {
    out.status = response.status;
  } else {
    auto r = Postprocess(plan_, response);
    if (r.ok()) {
      result = std::move(*r);
      result->device_id = device_id;
    } else {
      out.status = r.status();
    }
  }
  std::lock_guard lock(mu_);
  Device* d = Find(device_id);  // null when it was evicted or reset meanwhile
  // A stateful device's response carries its state only while that request is
  // the one in flight: not after a reset, nor for an entry evicted and made anew.
  const bool carry = d && stateful_ && d->in_flight && !d->discard_state;
  if (carry && out.status.ok()) CarryState(d, response, &out.status);
  if (result && out.status.ok()) {
    const bool send =
        ShouldSend(plan_.contract.result.on, *result, d && d->has_label ? &d->last_label : nullptr);
    if (d) {
      d->last_label = result->label;
      d->has_label = true;
    }
    if (send) out.result = std::move(result);
    if (auto* c = send ? sent_ : quiet_) c->Increment();
  }
  if (d && stateful_) {
    d->in_flight = false;
    d->discard_state = false;
    if (!d->pending.empty()) {
      Pending next = std::move(d->pending.front());
      d->pending.erase(d->pending.begin());
      out.next = Window{BuildRequest(*d, next.values), next.stamp, std::move(next.owner)};
      d->in_flight = true;
      if (windows_) windows_->Increment();
    }
    Account(d);
  }
  return out;
}

std::optional<ContractRunner::Progress> ContractRunner::WindowProgress(
    const std::string& device_id) const {
  std::lock_guard lock(mu_);
  auto it = index_.find(device_id);
  if (it == index_.end()) return std::nullopt;
  const Device& d = *it->second;
  return Progress{d.window.readings(), d.window.ReadingsToNextWindow(), d.pending.size()};
}

size_t ContractRunner::device_count() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

size_t ContractRunner::memory_bytes() const {
  std::lock_guard lock(mu_);
  return memory_;
}

}  // namespace infergate::pipeline
