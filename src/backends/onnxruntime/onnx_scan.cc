#include "backends/onnxruntime/onnx_scan.h"

#include <limits>
#include <string_view>

namespace infergate::ort {
namespace {

using Bytes = std::span<const uint8_t>;

// Protobuf wire types. Groups (3, 4) are not used by ONNX and count as malformed.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t kFixed32 = 5;

// Deeper than protobuf's own default recursion limit (100), so whatever ORT
// can parse, the scan can too.
constexpr int kMaxDepth = 128;

constexpr uint64_t kSaturated = std::numeric_limits<uint64_t>::max();

class WireReader {
 public:
  explicit WireReader(Bytes bytes) : pos_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  bool AtEnd() const { return pos_ == end_; }

  // Reads the next field's number and wire type.
  bool NextField(uint32_t* field, uint32_t* wire_type) {
    uint64_t key = 0;
    if (!ReadVarint(&key) || (key >> 3) == 0 || (key >> 3) > 0x1FFFFFFF) return false;
    *field = static_cast<uint32_t>(key >> 3);
    *wire_type = static_cast<uint32_t>(key & 7);
    return true;
  }

  bool ReadVarint(uint64_t* out) {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ == end_) return false;
      uint8_t byte = *pos_++;
      value |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) {
        *out = value;
        return true;
      }
    }
    return false;  // more than 10 bytes
  }

  bool ReadLengthDelimited(Bytes* out) {
    uint64_t length = 0;
    if (!ReadVarint(&length) || length > static_cast<uint64_t>(end_ - pos_)) return false;
    *out = Bytes(pos_, static_cast<size_t>(length));
    pos_ += length;
    return true;
  }

  bool Skip(uint32_t wire_type) {
    uint64_t ignored = 0;
    Bytes skipped;
    switch (wire_type) {
      case kVarint: return ReadVarint(&ignored);
      case kFixed64: return Advance(8);
      case kLengthDelimited: return ReadLengthDelimited(&skipped);
      case kFixed32: return Advance(4);
      default: return false;
    }
  }

 private:
  bool Advance(size_t n) {
    if (static_cast<size_t>(end_ - pos_) < n) return false;
    pos_ += n;
    return true;
  }

  const uint8_t* pos_;
  const uint8_t* end_;
};

