// The rule of a model's `escalate:` section, evaluated on the local answer.
//
// What is scored: the device contract's result output when the model has a
// contract, else the model's first output (the response's first output when
// the client asked for others only). Per batch item (row along dimension 0
// when the model batches, else the whole tensor is one item):
//   score_below: X  fires when some item's score, its highest value, is < X;
//   label_in: [..]  fires when some item's top label (argmax; the contract's
//                   labels name the classes, else "0", "1", ...) is listed;
//   always: true    fires on every OK answer.
// An answer whose output cannot be read as numbers never fires.
//
// Thread-safety: a pure function.
#pragma once

#include "core/infer.h"
#include "core/model_config.h"

namespace infergate::engine {

// Precondition: config.escalate is set and response.status is OK.
bool ShouldEscalate(const core::ModelConfig& config, const core::InferResponse& response);

}  // namespace infergate::engine
