#include "pipeline/window.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace infergate::pipeline {

using Kind = core::DeviceWindow::Kind;

WindowBuffer::WindowBuffer(const core::DeviceWindow* spec, int64_t row_width)
    : spec_(spec), width_(row_width) {
  if (spec_->kind == Kind::kCount) {
    // A count window never holds more than count + 1 readings: reserve exactly
    // that rather than let growth double it (memory per device is what bounds a fleet).
    times_.reserve(static_cast<size_t>(spec_->count + 1));
    values_.reserve(static_cast<size_t>((spec_->count + 1) * width_));
  }
}

int64_t WindowBuffer::Slot(double t) const {
  // A small tolerance so that t = k * period lands in slot k despite rounding.
  return static_cast<int64_t>(std::floor(t / spec_->period_secs + 1e-9));
}

core::Status WindowBuffer::CheckLate(double t) const {
  if (spec_->kind == Kind::kCount && emitted_ && t < emitted_upto_ && !times_.empty()) {
    return core::InvalidArgument("reading at t=" + std::to_string(t) +
                                 " s is older than the last window sent (up to t=" +
                                 std::to_string(emitted_upto_) + " s); late readings are dropped");
  }
  if (spec_->kind == Kind::kTime && started_ && Slot(t) < start_slot_) {
    return core::InvalidArgument(
        "reading at t=" + std::to_string(t) + " s is older than the open window (from t=" +
        std::to_string(start_slot_ * spec_->period_secs) + " s); late readings are dropped");
  }
  return core::Status::Ok();
}

void WindowBuffer::Insert(double t, const double* row) {
  auto pos = std::upper_bound(times_.begin(), times_.end(), t);
  const auto index = pos - times_.begin();
  times_.insert(pos, t);
  values_.insert(values_.begin() + index * width_, row, row + width_);
}

core::Status WindowBuffer::Add(double t, double spacing, const double* values, int64_t count,
                               Added* out) {
  if (spec_->kind == Kind::kNone) {
    for (int64_t i = 0; i < count; ++i) {
      out->windows.emplace_back(values + i * width_, values + (i + 1) * width_);
      out->completed_by.push_back(i);
    }
    return core::Status::Ok();
  }
  if (spec_->max_gap_secs > 0 && has_newest_ && t - newest_ > spec_->max_gap_secs) Clear();
  RETURN_IF_ERROR(CheckLate(t));
  const double last = t + static_cast<double>(count - 1) * spacing;
  if (!has_newest_ || last > newest_) newest_ = last;
  has_newest_ = true;
  for (int64_t i = 0; i < count; ++i) {
    const double ti = t + static_cast<double>(i) * spacing;
    Insert(ti, values + i * width_);
    if (spec_->kind == Kind::kCount) {
      ++since_emit_;
      AddCount(out);
    } else {
      if (!started_) {
        started_ = true;
        start_slot_ = Slot(ti);
      }
      AddTime(out);
    }
    out->completed_by.resize(out->windows.size(), i);
  }
  return core::Status::Ok();
}

void WindowBuffer::AddCount(Added* out) {
  const auto n = static_cast<int64_t>(times_.size());
  if (n > spec_->count) {
    times_.erase(times_.begin());
    values_.erase(values_.begin(), values_.begin() + width_);
  }
  if (static_cast<int64_t>(times_.size()) == spec_->count && since_emit_ >= spec_->hop) {
    if (static_cast<int64_t>(out->windows.size()) < kMaxWindowsPerAdd) {
      out->windows.push_back(values_);
    } else {
      ++out->skipped;  // one message completing this many windows: the rest are not sent
    }
    since_emit_ = 0;
    emitted_ = true;
    emitted_upto_ = times_.back();
  }
}

void WindowBuffer::AddTime(Added* out) {
  const int64_t slots = spec_->rows();
  const int64_t hop = std::max<int64_t>(1, std::llround(spec_->hop_secs / spec_->period_secs));
  int64_t sent = 0;
  while (!times_.empty() && Slot(times_.back()) >= start_slot_ + slots) {
    if (sent == kMaxWindowsPerAdd) {
      // Skip to the last window the newest reading completes.
      const int64_t last_start = Slot(times_.back()) - slots;
      const int64_t skip = (last_start - start_slot_) / hop + 1;
      out->skipped += skip;
      DropBefore(start_slot_ + skip * hop);
      start_slot_ += skip * hop;
      break;
    }
    EmitTime(out);
    ++sent;
    DropBefore(start_slot_ + hop);
    start_slot_ += hop;
  }
}

void WindowBuffer::EmitTime(Added* out) {
  const int64_t slots = spec_->rows();
  std::vector<double> window(static_cast<size_t>(slots * width_), 0.0);
  std::vector<double> carry = previous_;
  size_t next = 0;  // first reading not yet placed
  for (int64_t s = 0; s < slots; ++s) {
    const int64_t slot = start_slot_ + s;
    const double* row = nullptr;
    while (next < times_.size() && Slot(times_[next]) <= slot) {
      row = &values_[next * width_];  // the last reading in (or before) this slot wins
      ++next;
    }
    double* dst = &window[s * width_];
    if (row) {
      std::copy_n(row, width_, dst);
      carry.assign(row, row + width_);
    } else if (spec_->fill == core::DeviceWindow::Fill::kPrevious && !carry.empty()) {
      std::copy(carry.begin(), carry.end(), dst);
    }
  }
  out->windows.push_back(std::move(window));
}

void WindowBuffer::DropBefore(int64_t slot) {
  size_t n = 0;
  while (n < times_.size() && Slot(times_[n]) < slot) ++n;
  if (n == 0) return;
  previous_.assign(values_.begin() + (n - 1) * width_, values_.begin() + n * width_);
  times_.erase(times_.begin(), times_.begin() + n);
  values_.erase(values_.begin(), values_.begin() + n * width_);
}

void WindowBuffer::Clear() {
  times_.clear();
  values_.clear();
  previous_.clear();
  since_emit_ = 0;
  emitted_ = false;
  started_ = false;
  has_newest_ = false;
}

int64_t WindowBuffer::ReadingsToNextWindow() const {
  switch (spec_->kind) {
    case core::DeviceWindow::Kind::kNone: return 1;
    case core::DeviceWindow::Kind::kTime: return -1;
    case core::DeviceWindow::Kind::kCount: break;
  }
  return std::max<int64_t>({1, spec_->count - readings(), spec_->hop - since_emit_});
}

size_t WindowBuffer::MemoryBytes() const {
  return (times_.capacity() + values_.capacity() + previous_.capacity()) * sizeof(double);
}

}  // namespace infergate::pipeline
