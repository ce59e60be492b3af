// A minimal reader of the ONNX protobuf wire format, for what ORT's C API
// does not report. Internal to the backend; no protobuf library involved.
//
// It reads the fields it needs from a ByteSource and skips everything else
// by offset without reading it (weights, raw tensor data), so it reads a
// small part of a large file. Every read is bounds-checked against the
// enclosing message: a malformed or hostile file never reads out of bounds;
// the scan stops at the first malformed field and reports what it found up
// to there and why it stopped (ORT validates the file itself anyway). Memory
// is bounded by what the source actually delivers: strings are read in
// pieces, nothing is sized from a declared length alone.
//
// Thread-safety: pure functions over the given source.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "backends/onnxruntime/byte_source.h"
#include "core/status.h"

namespace infergate::ort {

// A sparse tensor (a graph's sparse_initializer, or a sparse value of a
// Constant node's attribute, in any graph or function of the model).
struct SparseTensorInfo {
  std::string name;              // the values tensor's name; may be empty
  int32_t data_type = 0;         // ONNX TensorProto.DataType
  std::vector<int64_t> dims;     // the dense shape
  uint64_t dense_bytes = 0;      // bytes when made dense; UINT64_MAX on overflow or negative dims
};

struct OnnxFileFacts {
  bool well_formed = false;  // every field read was valid wire format
  std::string malformed;     // when not: "byte <offset>: <what is wrong there>"
  int64_t ir_version = 0;
  std::string producer_version;
  std::map<std::string, int64_t> opsets;  // ModelProto.opset_import: domain -> version
  // doc_string of the main graph's inputs and outputs, by name (only non-empty ones).
  std::map<std::string, std::string> input_docs;
  std::map<std::string, std::string> output_docs;
  // The sparse tensor with the largest dense size, if any.
  bool has_sparse = false;
  SparseTensorInfo largest_sparse;
  // Every sparse tensor found: how many, and the sum of their dense sizes
  // (what ORT allocates for them together; UINT64_MAX on overflow).
  uint64_t sparse_count = 0;
  uint64_t sparse_dense_bytes_total = 0;
};

// Scans the serialised ModelProto in source[0, source.size()). An error only
// when the source fails (an I/O error, a file that shrank while it was
// read): bytes that are not wire format are a fact (well_formed = false).
core::StatusOr<OnnxFileFacts> ScanOnnxModel(ByteSource& source);

// The same over bytes in memory, which cannot fail.
OnnxFileFacts ScanOnnxModel(std::span<const uint8_t> bytes);

}  // namespace infergate::ort
