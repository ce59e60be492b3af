// InferRequest and InferResponse: what every frontend decodes into and every
// frontend encodes from. No wire format reaches past these types.
//
// Ownership: a frontend builds a request and passes it on as
// std::unique_ptr<InferRequest>; from then on the receiver owns it and must
// call `on_complete` exactly once, from any thread, with the response. The
// frontend encodes the response inside that callback (or hands it to its own
// event loop); the callback must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "core/tensor.h"

namespace infergate::core {

// A KServe v2 parameter value.
using ParameterValue = std::variant<bool, int64_t, double, std::string>;
using Parameters = std::map<std::string, ParameterValue, std::less<>>;

struct InferInput {
  std::string name;
  Tensor tensor;
  Parameters parameters;
};

// Memory the client provided for an output (a registered shared memory
// region, core/shared_memory.h): the frontend writes the output's bytes there
// instead of into the reply.
struct OutputDestination {
  std::string region;            // named in the reply
  std::shared_ptr<void> owner;   // keeps the memory mapped
  uint8_t* data = nullptr;
  size_t capacity = 0;
};

struct RequestedOutput {
  std::string name;
  Parameters parameters;  // e.g. binary_data (a frontend concern)
  std::optional<OutputDestination> destination;
};

struct InferRequest;

// The destinations a request gave its outputs, taken from it before it is
// submitted: the encoder that writes them runs after the request is gone.
class OutputDestinations {
 public:
  static OutputDestinations Of(const InferRequest& request);
  // Where output `name` goes, or null when it goes into the reply.
  const OutputDestination* Find(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, OutputDestination>> list_;
};

struct InferOutput {
  std::string name;
  Tensor tensor;
  Parameters parameters;
};

struct InferResponse;
using ResponseCallback = std::function<void(std::unique_ptr<InferResponse>)>;

// Version 0 means "the newest READY version".
inline constexpr int64_t kLatestVersion = 0;

struct InferRequest {
  std::string model_name;
  int64_t model_version = kLatestVersion;
  std::string id;  // echoed in the response
  Parameters parameters;
  std::vector<InferInput> inputs;
  std::vector<RequestedOutput> outputs;  // empty: every output of the model
  std::optional<TimePoint> deadline;     // not run after this point
  TimePoint arrival{};                   // set by whoever admits the request
  ResponseCallback on_complete;          // called exactly once
};

struct InferResponse {
  Status status;  // not OK: outputs are empty and status says why
  std::string model_name;
  int64_t model_version = 0;
  std::string id;
  Parameters parameters;
  std::vector<InferOutput> outputs;
  Duration queue_time{};    // admission to the start of the batch's run
  Duration compute_time{};  // the backend's run of the batch
};

// Builds the error response for `request` (model, version and id copied).
std::unique_ptr<InferResponse> MakeErrorResponse(const InferRequest& request, Status status);

}  // namespace infergate::core
