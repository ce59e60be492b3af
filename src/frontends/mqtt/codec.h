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

// What an error reply says besides the message.
struct ErrorDetails {
  std::string_view id;              // the request's "id"; "" when unknown
  std::string_view correlation_id;  // the "correlation_id" request parameter; "" when none
  int64_t retry_after_ms = 0;       // > 0: an `overloaded` reply's retry hint
};

// {"error": "<message>"} plus "id" when the request had one, "retry_after_ms"
// when given and "parameters": {"correlation_id": ...} when given.
std::string EncodeError(const core::Status& status, const ErrorDetails& details = {});
inline std::string EncodeError(const core::Status& status, std::string_view id) {
  return EncodeError(status, ErrorDetails{id, "", 0});
}

// What a best-effort scan of a JSON request finds when full parsing failed
// (the payload is cut short, a later member is malformed, ...) or was not
// tried (an `overloaded` reply): the top-level "id" and the "reply_topic"
// and "correlation_id" strings of the top-level "parameters". A field is ""
// when missing, not a plain string (escapes end the scan of a value) or
// longer than kMaxScannedIdBytes (kMaxReplyTopicBytes for the topic).
inline constexpr size_t kMaxScannedIdBytes = 256;
struct ScannedFields {
  std::string id;
  std::string reply_topic;
  std::string correlation_id;
};
ScannedFields ScanReplyFields(std::string_view json);
inline std::string ScanTopLevelId(std::string_view json) { return ScanReplyFields(json).id; }

// The request parameters that steer the reply rather than the model; they
// are taken out of the request's parameters before it is submitted.
struct ReplyParameters {
  std::string reply_topic;     // "reply_topic": where the reply goes ("" = not given)
  std::string correlation_id;  // "correlation_id": echoed in the reply ("" = not given)
};
// Moves "reply_topic" and "correlation_id" out of `parameters`. Either, when
// present, must be a string: errors name the parameter.
core::StatusOr<ReplyParameters> TakeReplyParameters(core::Parameters* parameters);

}  // namespace infergate::mqtt
