// A tiny protobuf writer for building ONNX models byte by byte in tests:
// hostile files (sparse tensors that expand to gigabytes, types infergate
// refuses, deep nesting) that the committed test models do not cover.
// Field numbers follow onnx/onnx.proto.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace infergate::testing {

class ProtoWriter {
 public:
  ProtoWriter& Varint(uint32_t field, uint64_t value) {
    Key(field, 0);
    RawVarint(value);
    return *this;
  }
  ProtoWriter& Bytes(uint32_t field, std::string_view bytes) {
    Key(field, 2);
    RawVarint(bytes.size());
    out_.append(bytes);
    return *this;
  }
  // The key and length of a length-delimited field whose `length` bytes the
  // caller writes after str() itself (to stream a large message).
  ProtoWriter& Header(uint32_t field, uint64_t length) {
    Key(field, 2);
    RawVarint(length);
    return *this;
  }
  ProtoWriter& Message(uint32_t field, const ProtoWriter& message) {
    return Bytes(field, message.str());
  }
  ProtoWriter& PackedVarints(uint32_t field, const std::vector<int64_t>& values) {
    ProtoWriter packed;
    for (int64_t v : values) packed.RawVarint(static_cast<uint64_t>(v));
    return Bytes(field, packed.str());
  }
  const std::string& str() const { return out_; }

 private:
  void Key(uint32_t field, uint32_t wire_type) { RawVarint((uint64_t{field} << 3) | wire_type); }
  void RawVarint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  std::string out_;
};

