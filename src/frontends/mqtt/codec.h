// Payload <-> core types for MQTT messages. v2 JSON goes through the shared
// KServe v2 codec (src/protocol), so a payload means the same over MQTT as an
// HTTP body; `raw` payloads are little-endian tensor bytes whose name, type
// and shape the route gives.
//
// Thread-safety: a RequestDecoder is used by one thread (the MQTT network
// thread); the free functions are pure.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/infer.h"
#include "core/status.h"
#include "frontends/mqtt/route.h"

namespace infergate::protocol {
class InferRequestDecoder;
}

namespace infergate::mqtt {

class RequestDecoder {
 public:
  RequestDecoder();
  ~RequestDecoder();
  RequestDecoder(const RequestDecoder&) = delete;
  RequestDecoder& operator=(const RequestDecoder&) = delete;

  // Builds the request a message on `route` asks for: the model (and
  // version) come from the route and the topic, the rest from the payload.
  // Tensors may borrow `payload`. Errors say what is wrong with the payload.
  core::StatusOr<std::unique_ptr<core::InferRequest>> Decode(
      const Route& route, const Captures& captures, std::shared_ptr<const std::string> payload);

 private:
  std::unique_ptr<protocol::InferRequestDecoder> v2_;
};

// The v2 JSON response body, every output as JSON data (the same as over HTTP).
core::StatusOr<std::string> EncodeResponse(const core::InferResponse& response);

// {"error": "<message>"} plus "id" when the request had one.
std::string EncodeError(const core::Status& status, std::string_view id);

}  // namespace infergate::mqtt
