// DeviceService: the device pipeline as one service, for every frontend. A
// frontend decodes a device's message into Telemetry and calls Submit; the
// service finds the model version's ContractRunner (DeviceContracts), adds
// the readings to the device's window, submits every window the message
// completed to the InferenceService, interprets each response (state, the
// on: rule), submits the next window a stateful contract hands out, and tells
// the frontend what to send through the message's DeviceReplies:
//
//   frontend thread:   service.Submit(model, version, route_device, telemetry, options, replies)
//   OnDevice(id, &t)   the device id is known (before its readings are accepted);
//                      the frontend may set the topic its results go to
//   OnSubmit(n)        n windows of the message are about to be submitted (or reported
//                      as refused: each gets one OnWindow)
//   OnWindow(...)      one window was inferred and interpreted, or refused (MQTT
//                      publishes it); a result carries its reading's seq and ts
//   OnDone(outcome)    exactly once, last: the refusal, or the windows run, the
//                      first error and the results in window order (HTTP replies with it)
//
// A message that completes no window (the window fills) gets OnDone at once
// with `windows` 0 and the device's `progress`.
//
// Every window belongs to the message whose reading completed it. Stateful
// contracts: a device's windows run one at a time in arrival order; a window
// that waits for the one in flight stays its message's (its OnSubmit,
// OnWindow and the wait of its OnDone), whichever message's completion lets
// it run. A window that cannot wait (device.max_backlog windows already do)
// is that message's OnWindow with UNAVAILABLE naming the backlog and the
// reading; one a reset or eviction discards while it waits gets an error too.
//
// Refusals, the same code for every frontend (core/status_map.h maps them):
//   kUnknownModel      NOT_FOUND            no loaded model or version of that name
//   kNoDeviceContract  FAILED_PRECONDITION  its config.yaml has no device section
//   kInvalidTelemetry  INVALID_ARGUMENT     a field, the device id, a late reading
//   kDeviceLimit       UNAVAILABLE          device.max_devices devices are tracked and
//                                           this one is new: retry once one is evicted
//                                           (HTTP 503, gRPC 14, MQTT 0x97 quota exceeded)
// A window refused because the device's backlog is full is not a refusal of
// the message (its other windows run): UNAVAILABLE, that window's status.
// A window's failure (the model's error, or the InferenceService's refusal,
// e.g. NOT_FOUND when the version was unloaded before a stateful chain's next
// window ran) is that window's status; the first is the message's status.
//
// Result tap: a ResultObserver installed with SetResultObserver sees every
// window result the on: rule lets through, with the topic the frontend sends
// it to, just before that window's OnWindow (same thread); the edge uplink
// copies results to the cloud from here, whichever frontend took the message.
//
// Ownership: the service holds a message's DeviceReplies until OnDone
// returns. A message in flight holds its version's ContractRunner (so its
// responses are interpreted after the version is unloaded), never a
// scheduler.
// Thread-safety: Submit and EvictIdle may be called from any thread, also
// from inside a callback. Every Submit leads to exactly one OnDone. OnDevice
// runs on the thread that calls Submit, before anything is submitted.
// OnSubmit and OnWindow run on that thread, on scheduler threads, and on
// the thread of a Submit or EvictIdle that discards a waiting window (a
// reset, an eviction); several may run at once for one message. OnDone runs
// after every other call for the message has returned, on the thread that
// calls Submit when no window was submitted, else on the thread that finishes
// the last window (a scheduler thread; the submitting thread when the
// InferenceService refuses at once or the window was refused; the thread
// that discarded it). Callbacks must not block.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/device_contract.h"
#include "core/dispatcher.h"
#include "core/status.h"
#include "pipeline/contract_runner.h"
#include "pipeline/contracts.h"
#include "pipeline/postprocess.h"
#include "pipeline/telemetry.h"

namespace infergate::pipeline {

// Why a message was refused before any window ran.
enum class Refusal { kNone, kUnknownModel, kNoDeviceContract, kInvalidTelemetry, kDeviceLimit };

// One window's outcome.
struct WindowOutcome {
  core::Status status;           // the inference's error, or the result's
  std::optional<Result> result;  // set when the on: rule says send
};

// What one message led to, reported once.
struct MessageOutcome {
  Refusal refusal = Refusal::kNone;
  core::Status status;   // the refusal, else the first window's failure
  std::string device;    // the device id; empty when refused before it was known
  size_t windows = 0;    // windows of the message inferred (refused ones not counted)
  std::vector<Result> results;        // those the on: rule let through, in reading order
  ContractRunner::Progress progress;  // windows == 0: where the device's window stands
  core::DeviceResult::On on = core::DeviceResult::On::kAlways;  // the contract's rule
};

// One result on its way out, for a ResultObserver. Valid during OnResult only.
struct ResultEvent {
  const Result& result;
  // The local topic the frontend publishes it to (MQTT's reply topic);
  // empty when it is not published (HTTP, gRPC).
  std::string_view topic;
};

// Sees results as they are sent (see the header comment). OnResult runs on
// scheduler threads and submitting threads, several at once, and must not block.
class ResultObserver {
 public:
  virtual ~ResultObserver() = default;
  virtual void OnResult(const ResultEvent& event) = 0;
};

// A frontend's side of one message. See the header comment for threads.
class DeviceReplies {
 public:
  virtual ~DeviceReplies() = default;
  // `result_topic` starts as SubmitOptions::result_topic; a frontend whose
  // topic names the device (MQTT's reply template) sets it here.
  virtual void OnDevice(const std::string& device, std::string* result_topic) {
    (void)device;
    (void)result_topic;
  }
  virtual void OnSubmit(size_t windows) { (void)windows; }
  virtual void OnWindow(const std::string& device, const WindowOutcome& outcome) {
    (void)device;
    (void)outcome;
  }
  virtual void OnDone(MessageOutcome outcome) = 0;
};

class DeviceService {
 public:
  // Per message.
  struct SubmitOptions {
    // The deadline of the windows the message completes (MQTT's message expiry).
    std::optional<core::TimePoint> deadline;
    // Where the frontend sends the message's results (MQTT's reply topic), for
    // the ResultObserver; empty: not published (HTTP, gRPC).
    std::string result_topic;
  };

  // Nothing owned; both outlive the service and every message in flight.
  DeviceService(DeviceContracts* contracts, core::InferenceService* inference)
      : contracts_(contracts), inference_(inference) {}

  // One device message for `version` of `model` (core::kLatestVersion: the
  // newest). `route_device` names the device unless the contract's id_field
  // does (an MQTT topic capture, an HTTP path segment). `replies` must not be
  // null.
  void Submit(const std::string& model, int64_t version, std::string_view route_device,
              const Telemetry& telemetry, const SubmitOptions& options,
              std::shared_ptr<DeviceReplies> replies);

  // Evicts idle devices of every model; returns how many.
  size_t EvictIdle();

  // Installs the result tap (null: none). Not owned; outlives every message
  // submitted after this call. Meant to be set once, before traffic (messages
  // already in flight may or may not see the change).
  void SetResultObserver(ResultObserver* observer) { observer_.store(observer); }

 private:
  DeviceContracts* const contracts_;
  core::InferenceService* const inference_;
  std::atomic<ResultObserver*> observer_{nullptr};
};

}  // namespace infergate::pipeline
