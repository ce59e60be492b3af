#include "backends/onnxruntime/onnx_scan.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

namespace infergate::ort {
namespace {

// A byte range [begin, end) of the source: a message or a field's payload.
struct Range {
  uint64_t begin = 0;
  uint64_t end = 0;
};

// Protobuf wire types. Groups (3, 4) are not used by ONNX and count as malformed.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t kFixed32 = 5;

// Deeper than protobuf's own default recursion limit (100), so whatever ORT
// can parse, the scan can too.
constexpr int kMaxDepth = 128;

// Strings are read in pieces of this size, so what a string holds is
// allocated only as its bytes actually arrive.
constexpr uint64_t kStringPiece = 64 << 10;

constexpr uint64_t kSaturated = std::numeric_limits<uint64_t>::max();

// The source and why the scan stopped: the source failed (`io`) or its bytes
// are not wire format (`malformed`). The first failure stops the scan.
struct ScanInput {
  ByteSource* source;
  core::Status io;
  std::string malformed;

  bool Read(uint64_t offset, size_t n, uint8_t* out) {
    io = source->Read(offset, n, out);
    return io.ok();
  }
  bool Malformed(uint64_t offset, const std::string& what) {
    malformed = "byte " + std::to_string(offset) + ": " + what;
    return false;
  }
};

// Reads the fields of one message, a Range of the source. Never reads
// outside the range; every method returns false at the first failure.
class WireReader {
 public:
  WireReader(ScanInput* in, Range range) : in_(in), pos_(range.begin), end_(range.end) {}

  bool AtEnd() const { return pos_ == end_; }

  // Reads the next field's number and wire type.
  bool NextField(uint32_t* field, uint32_t* wire_type) {
    const uint64_t at = pos_;
    uint64_t key = 0;
    if (!ReadVarint(&key)) return false;
    if ((key >> 3) == 0 || (key >> 3) > 0x1FFFFFFF) {
      return in_->Malformed(at, "field number " + std::to_string(key >> 3) + " is out of range");
    }
    *field = static_cast<uint32_t>(key >> 3);
    *wire_type = static_cast<uint32_t>(key & 7);
    return true;
  }

  bool ReadVarint(uint64_t* out) {
    uint8_t bytes[10];
    const size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof bytes, end_ - pos_));
    if (n > 0 && !in_->Read(pos_, n, bytes)) return false;
    uint64_t value = 0;
    for (size_t i = 0; i < n; ++i) {
      value |= static_cast<uint64_t>(bytes[i] & 0x7F) << (7 * i);
      if ((bytes[i] & 0x80) == 0) {
        *out = value;
        pos_ += i + 1;
        return true;
      }
    }
    return in_->Malformed(pos_, n == sizeof bytes ? "a varint is longer than 10 bytes"
                                                  : "a varint runs past the end of its message");
  }

  bool ReadLengthDelimited(Range* out) {
    const uint64_t at = pos_;
    uint64_t length = 0;
    if (!ReadVarint(&length)) return false;
    if (length > end_ - pos_) {
      return in_->Malformed(at, "a field of " + std::to_string(length) +
                                    " bytes runs past the end of its message (" +
                                    std::to_string(end_ - pos_) + " bytes left)");
    }
    *out = Range{pos_, pos_ + length};
    pos_ += length;  // skipped by offset: the caller reads it only if it needs it
    return true;
  }

  bool Skip(uint32_t wire_type) {
    uint64_t ignored = 0;
    Range skipped;
    switch (wire_type) {
      case kVarint: return ReadVarint(&ignored);
      case kFixed64: return Advance(8);
      case kLengthDelimited: return ReadLengthDelimited(&skipped);
      case kFixed32: return Advance(4);
      default:
        return in_->Malformed(pos_, "wire type " + std::to_string(wire_type) + " is not used by ONNX");
    }
  }

