// ContractRunner: the one façade frontends call to run a model's device
// contract. It turns a device's telemetry into inference requests (through
// the device's window and state) and the responses into results worth
// sending.
//
//   frontend thread:   id = runner.DeviceId(topic_capture, telemetry)
//                      accepted = runner.Accept(id, telemetry, owner)
//                      for each accepted.run: set on_complete, InferenceService::Submit
//                      accepted.refused: tell the device (the backlog was full)
//   on_complete (a scheduler thread):
//                      outcome = runner.Interpret(id, *response)
//                      outcome.status not OK -> an error reply; outcome.result -> publish it;
//                      outcome.next -> a waiting window, submitted for its owner (stateful only)
//
// Devices: one entry per device id, created by its first valid reading and
// holding its window, its last reading (for missing: last), its state tensors,
// its last label (for on: change) and its reading counter. At most
// contract.max_devices entries; a new device beyond that is refused
// (UNAVAILABLE: retry later) unless an idle one can be evicted. A device idle
// for idle_ttl_secs (by the injected clock) is evicted, which resets its
// window, state and counter; eviction is checked on every Accept and by
// EvictIdle, so no timer thread is needed.
//
// Stamps: every window carries the sequence number and time of the reading
// whose arrival completed it (ReadingStamp). The number is the message's
// contract.seq_field (its k readings are seq, seq + 1, ...), else the
// device's reading counter (readings accepted since the device was first
// seen, from 0); the time is the contract's timestamp_field, else the
// arrival time by the wall clock (Unix time), in seconds.
//
// State: a contract with device.state runs one inference per device at a
// time, since each needs the state the previous one returned. Windows that
// complete meanwhile wait in arrival order, each with the owner Accept was
// given (the message whose reading completed it); Interpret hands the next
// one out in Outcome::next. At most contract.max_backlog wait per device: a
// window beyond that is not run, comes back in Accepted::refused with
// UNAVAILABLE naming device.max_backlog, and is counted as `backlog`. A
// waiting window that a reset or an eviction discards is reported to its
// owner (WindowOwner::Discarded) after the lock is released. So: call
// Interpret once for every request Accept or Interpret returned, also when
// it failed.
//
// Metrics (label model=<name>):
//   infergate_pipeline_devices                   gauge, devices tracked
//   infergate_pipeline_device_memory_bytes       gauge, bytes held for them (windows, last
//   readings, state, ids) infergate_pipeline_telemetry_rejected_total  counter, {reason}: see
//   Reject in readings.h infergate_pipeline_devices_evicted_total     counter, idle devices
//   forgotten infergate_pipeline_windows_total             counter, requests built
//   infergate_pipeline_windows_skipped_total     counter, complete windows not sent (see window.h)
//   infergate_pipeline_results_total             counter, {sent="true"|"false"} by the on: rule
//
// Ownership: requests returned belong to the caller; on_complete is unset.
// Thread-safety: every method may be called from any thread (frontend event
// loops and scheduler callbacks); one internal lock, held for the work on one
// message, never while calling out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/infer.h"
#include "core/metrics.h"
#include "core/model_config.h"
#include "core/status.h"
#include "pipeline/plan.h"
#include "pipeline/postprocess.h"
#include "pipeline/readings.h"
#include "pipeline/telemetry.h"
#include "pipeline/window.h"

namespace infergate::pipeline {

// The reading that completed a window (see Stamps above).
struct ReadingStamp {
  int64_t seq = 0;
  double ts = 0;  // seconds
};

// Whom a window belongs to: the DeviceService's message.
class WindowOwner {
 public:
  virtual ~WindowOwner() = default;
  // A window of this owner that waited was discarded before it ran (its
  // device was reset or evicted). Runs without the runner's lock, on the
  // thread that discarded it.
  virtual void Discarded(const ReadingStamp& stamp, const core::Status& why) = 0;
};

// A window to run.
struct Window {
  std::unique_ptr<core::InferRequest> request;
  ReadingStamp stamp;
  std::shared_ptr<WindowOwner> owner;  // as given to Accept (may be null)
};

class ContractRunner {
 public:
  struct Options {
    // Idle eviction (idle_ttl_secs). Not owned.
    const core::Clock* clock = &core::SteadyClock::Instance();
    core::MetricsRegistry* metrics = nullptr;  // not owned; may be null
    // Stamps a reading that has no timestamp (Unix time). Not owned.
    const core::WallClock* wall_clock = &core::SystemWallClock::Instance();
  };

  // `config` is a completed model config with a device section; requests
  // name `version`. Errors as PlanContract.
  static core::StatusOr<std::unique_ptr<ContractRunner>> Create(const core::ModelConfig& config,
                                                                int64_t version, Options options);
  ~ContractRunner();
  ContractRunner(const ContractRunner&) = delete;
  ContractRunner& operator=(const ContractRunner&) = delete;

  // The device a message is from: the contract's id_field, else `route_id`
  // (an MQTT topic capture, an HTTP path segment).
  core::StatusOr<std::string> DeviceId(std::string_view route_id, const Telemetry& telemetry);

