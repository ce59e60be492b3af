// A Backend whose "model files" are small text files naming a signature, so
// repository and scheduler tests run without ONNX Runtime.
//
// File format (one line): "<dtype> <input> <output> <dims...>", e.g.
// "FP32 x y -1 4": input x and output y of FP32 [-1,4]. Run copies x to y,
// or fails with the file's content when the line is "FAIL <message>".
// A file starting with "BROKEN" fails to load.
//
// Every instance a FakeBackend loads passes its `gate` on each Run, so a test
// can hold runs in flight (gate->Close()) and wait for them to arrive
// (gate->WaitForWaiting(n)). The gate is open unless a test closes it.
#pragma once

#include <atomic>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "core/model.h"
#include "testing/gate.h"

namespace infergate::testing {

class FakeInstance : public core::ModelInstance {
 public:
  explicit FakeInstance(core::ModelSignature sig, std::shared_ptr<Gate> gate = nullptr)
      : sig_(std::move(sig)), gate_(std::move(gate)) {}
  const core::ModelSignature& signature() const override { return sig_; }
  core::Status Run(const std::vector<core::InferInput>& inputs, const std::vector<std::string>&,
                   std::vector<core::InferOutput>* outputs) override {
    RETURN_IF_ERROR(core::ValidateInputs(sig_.inputs, inputs));
    if (gate_) gate_->Pass();
    runs.fetch_add(1);
    outputs->push_back({sig_.outputs[0].name, inputs[0].tensor, {}});
    return core::Status::Ok();
  }
  std::atomic<int> runs{0};

 private:
  core::ModelSignature sig_;
  std::shared_ptr<Gate> gate_;
};

class FakeBackend : public core::Backend {
 public:
  std::string_view name() const override { return "fake"; }
  std::string version() const override { return "fake 1"; }
  // Serves the model.onnx files of test repositories under ONNX Runtime's names.
  std::vector<std::string> platforms() const override { return {"onnxruntime_onnx"}; }
  std::vector<std::string> file_extensions() const override { return {".onnx"}; }
  core::StatusOr<std::unique_ptr<core::ModelInstance>> Load(const std::filesystem::path& file,
                                                            const core::RuntimeOptions&) override {
    loads.fetch_add(1);
    std::ifstream in(file);
    std::string dtype, input, output;
    if (!(in >> dtype >> input >> output) || dtype == "BROKEN") {
      return core::InvalidArgument(file.string() + ": not a model");
    }
    core::ModelSignature sig;
    core::Shape shape;
    int64_t d;
    while (in >> d) shape.push_back(d);
    sig.inputs.push_back({input, core::DataTypeFromName(dtype), shape, {}, {}});
    sig.outputs.push_back({output, core::DataTypeFromName(dtype), shape, {}, {}});
    return std::unique_ptr<core::ModelInstance>(new FakeInstance(std::move(sig), gate));
  }
  std::atomic<int> loads{0};
  const std::shared_ptr<Gate> gate = std::make_shared<Gate>();
};

}  // namespace infergate::testing