 private:
  bool Advance(uint64_t n) {
    if (end_ - pos_ < n) {
      return in_->Malformed(pos_, "a fixed-size value runs past the end of its message");
    }
    pos_ += n;
    return true;
  }

  ScanInput* in_;
  uint64_t pos_;
  uint64_t end_;
};

// Reads the bytes of `range` (bounded by the source's size) as a string.
bool ReadString(ScanInput* in, Range range, std::string* out) {
  out->clear();
  for (uint64_t at = range.begin; at < range.end; at += kStringPiece) {
    const size_t n = static_cast<size_t>(std::min(kStringPiece, range.end - at));
    const size_t old_size = out->size();
    out->resize(old_size + n);
    if (!in->Read(at, n, reinterpret_cast<uint8_t*>(out->data() + old_size))) return false;
  }
  return true;
}

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

uint64_t SaturatingAdd(uint64_t a, uint64_t b) { return b > kSaturated - a ? kSaturated : a + b; }

// Walks the message types that can hold what OnnxFileFacts reports. Each
// method returns false at the first malformed field.
class Scanner {
 public:
  Scanner(ScanInput* in, OnnxFileFacts* facts) : in_(in), facts_(facts) {}

  // ModelProto: ir_version = 1, producer_version = 3, graph = 7,
  // opset_import = 8, functions = 25.
  bool Model(Range range) {
    WireReader r(in_, range);
    uint32_t field = 0, type = 0;
    while (!r.AtEnd()) {
      if (!r.NextField(&field, &type)) return false;
      Range sub;
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
        ok = ReadString(in_, sub, &facts_->producer_version);
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
  bool OpsetId(Range range) {
    WireReader r(in_, range);
    std::string domain;
    int64_t version = 0;
    uint32_t field = 0, type = 0;
    while (!r.AtEnd()) {
      if (!r.NextField(&field, &type)) return false;
      Range sub;
      uint64_t value = 0;
      if (field == 1 && type == kLengthDelimited) {
        if (!r.ReadLengthDelimited(&sub) || !ReadString(in_, sub, &domain)) return false;
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
  bool Graph(Range range, int depth, bool main) {
    if (depth > kMaxDepth) return TooDeep(range);
    return ForEachMessage(range, [&](uint32_t field, Range sub) {
      if (field == 1) return Node(sub, depth + 1);
      if (field == 15) return Sparse(sub, depth + 1);
      if (main && field == 11) return ValueInfo(sub, &facts_->input_docs);
      if (main && field == 12) return ValueInfo(sub, &facts_->output_docs);
      return true;
    });
  }

  // FunctionProto: node = 7.
  bool Function(Range range, int depth) {
    if (depth > kMaxDepth) return TooDeep(range);
    return ForEachMessage(range, [&](uint32_t field, Range sub) {
      return field == 7 ? Node(sub, depth + 1) : true;
    });
  }

  // NodeProto: attribute = 5.
  bool Node(Range range, int depth) {
    if (depth > kMaxDepth) return TooDeep(range);
    return ForEachMessage(range, [&](uint32_t field, Range sub) {
      return field == 5 ? Attribute(sub, depth + 1) : true;
    });
  }

  // AttributeProto: g = 6, graphs = 11, sparse_tensor = 22, sparse_tensors = 23.
  bool Attribute(Range range, int depth) {
    if (depth > kMaxDepth) return TooDeep(range);
    return ForEachMessage(range, [&](uint32_t field, Range sub) {
      if (field == 6 || field == 11) return Graph(sub, depth + 1, /*main=*/false);
      if (field == 22 || field == 23) return Sparse(sub, depth + 1);
      return true;
    });
  }

  // SparseTensorProto: values = 1 (TensorProto: data_type = 2, name = 8), dims = 3.
  bool Sparse(Range range, int depth) {
    if (depth > kMaxDepth) return TooDeep(range);
    SparseTensorInfo info;
    WireReader r(in_, range);
    uint32_t field = 0, type = 0;
    while (!r.AtEnd()) {
      if (!r.NextField(&field, &type)) return false;
      Range sub;
      uint64_t value = 0;
      if (field == 1 && type == kLengthDelimited) {
        if (!r.ReadLengthDelimited(&sub) || !SparseValues(sub, &info)) return false;
      } else if (field == 3 && type == kVarint) {
        if (!r.ReadVarint(&value)) return false;
        info.dims.push_back(static_cast<int64_t>(value));
      } else if (field == 3 && type == kLengthDelimited) {  // packed
        if (!r.ReadLengthDelimited(&sub)) return false;
        WireReader packed(in_, sub);
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
    facts_->sparse_count++;
    facts_->sparse_dense_bytes_total = SaturatingAdd(facts_->sparse_dense_bytes_total, info.dense_bytes);
    if (!facts_->has_sparse || info.dense_bytes > facts_->largest_sparse.dense_bytes) {
      facts_->has_sparse = true;
      facts_->largest_sparse = std::move(info);
    }
    return true;
  }

  bool SparseValues(Range range, SparseTensorInfo* info) {
    WireReader r(in_, range);
    uint32_t field = 0, type = 0;
    while (!r.AtEnd()) {
      if (!r.NextField(&field, &type)) return false;
      Range sub;
      uint64_t value = 0;
      if (field == 2 && type == kVarint) {
        if (!r.ReadVarint(&value)) return false;
        info->data_type = static_cast<int32_t>(value);
      } else if (field == 8 && type == kLengthDelimited) {
        if (!r.ReadLengthDelimited(&sub) || !ReadString(in_, sub, &info->name)) return false;
      } else if (!r.Skip(type)) {
        return false;
      }
    }
    return true;
  }

  // ValueInfoProto: name = 1, doc_string = 3.
  bool ValueInfo(Range range, std::map<std::string, std::string>* docs) {
    std::string name, doc;
    bool ok = ForEachMessage(range, [&](uint32_t field, Range sub) {
      if (field == 1) return ReadString(in_, sub, &name);
      if (field == 3) return ReadString(in_, sub, &doc);
      return true;
    });
    if (ok && !doc.empty()) (*docs)[name] = std::move(doc);
    return ok;
  }

  // Calls fn(field, bytes) for every length-delimited field; skips the rest.
  template <typename Fn>
  bool ForEachMessage(Range range, Fn&& fn) {
    WireReader r(in_, range);
    uint32_t field = 0, type = 0;
    while (!r.AtEnd()) {
      if (!r.NextField(&field, &type)) return false;
      if (type != kLengthDelimited) {
        if (!r.Skip(type)) return false;
        continue;
      }
      Range sub;
      if (!r.ReadLengthDelimited(&sub) || !fn(field, sub)) return false;
    }
    return true;
  }

  bool TooDeep(Range range) {
    return in_->Malformed(range.begin, "messages nest deeper than " + std::to_string(kMaxDepth));
  }

  ScanInput* in_;
  OnnxFileFacts* facts_;
};

}  // namespace

core::StatusOr<OnnxFileFacts> ScanOnnxModel(ByteSource& source) {
  OnnxFileFacts facts;
  ScanInput in{&source, core::Status::Ok(), {}};
  facts.well_formed = Scanner(&in, &facts).Model(Range{0, source.size()});
  if (!in.io.ok()) return in.io;
  facts.malformed = std::move(in.malformed);
  return facts;
}

OnnxFileFacts ScanOnnxModel(std::span<const uint8_t> bytes) {
  MemoryByteSource source(bytes);
  core::StatusOr<OnnxFileFacts> facts = ScanOnnxModel(source);
  if (facts.ok()) return std::move(facts).value();
  OnnxFileFacts failed;  // not reached: the scan never reads past the end
  failed.malformed = facts.status().message();
  return failed;
}

}  // namespace infergate::ort
