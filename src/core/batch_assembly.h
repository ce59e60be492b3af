// Batch assembly: which requests may share a backend run, how their inputs
// are joined along dimension 0, and how a run's outputs are handed back to
// each request. Pure functions used by the scheduler; no threads, no state.
//
// Copies: joining several requests copies their inputs once (ConcatRows); a
// batch of one request passes its tensors through untouched, and outputs are
// always zero-copy views (Tensor::SliceRows) sharing the run's output buffers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/infer.h"
#include "core/status.h"

namespace infergate::core {

// Rows a request adds to a batch: dimension 0 of its first input; 1 when it
// has no inputs or a scalar first input.
int64_t RequestRows(const InferRequest& request);

// Requests with equal keys may share a batch: the same input names with the
// same datatypes and the same dimensions after the first. The key is empty for
// a request that can only run alone (no inputs, or a scalar input).
std::string BatchKey(const InferRequest& request);

// Joins the inputs of `requests` (equal BatchKey, at least one) along
// dimension 0, in the first request's input order.
StatusOr<std::vector<InferInput>> ConcatInputs(const std::vector<const InferRequest*>& requests);

// The output names to run a batch with: empty (every output) when any request
// asks for every output, else the union of the names asked for, in the order
// first asked.
std::vector<std::string> UnionOfOutputs(const std::vector<const InferRequest*>& requests);

// OK when every output of a batch run has `rows` rows, so slicing it by
// request is meaningful. The error names the output.
Status CheckBatchOutputs(const std::vector<InferOutput>& outputs, int64_t rows);

// The outputs `request` asked for (every one when it asked for none, in the
// run's order; else in the order asked), taken from a run's `outputs`: rows
// [rows->first, rows->second) when `rows` is set, the whole tensors otherwise.
// INTERNAL when the run lacks an output the request asked for.
StatusOr<std::vector<InferOutput>> OutputsFor(const InferRequest& request,
                                              const std::vector<InferOutput>& outputs,
                                              std::optional<std::pair<int64_t, int64_t>> rows);

}  // namespace infergate::core
