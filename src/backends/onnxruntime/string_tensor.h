// BYTES tensors <-> ORT string tensors. Internal to the backend.
//
// core keeps BYTES elements length-prefixed in one buffer (see
// core/tensor.h); ORT keeps a std::string per element. Both directions copy,
// and both are binary-safe (elements may hold NUL bytes and any encoding).
//
// These functions throw Ort::Exception on ORT errors: call them inside
// CallGuarded (ort_status.h). Thread-safety: pure functions.
#pragma once

#include <onnxruntime_cxx_api.h>

#include "core/tensor.h"

namespace infergate::ort {

// A new ORT string tensor with `tensor`'s shape and elements, allocated by
// `allocator`. Precondition: tensor.Validate() passed (a BYTES tensor whose
// elements agree with its shape).
Ort::Value MakeOrtStringTensor(const core::Tensor& tensor, OrtAllocator* allocator);

// A new owned BYTES tensor of shape `shape` holding `value`'s elements.
// Precondition: `value` is a string tensor of shape `shape`.
core::Tensor CopyOrtStringTensor(const Ort::Value& value, core::Shape shape);

}  // namespace infergate::ort
