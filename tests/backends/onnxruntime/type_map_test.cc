#include "backends/onnxruntime/type_map.h"

#include <gtest/gtest.h>

namespace infergate::ort {
namespace {

using core::DataType;

TEST(TypeMapTest, EveryCoreTypeRoundTrips) {
  for (DataType type : core::kAllDataTypes) {
    ONNXTensorElementDataType onnx = OnnxFromDataType(type);
    EXPECT_NE(onnx, ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED) << core::DataTypeName(type);
    EXPECT_EQ(DataTypeFromOnnx(onnx), type) << core::DataTypeName(type);
  }
}

TEST(TypeMapTest, MapsTheTypesWhoseNamesDiffer) {
  EXPECT_EQ(DataTypeFromOnnx(ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT), DataType::kFp32);
  EXPECT_EQ(DataTypeFromOnnx(ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE), DataType::kFp64);
  EXPECT_EQ(DataTypeFromOnnx(ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16), DataType::kFp16);
  EXPECT_EQ(DataTypeFromOnnx(ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16), DataType::kBf16);
  EXPECT_EQ(DataTypeFromOnnx(ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING), DataType::kBytes);
  EXPECT_EQ(DataTypeFromOnnx(ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL), DataType::kBool);
  EXPECT_EQ(DataTypeFromOnnx(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64), DataType::kUint64);
  EXPECT_EQ(DataTypeFromOnnx(ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8), DataType::kInt8);
}

TEST(TypeMapTest, OnnxTypesWithoutACoreCounterpartAreInvalid) {
  for (auto type : {ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED, ONNX_TENSOR_ELEMENT_DATA_TYPE_COMPLEX64,
                    ONNX_TENSOR_ELEMENT_DATA_TYPE_COMPLEX128,
                    ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN,
                    ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FNUZ,
                    ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E5M2,
                    ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E5M2FNUZ, ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT4,
                    ONNX_TENSOR_ELEMENT_DATA_TYPE_INT4}) {
    EXPECT_EQ(DataTypeFromOnnx(type), DataType::kInvalid) << OnnxElementTypeName(type);
  }
  // A code a newer runtime may report (float4e2m1 is 23).
  EXPECT_EQ(DataTypeFromOnnx(static_cast<ONNXTensorElementDataType>(23)), DataType::kInvalid);
  EXPECT_EQ(OnnxFromDataType(DataType::kInvalid), ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED);
}

TEST(TypeMapTest, NamesFollowOnnx) {
  EXPECT_EQ(OnnxElementTypeName(ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT), "float");
  EXPECT_EQ(OnnxElementTypeName(ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16), "bfloat16");
  EXPECT_EQ(OnnxElementTypeName(ONNX_TENSOR_ELEMENT_DATA_TYPE_COMPLEX64), "complex64");
  EXPECT_EQ(OnnxElementTypeName(ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E5M2FNUZ), "float8e5m2fnuz");
  EXPECT_EQ(OnnxElementTypeName(ONNX_TENSOR_ELEMENT_DATA_TYPE_INT4), "int4");
  EXPECT_EQ(OnnxElementTypeName(999), "element type 999");
  EXPECT_EQ(OnnxElementTypeName(-1), "element type -1");
  EXPECT_EQ(OnnxValueKindName(ONNX_TYPE_SEQUENCE), "sequence");
  EXPECT_EQ(OnnxValueKindName(ONNX_TYPE_MAP), "map");
  EXPECT_EQ(OnnxValueKindName(ONNX_TYPE_TENSOR), "tensor");
}

}  // namespace
}  // namespace infergate::ort
