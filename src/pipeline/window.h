// WindowBuffer: one device's readings, gathered into the windows its model
// takes (core::DeviceWindow says which kind).
//
//   none   every reading is a window of one.
//   count  the last `count` readings; a window every `hop` readings. Readings
//          with timestamps are kept in time order, so one that arrives out of
//          order takes its place; one older than the newest reading of a
//          window already sent is late and refused.
//   time   `length_secs` on a grid of `period_secs` slots (slot = floor(t /
//          period)); the last reading in a slot wins, an empty slot repeats the
//          previous value (fill: previous) or is 0 (fill: zero). A window is
//          complete when a reading falls in a slot after its end; a window
//          every `hop_secs`. A reading in a slot before the open window is
//          late and refused.
//   Either kind: when one message completes more than kMaxWindowsPerAdd
//          windows (a long pause, a large burst), that many are sent and the
//          rest skipped (counted).
//   max_gap_secs > 0: a pause longer than that between readings (in time
//          order) drops the buffered readings and starts afresh.
//
// Thread-safety: none; the device table's lock guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/device_contract.h"
#include "core/status.h"

namespace infergate::pipeline {

inline constexpr int64_t kMaxWindowsPerAdd = 16;

class WindowBuffer {
 public:
  // `spec` is not owned and outlives this.
  WindowBuffer(const core::DeviceWindow* spec, int64_t row_width);

  struct Added {
    std::vector<std::vector<double>> windows;  // each rows() * row_width values, oldest first
    // Per window: the index (in this Add) of the reading whose arrival completed it.
    std::vector<int64_t> completed_by;
    int64_t skipped = 0;  // complete windows not sent (see above)
  };
  // Adds `count` readings (row-major in `values`); the first is at time `t`
  // seconds, the others `spacing` seconds apart. INVALID_ARGUMENT for a late
  // reading (then nothing of this call is kept).
  core::Status Add(double t, double spacing, const double* values, int64_t count, Added* out);

  // Forgets every reading.
  void Clear();

  // Readings held (rows, for a time window one per slot seen).
  int64_t readings() const { return static_cast<int64_t>(times_.size()); }
  // count and none windows: readings still to come before the next window
  // completes; time windows: -1 (it depends on the readings' times).
  int64_t ReadingsToNextWindow() const;

  // Heap bytes held (capacity, not size).
  size_t MemoryBytes() const;

 private:
  core::Status CheckLate(double t) const;
  void Insert(double t, const double* row);
  void AddCount(Added* out);
  void AddTime(Added* out);
  void EmitTime(Added* out);
  void DropBefore(int64_t slot);
  int64_t Slot(double t) const;

  const core::DeviceWindow* spec_;
  int64_t width_;
  std::vector<double> times_;   // sorted
  std::vector<double> values_;  // times_.size() rows of width_
  bool has_newest_ = false;     // the newest time added, for max_gap_secs
  double newest_ = 0;
  // count: readings added since the last window; the newest time in it.
  int64_t since_emit_ = 0;
  bool emitted_ = false;
  double emitted_upto_ = 0;
  // time: the first slot of the open window; the value before it.
  bool started_ = false;
  int64_t start_slot_ = 0;
  std::vector<double> previous_;  // width_ values or empty
};

}  // namespace infergate::pipeline
