// The ONNX backend's pre-scan alone (onnx_scan.h): our own reader of the
// protobuf wire format, which sees every model file before ONNX Runtime does.
// onnx_model_load runs it too, but at ORT's pace (tens of files a second);
// this target gives the scan the millions of inputs it needs. It shares
// onnx_model_load's seed corpus.
//
// Input: the model file's bytes, scanned from memory and through a
// ByteSource (the path Load takes for files).
#include <span>

#include "backends/onnxruntime/byte_source.h"
#include "backends/onnxruntime/onnx_scan.h"
#include "fuzz/fuzz_input.h"

namespace infergate::fuzz {
namespace {

void Run(std::string_view in) {
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(in.data()), in.size());
  const ort::OnnxFileFacts facts = ort::ScanOnnxModel(bytes);
  ort::MemoryByteSource source(bytes);
  auto again = ort::ScanOnnxModel(source);
  // The same bytes give the same facts either way.
  if (!again.ok() || again->well_formed != facts.well_formed || again->malformed != facts.malformed ||
      again->sparse_dense_bytes_total != facts.sparse_dense_bytes_total) {
    __builtin_trap();
  }
}

}  // namespace
}  // namespace infergate::fuzz

INFERGATE_FUZZ_TARGET(infergate::fuzz::Run)