namespace onnx {

// ONNX TensorProto.DataType codes used by the tests.
inline constexpr int kFloat = 1;
inline constexpr int kInt64 = 7;
inline constexpr int kComplex64 = 14;
inline constexpr int kFloat8E4M3FN = 17;

// TypeProto of a tensor; a negative dim i becomes the symbolic dim
// "<prefix><i>" ("d0", "d1", ...).
inline ProtoWriter TensorType(int elem_type, const std::vector<int64_t>& dims,
                              const std::string& prefix = "d") {
  ProtoWriter shape;
  for (size_t i = 0; i < dims.size(); ++i) {
    ProtoWriter dim;
    if (dims[i] < 0) {
      dim.Bytes(2, prefix + std::to_string(i));
    } else {
      dim.Varint(1, static_cast<uint64_t>(dims[i]));
    }
    shape.Message(1, dim);
  }
  ProtoWriter tensor;
  tensor.Varint(1, static_cast<uint64_t>(elem_type)).Message(2, shape);
  return ProtoWriter().Message(1, tensor);
}

// TypeProto of a sequence of `element` types.
inline ProtoWriter SequenceType(const ProtoWriter& element) {
  return ProtoWriter().Message(4, ProtoWriter().Message(1, element));
}

inline ProtoWriter ValueInfo(std::string_view name, const ProtoWriter& type,
                             std::string_view doc = {}) {
  ProtoWriter v;
  v.Bytes(1, name).Message(2, type);
  if (!doc.empty()) v.Bytes(3, doc);
  return v;
}

inline ProtoWriter Node(std::string_view op_type, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs,
                        const std::vector<ProtoWriter>& attributes = {}) {
  ProtoWriter n;
  for (const auto& i : inputs) n.Bytes(1, i);
  for (const auto& o : outputs) n.Bytes(2, o);
  n.Bytes(4, op_type);
  for (const auto& a : attributes) n.Message(5, a);
  return n;
}

// A dense TensorProto with int64 data.
inline ProtoWriter Int64Tensor(std::string_view name, const std::vector<int64_t>& dims,
                               const std::vector<int64_t>& values) {
  ProtoWriter t;
  t.PackedVarints(1, dims).Varint(2, kInt64).PackedVarints(7, values).Bytes(8, name);
  return t;
}

// A SparseTensorProto of one float value at flat index 0 with dense shape `dims`.
inline ProtoWriter SparseFloat(std::string_view name, const std::vector<int64_t>& dims,
                               bool packed_dims = false) {
  ProtoWriter values;
  values.PackedVarints(1, {1}).Varint(2, kFloat).Bytes(8, name);
  values.Bytes(9, std::string(4, '\0'));  // raw_data: 0.0f
  ProtoWriter indices;
  indices.PackedVarints(1, {1}).Varint(2, kInt64).PackedVarints(7, {0});
  ProtoWriter sparse;
  sparse.Message(1, values).Message(2, indices);
  if (packed_dims) {
    sparse.PackedVarints(3, dims);
  } else {
    for (int64_t d : dims) sparse.Varint(3, static_cast<uint64_t>(d));
  }
  return sparse;
}

// A float TensorProto "<name>" of shape [floats] whose data lives in an
// external file at `location` (relative to the model's folder, as ONNX says).
inline ProtoWriter ExternalFloatTensor(std::string_view name, int64_t floats, std::string_view location) {
  ProtoWriter t;
  t.PackedVarints(1, {floats}).Varint(2, kFloat).Bytes(8, name);
  t.Message(13, ProtoWriter().Bytes(1, "location").Bytes(2, location));
  t.Message(13, ProtoWriter().Bytes(1, "length").Bytes(2, std::to_string(floats * 4)));
  return t.Varint(14, 1);  // data_location: EXTERNAL
}

struct GraphParts {
  std::string name = "g";
  std::vector<ProtoWriter> nodes;
  std::vector<ProtoWriter> inputs;
  std::vector<ProtoWriter> outputs;
  std::vector<ProtoWriter> initializers;
  std::vector<ProtoWriter> sparse_initializers;
};

inline ProtoWriter Graph(const GraphParts& parts) {
  ProtoWriter g;
  for (const auto& n : parts.nodes) g.Message(1, n);
  g.Bytes(2, parts.name);
  for (const auto& t : parts.initializers) g.Message(5, t);
  for (const auto& i : parts.inputs) g.Message(11, i);
  for (const auto& o : parts.outputs) g.Message(12, o);
  for (const auto& s : parts.sparse_initializers) g.Message(15, s);
  return g;
}

// A serialised ModelProto importing `opsets` (domain, version).
inline std::string Model(const ProtoWriter& graph,
                         const std::vector<std::pair<std::string, int64_t>>& opsets = {{"", 17}},
                         int64_t ir_version = 8) {
  ProtoWriter m;
  m.Varint(1, static_cast<uint64_t>(ir_version)).Bytes(2, "infergate-tests").Bytes(3, "2");
  for (const auto& [domain, version] : opsets) {
    m.Message(8, ProtoWriter().Bytes(1, domain).Varint(2, static_cast<uint64_t>(version)));
  }
  m.Message(7, graph);
  return m.str();
}

// A float TensorProto "<name>" of shape [floats] whose raw_data holds `floats` zeros.
inline ProtoWriter ZeroFloatTensor(std::string_view name, int64_t floats) {
  ProtoWriter t;
  t.PackedVarints(1, {floats}).Varint(2, kFloat).Bytes(8, name);
  return t.Bytes(9, std::string(static_cast<size_t>(floats) * 4, '\0'));
}

// Streams to `out` a model like Model(Graph(parts), opsets) that also holds
// `count` float initializers "w0", "w1", ... of `floats` zeros each, laid out
// as onnx serialises a large model: the weights between the graph's nodes
// and its inputs and outputs, the opset imports after the graph. Builds one
// initializer at a time, so a model of any size takes little memory.
inline void WriteModelWithWeights(
    std::ostream& out, const GraphParts& parts, int count, int64_t floats,
    const std::vector<std::pair<std::string, int64_t>>& opsets = {{"", 17}}) {
  GraphParts head = parts, tail;
  head.inputs.clear();
  head.outputs.clear();
  head.sparse_initializers.clear();
  tail.inputs = parts.inputs;
  tail.outputs = parts.outputs;
  tail.sparse_initializers = parts.sparse_initializers;
  const std::string head_bytes = Graph(head).str();
  std::string tail_bytes = Graph(tail).str();
  tail_bytes.erase(0, ProtoWriter().Bytes(2, tail.name).str().size());  // Graph() wrote a name
  const auto weight = [&](int i) {
    return ProtoWriter().Message(5, ZeroFloatTensor("w" + std::to_string(i), floats));
  };
  uint64_t graph_size = head_bytes.size() + tail_bytes.size();
  for (int i = 0; i < count; ++i) graph_size += weight(i).str().size();

  ProtoWriter model;
  model.Varint(1, 8).Bytes(2, "infergate-tests").Bytes(3, "2").Header(7, graph_size);
  out << model.str() << head_bytes;
  for (int i = 0; i < count; ++i) out << weight(i).str();
  out << tail_bytes;
  for (const auto& [domain, version] : opsets) {
    ProtoWriter opset;
    opset.Bytes(1, domain).Varint(2, static_cast<uint64_t>(version));
    out << ProtoWriter().Message(8, opset).str();
  }
}

}  // namespace onnx

}  // namespace infergate::testing
