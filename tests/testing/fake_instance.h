// Fakes for scheduler tests: a ModelInstance that records every run, can hold
// runs until the test releases them, and computes its outputs from its input
// so a test can check how a batch was split back; and a sink that collects
// responses and lets a test wait for them.
//
// The fake model ("RecordingInstance"):
//   input  "x": any datatype, the shape the test gives (e.g. [-1, 2])
//   output "y": Doubled(x), element by element
//   output "z": x itself (the same bytes)
// Run honours output_names (empty: y then z) and fails with NOT_FOUND for an
// unknown name, like a real backend.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/infer.h"
#include "core/model.h"
#include "testing/gate.h"

namespace infergate::testing {

namespace internal {

template <typename T>
void DoubleEach(std::vector<uint8_t>* bytes, T (*f)(T)) {
  for (size_t pos = 0; pos + sizeof(T) <= bytes->size(); pos += sizeof(T)) {
    T v;
    std::memcpy(&v, bytes->data() + pos, sizeof(T));
    v = f(v);
    std::memcpy(bytes->data() + pos, &v, sizeof(T));
  }
}

template <typename T>
T TimesTwo(T v) {
  return static_cast<T>(v * 2);
}

// Doubles an IEEE half-width float (fp16: 10 mantissa bits, bf16: 7) by its
// bits: one more in the exponent; subnormals shift left (which carries into
// the exponent correctly); infinities and NaNs stay.
inline uint16_t DoubleHalf(uint16_t bits, int mantissa_bits) {
  const uint16_t sign = bits & 0x8000;
  const uint16_t magnitude = bits & 0x7fff;
  const uint16_t exponent = magnitude >> mantissa_bits;
  const uint16_t all_ones = 0x7fff >> mantissa_bits;
  if (exponent == all_ones) return bits;
  if (exponent == 0) return static_cast<uint16_t>(sign | (magnitude << 1));
  if (exponent + 1 == all_ones) return static_cast<uint16_t>(sign | (all_ones << mantissa_bits));
  return static_cast<uint16_t>(bits + (1 << mantissa_bits));
}

}  // namespace internal

// x * 2 element by element for every datatype: integers wrap, floats double
// (fp16/bf16 by their bits); BOOL is negated; a BYTES element is repeated
// ("ab" -> "abab").
inline core::Tensor Doubled(const core::Tensor& x) {
  using core::DataType;
  if (x.dtype() == DataType::kBytes) {
    std::vector<std::string> doubled;
    auto elements = x.StringElements();
    if (elements.ok()) {
      for (auto e : *elements) doubled.push_back(std::string(e) + std::string(e));
    }
    return core::Tensor::FromStrings(doubled, x.shape());
  }
  std::vector<uint8_t> bytes(x.bytes().begin(), x.bytes().end());
  switch (x.dtype()) {
    case DataType::kBool:
      for (auto& b : bytes) b = b ? 0 : 1;
      break;
    case DataType::kUint8:
    case DataType::kInt8: internal::DoubleEach<uint8_t>(&bytes, internal::TimesTwo<uint8_t>); break;
    case DataType::kUint16:
    case DataType::kInt16: internal::DoubleEach<uint16_t>(&bytes, internal::TimesTwo<uint16_t>); break;
    case DataType::kUint32:
    case DataType::kInt32: internal::DoubleEach<uint32_t>(&bytes, internal::TimesTwo<uint32_t>); break;
    case DataType::kUint64:
    case DataType::kInt64: internal::DoubleEach<uint64_t>(&bytes, internal::TimesTwo<uint64_t>); break;
    case DataType::kFp16:
      internal::DoubleEach<uint16_t>(&bytes, [](uint16_t v) { return internal::DoubleHalf(v, 10); });
      break;
    case DataType::kBf16:
      internal::DoubleEach<uint16_t>(&bytes, [](uint16_t v) { return internal::DoubleHalf(v, 7); });
      break;
    case DataType::kFp32: internal::DoubleEach<float>(&bytes, internal::TimesTwo<float>); break;
    case DataType::kFp64: internal::DoubleEach<double>(&bytes, internal::TimesTwo<double>); break;
    default: break;
  }
  return core::Tensor::FromBytes(x.dtype(), x.shape(), std::move(bytes));
}

// What the instances of one fake model share: the record of their runs, the
// gate that can hold them, and optional hooks. Thread-safe; set the hooks
// before the first run.
class RunLog {
 public:
  struct Run {
    std::vector<core::InferInput> inputs;  // share the batch's buffers
    std::vector<std::string> output_names;
    int64_t rows = 0;  // dimension 0 of the first input
  };

  // Returns an error to fail the run with, or OK.
  std::function<core::Status(const std::vector<core::InferInput>&)> fail_if;
  // Called inside every run, e.g. to advance a ManualClock so runs take time.
  std::function<void()> during_run;