std::string AsString(Bytes b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

// Bytes per element of an ONNX data type as ORT holds it in memory (a string
// element is a std::string object).
uint64_t ElementBytes(int32_t data_type) {
  switch (data_type) {
    case 1: case 6: case 12: return 4;             // float, int32, uint32
    case 4: case 5: case 10: case 16: return 2;    // uint16, int16, float16, bfloat16
    case 7: case 11: case 13: case 14: return 8;   // int64, double, uint64, complex64
    case 15: return 16;                            // complex128
    case 8: return sizeof(std::string);            // string
    default: return 1;                             // 8-bit, bool, float8, 4-bit
  }
}

uint64_t SaturatingMul(uint64_t a, uint64_t b) {
  if (a != 0 && b > kSaturated / a) return kSaturated;
  return a * b;
}

// Walks the message types that can hold what OnnxFileFacts reports. Each
// method returns false at the first malformed field.
class Scanner {
 public:
  explicit Scanner(OnnxFileFacts* facts) : facts_(facts) {}

  // ModelProto: ir_version = 1, producer_version = 3, graph = 7,
  // opset_import = 8, functions = 25.
  bool Model(Bytes bytes) {
    WireReader r(bytes);
    uint32_t field = 0, type = 0;
    while (!r.AtEnd()) {
      if (!r.NextField(&field, &type)) return false;
      Bytes sub;
      uint64_t value = 0;
      bool ok = true;
      if (field == 1 && type == kVarint) {
        ok = r.ReadVarint(&value);
        facts_->ir_version = static_cast<int64_t>(value);
      } else if (type != kLengthDelimited) {
        ok = r.Skip(type);
      } else if (!r.ReadLengthDelimited(&sub)) {
        ok = false;
      } else if (field == 3) {
        facts_->producer_version = AsString(sub);
      } else if (field == 7) {
        ok = Graph(sub, 1, /*main=*/true);
      } else if (field == 8) {
        ok = OpsetId(sub);
      } else if (field == 25) {
        ok = Function(sub, 1);
      }
      if (!ok) return false;
    }
    return true;
  }

 private:
  bool OpsetId(Bytes bytes) {
    WireReader r(bytes);
    std::string domain;
    int64_t version = 0;
    uint32_t field = 0, type = 0;
    while (!r.AtEnd()) {
      if (!r.NextField(&field, &type)) return false;
      Bytes sub;
      uint64_t value = 0;
      if (field == 1 && type == kLengthDelimited) {
        if (!r.ReadLengthDelimited(&sub)) return false;
        domain = AsString(sub);
      } else if (field == 2 && type == kVarint) {
        if (!r.ReadVarint(&value)) return false;
        version = static_cast<int64_t>(value);
      } else if (!r.Skip(type)) {
        return false;
      }
    }
    if (domain == "ai.onnx") domain.clear();  // both spellings name the default domain
    facts_->opsets[domain] = version;
    return true;
  }

  // GraphProto: node = 1, input = 11, output = 12, sparse_initializer = 15.
  bool Graph(Bytes bytes, int depth, bool main) {
    if (depth > kMaxDepth) return false;
    return ForEachMessage(bytes, [&](uint32_t field, Bytes sub) {
      if (field == 1) return Node(sub, depth + 1);
      if (field == 15) return Sparse(sub, depth + 1);
      if (main && field == 11) return ValueInfo(sub, &facts_->input_docs);
      if (main && field == 12) return ValueInfo(sub, &facts_->output_docs);
      return true;
    });
  }

  // FunctionProto: node = 7.
  bool Function(Bytes bytes, int depth) {
    if (depth > kMaxDepth) return false;
    return ForEachMessage(bytes, [&](uint32_t field, Bytes sub) {
      return field == 7 ? Node(sub, depth + 1) : true;
    });
  }

  // NodeProto: attribute = 5.
  bool Node(Bytes bytes, int depth) {
    if (depth > kMaxDepth) return false;
    return ForEachMessage(bytes, [&](uint32_t field, Bytes sub) {
      return field == 5 ? Attribute(sub, depth + 1) : true;
    });
  }

  // AttributeProto: g = 6, graphs = 11, sparse_tensor = 22, sparse_tensors = 23.
  bool Attribute(Bytes bytes, int depth) {
    if (depth > kMaxDepth) return false;
    return ForEachMessage(bytes, [&](uint32_t field, Bytes sub) {
      if (field == 6 || field == 11) return Graph(sub, depth + 1, /*main=*/false);
      if (field == 22 || field == 23) return Sparse(sub, depth + 1);
      return true;
    });
  }

  // SparseTensorProto: values = 1 (TensorProto: data_type = 2, name = 8), dims = 3.
  bool Sparse(Bytes bytes, int depth) {
    if (depth > kMaxDepth) return false;
    SparseTensorInfo info;
    WireReader r(bytes);
    uint32_t field = 0, type = 0;
    while (!r.AtEnd()) {
      if (!r.NextField(&field, &type)) return false;
      Bytes sub;
      uint64_t value = 0;
      if (field == 1 && type == kLengthDelimited) {
        if (!r.ReadLengthDelimited(&sub) || !SparseValues(sub, &info)) return false;
      } else if (field == 3 && type == kVarint) {
        if (!r.ReadVarint(&value)) return false;
        info.dims.push_back(static_cast<int64_t>(value));
      } else if (field == 3 && type == kLengthDelimited) {  // packed
        if (!r.ReadLengthDelimited(&sub)) return false;
        WireReader packed(sub);
        while (!packed.AtEnd()) {
          if (!packed.ReadVarint(&value)) return false;
          info.dims.push_back(static_cast<int64_t>(value));
        }
      } else if (!r.Skip(type)) {
        return false;
      }
    }
    info.dense_bytes = ElementBytes(info.data_type);
    for (int64_t d : info.dims) {
      info.dense_bytes = d < 0 ? kSaturated : SaturatingMul(info.dense_bytes, static_cast<uint64_t>(d));
    }
    if (!facts_->has_sparse || info.dense_bytes > facts_->largest_sparse.dense_bytes) {
      facts_->has_sparse = true;
      facts_->largest_sparse = std::move(info);
    }
    return true;
  }

  static bool SparseValues(Bytes bytes, SparseTensorInfo* info) {
    WireReader r(bytes);
    uint32_t field = 0, type = 0;
    while (!r.AtEnd()) {
      if (!r.NextField(&field, &type)) return false;
      Bytes sub;
      uint64_t value = 0;
      if (field == 2 && type == kVarint) {
        if (!r.ReadVarint(&value)) return false;
        info->data_type = static_cast<int32_t>(value);
      } else if (field == 8 && type == kLengthDelimited) {
        if (!r.ReadLengthDelimited(&sub)) return false;
        info->name = AsString(sub);
      } else if (!r.Skip(type)) {
        return false;
      }
    }
    return true;
  }

  // ValueInfoProto: name = 1, doc_string = 3.
  static bool ValueInfo(Bytes bytes, std::map<std::string, std::string>* docs) {
    std::string name, doc;
    bool ok = ForEachMessage(bytes, [&](uint32_t field, Bytes sub) {
      if (field == 1) name = AsString(sub);
      if (field == 3) doc = AsString(sub);
      return true;
    });
    if (ok && !doc.empty()) (*docs)[name] = std::move(doc);
    return ok;
  }

  // Calls fn(field, bytes) for every length-delimited field; skips the rest.
  template <typename Fn>
  static bool ForEachMessage(Bytes bytes, Fn&& fn) {
    WireReader r(bytes);
    uint32_t field = 0, type = 0;
    while (!r.AtEnd()) {
      if (!r.NextField(&field, &type)) return false;
      if (type != kLengthDelimited) {
        if (!r.Skip(type)) return false;
        continue;
      }
      Bytes sub;
      if (!r.ReadLengthDelimited(&sub) || !fn(field, sub)) return false;
    }
    return true;
  }

  OnnxFileFacts* facts_;
};

}  // namespace

OnnxFileFacts ScanOnnxModel(std::span<const uint8_t> bytes) {
  OnnxFileFacts facts;
  facts.well_formed = Scanner(&facts).Model(bytes);
  return facts;
}

}  // namespace infergate::ort