  // What one message's readings led to.
  struct RefusedWindow {
    ReadingStamp stamp;
    core::Status status;  // UNAVAILABLE: device.max_backlog windows already wait
  };
  struct Accepted {
    std::vector<Window> run;             // to submit now, in order
    size_t queued = 0;                   // stateful: windows left waiting, owned by `owner`
    std::vector<RefusedWindow> refused;  // not run: the device's backlog was full
  };
  // Adds the message's readings to the device's window: at their timestamp
  // (Unix time, seconds), or the wall clock's time for one without. Returns
  // the windows it completed (none while the window fills). Errors name the
  // field (INVALID_ARGUMENT) or say the device table is full (UNAVAILABLE);
  // a refused message changes nothing. `owner` is held by the windows that
  // wait and handed back with them.
  core::StatusOr<Accepted> Accept(const std::string& device_id, const Telemetry& telemetry,
                                  std::shared_ptr<WindowOwner> owner = nullptr);

  struct Outcome {
    core::Status status;           // the inference's error, or the result's
    std::optional<Result> result;  // set when the on: rule says send
    std::optional<Window> next;    // stateful: the device's next window, to submit for its owner
  };
  // Reads `response` to a request Accept (or Interpret) built for `device_id`:
  // carries state outputs to the device's next request and applies `on:`.
  Outcome Interpret(const std::string& device_id, const core::InferResponse& response);

  // Where a device's window stands, for a reply while it fills.
  struct Progress {
    int64_t readings = 0;  // readings held in the window
    int64_t needed = -1;   // readings still to come for the next window; -1: time window
    size_t queued = 0;     // stateful: complete windows waiting for the in-flight one
  };
  // nullopt when the device is not tracked.
  std::optional<Progress> WindowProgress(const std::string& device_id) const;

  // Forgets the device's window, state and last label; false if unknown.
  bool Reset(const std::string& device_id);
  // Evicts devices idle for idle_ttl_secs; returns how many.
  size_t EvictIdle();

  size_t device_count() const;
  size_t memory_bytes() const;
  const ContractPlan& plan() const { return plan_; }

 private:
  struct Pending {
    std::vector<double> values;
    ReadingStamp stamp;
    std::shared_ptr<WindowOwner> owner;
  };
  using Dropped = std::vector<std::pair<Pending, core::Status>>;  // told after unlocking
  struct Device {
    Device(std::string id_in, const core::DeviceWindow* spec, int64_t width)
        : id(std::move(id_in)), window(spec, width) {}
    std::string id;
    WindowBuffer window;
    std::vector<double> last_row;            // empty before the first reading
    std::vector<std::vector<double>> state;  // per StatePlan
    // Stateful: windows waiting for the state, oldest first (a std::deque
    // would allocate 512 bytes per device even when empty).
    std::vector<Pending> pending;
    int64_t readings_seen = 0;  // the reading counter (see Stamps)
    bool in_flight = false;
    bool discard_state = false;  // reset while a request was in flight: ignore its state
    bool has_label = false;
    std::string last_label;
    core::TimePoint last_seen{};
    size_t memory = 0;  // as last accounted
  };
  using DeviceList = std::list<Device>;

  ContractRunner(ContractPlan plan, Options options);
  Device* Find(const std::string& id);          // REQUIRES(mu_)
  size_t EvictIdleLocked(core::TimePoint now, Dropped* dropped);  // REQUIRES(mu_)
  void Erase(DeviceList::iterator it, Dropped* dropped);           // REQUIRES(mu_)
  void ResetDevice(Device* d, Dropped* dropped);                   // REQUIRES(mu_)
  static void TellDropped(Dropped dropped);                        // EXCLUDES(mu_)
  core::StatusOr<Accepted> AcceptLocked(const std::string& device_id, const Telemetry& telemetry,
                                        std::shared_ptr<WindowOwner> owner, core::TimePoint now,
                                        Dropped* dropped);  // REQUIRES(mu_)
  void Account(Device* d);                      // REQUIRES(mu_)
  std::unique_ptr<core::InferRequest> BuildRequest(const Device& d,
                                                   const std::vector<double>& window) const;
  core::Status Refuse(Reject reason, core::Status status);
  void QueueWindow(Device* d, Pending window, Accepted* out);  // REQUIRES(mu_)
  void CarryState(Device* d, const core::InferResponse& response,
                  core::Status* status);  // REQUIRES(mu_)

  const ContractPlan plan_;
  const Options options_;
  const core::Duration ttl_;
  const bool stateful_;

  mutable std::mutex mu_;
  DeviceList lru_;  // GUARDED_BY(mu_): least recently seen first
  std::unordered_map<std::string, DeviceList::iterator> index_;  // GUARDED_BY(mu_)
  size_t memory_ = 0;                                            // GUARDED_BY(mu_)

  // Metrics; null when no registry was given.
  core::Gauge* devices_gauge_ = nullptr;
  core::Gauge* memory_gauge_ = nullptr;
  core::Counter* rejected_[std::size(kAllRejects)] = {};
  core::Counter* evicted_ = nullptr;
  core::Counter* windows_ = nullptr;
  core::Counter* skipped_ = nullptr;
  core::Counter* sent_ = nullptr;
  core::Counter* quiet_ = nullptr;
};

}  // namespace infergate::pipeline