  Gate& gate() { return gate_; }

  // Runs started so far, in start order.
  std::vector<Run> runs() const {
    std::lock_guard lock(mu_);
    return runs_;
  }
  std::vector<int64_t> rows() const {
    std::lock_guard lock(mu_);
    std::vector<int64_t> out;
    for (const auto& r : runs_) out.push_back(r.rows);
    return out;
  }
  // The most runs that were ever inside Run at once.
  int max_running() const {
    std::lock_guard lock(mu_);
    return max_running_;
  }
  // Waits until at least `n` runs have started; false on time-out.
  bool WaitForRuns(size_t n) {
    std::unique_lock lock(mu_);
    return WaitFor(cv_, lock, [&] { return runs_.size() >= n; });
  }
  // Waits until `n` runs have finished; false on time-out.
  bool WaitForFinished(size_t n) {
    std::unique_lock lock(mu_);
    return WaitFor(cv_, lock, [&] { return finished_ >= n; });
  }

  // Called by RecordingInstance.
  void Enter(const std::vector<core::InferInput>& inputs, const std::vector<std::string>& names) {
    std::lock_guard lock(mu_);
    const core::Shape& shape = inputs.empty() ? core::Shape{} : inputs.front().tensor.shape();
    runs_.push_back({inputs, names, shape.empty() ? 0 : shape.front()});
    max_running_ = std::max(max_running_, ++running_);
    cv_.notify_all();
  }
  void Leave() {
    std::lock_guard lock(mu_);
    --running_;
    ++finished_;
    cv_.notify_all();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Run> runs_;
  int running_ = 0;
  int max_running_ = 0;
  size_t finished_ = 0;
  Gate gate_;
};

class RecordingInstance : public core::ModelInstance {
 public:
  RecordingInstance(core::DataType dtype, core::Shape x_shape, std::shared_ptr<RunLog> log)
      : log_(std::move(log)) {
    sig_.inputs.push_back({"x", dtype, x_shape, {}, {}});
    sig_.outputs.push_back({"y", dtype, x_shape, {}, {}});
    sig_.outputs.push_back({"z", dtype, x_shape, {}, {}});
  }
  const core::ModelSignature& signature() const override { return sig_; }

  core::Status Run(const std::vector<core::InferInput>& inputs,
                   const std::vector<std::string>& output_names,
                   std::vector<core::InferOutput>* outputs) override {
    log_->Enter(inputs, output_names);
    log_->gate().Pass();
    if (log_->during_run) log_->during_run();
    core::Status status = Compute(inputs, output_names, outputs);
    log_->Leave();
    return status;
  }

 private:
  core::Status Compute(const std::vector<core::InferInput>& inputs,
                       const std::vector<std::string>& output_names,
                       std::vector<core::InferOutput>* outputs) {
    if (log_->fail_if) RETURN_IF_ERROR(log_->fail_if(inputs));
    if (inputs.size() != 1 || inputs[0].name != "x") {
      return core::InvalidArgument("the fake model takes one input 'x'");
    }
    const core::Tensor& x = inputs[0].tensor;
    std::vector<std::string> names = output_names;
    if (names.empty()) names = {"y", "z"};
    for (const auto& name : names) {
      if (name == "y") {
        outputs->push_back({"y", Doubled(x), {}});
      } else if (name == "z") {
        outputs->push_back({"z", x, {}});
      } else {
        return core::NotFound("the fake model has no output '" + name + "'");
      }
    }
    return core::Status::Ok();
  }

  core::ModelSignature sig_;
  std::shared_ptr<RunLog> log_;
};

// Collects responses by request id. Thread-safe.
class ResponseSink {
 public:
  // A callback that stores the response under its id.
  core::ResponseCallback Callback() {
    return [this](std::unique_ptr<core::InferResponse> r) {
      std::lock_guard lock(mu_);
      ++count_;
      responses_[r->id] = std::move(r);
      cv_.notify_all();
    };
  }
  // Waits until `n` responses have arrived; false on time-out.
  bool WaitForCount(size_t n) {
    std::unique_lock lock(mu_);
    return WaitFor(cv_, lock, [&] { return count_ >= n; });
  }
  // Waits for the response to `id`; null on time-out.
  const core::InferResponse* WaitForResponse(const std::string& id) {
    std::unique_lock lock(mu_);
    if (!WaitFor(cv_, lock, [&] { return responses_.count(id) > 0; })) return nullptr;
    return responses_[id].get();
  }
  // The response to `id` if it has arrived, else null.
  const core::InferResponse* Get(const std::string& id) {
    std::lock_guard lock(mu_);
    auto it = responses_.find(id);
    return it == responses_.end() ? nullptr : it->second.get();
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return count_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t count_ = 0;  // responses received, duplicates included
  std::map<std::string, std::unique_ptr<core::InferResponse>> responses_;
};

}  // namespace infergate::testing
