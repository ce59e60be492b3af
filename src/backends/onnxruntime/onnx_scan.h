// A minimal reader of the ONNX protobuf wire format, for what ORT's C API
// does not report. Internal to the backend; no protobuf library involved.
//
// It walks the fields it needs and skips everything else by length, so it
// touches only a small part of a large file. Every read is bounds-checked:
// a malformed or hostile file never reads out of bounds; the scan stops at
// the first malformed field and reports what it found up to there (ORT
// validates the file itself anyway).
//
// Thread-safety: pure function over the given bytes.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

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
  int64_t ir_version = 0;
  std::string producer_version;
  std::map<std::string, int64_t> opsets;  // ModelProto.opset_import: domain -> version
  // doc_string of the main graph's inputs and outputs, by name (only non-empty ones).
  std::map<std::string, std::string> input_docs;
  std::map<std::string, std::string> output_docs;
  // The sparse tensor with the largest dense size, if any.
  bool has_sparse = false;
  SparseTensorInfo largest_sparse;
};

// Scans a serialised ModelProto.
OnnxFileFacts ScanOnnxModel(std::span<const uint8_t> bytes);

}  // namespace infergate::ort
