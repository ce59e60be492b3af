#include "frontends/mqtt/codec.h"

#include "protocol/json_writer.h"
#include "protocol/v2_json.h"

namespace infergate::mqtt {
namespace {

core::StatusOr<std::unique_ptr<core::InferRequest>> DecodeRaw(
    const Route& route, std::shared_ptr<const std::string> payload) {
  auto request = std::make_unique<core::InferRequest>();
  int64_t elements = 1;
  for (int64_t d : route.raw_shape) elements *= d;
  const size_t expected = static_cast<size_t>(elements) * core::ElementSize(route.raw_dtype);
  if (payload->size() != expected) {
    return core::InvalidArgument("raw payload for input '" + route.raw_input + "' must be " +
                                 std::to_string(expected) + " bytes (" + std::to_string(elements) +
                                 " x " + std::string(core::DataTypeName(route.raw_dtype)) +
                                 ", little-endian), got " + std::to_string(payload->size()));
  }
  const void* data = payload->data();
  core::InferInput input;
  input.name = route.raw_input;
  input.tensor = core::Tensor::Borrow(route.raw_dtype, route.raw_shape, data, expected,
                                      std::shared_ptr<const void>(std::move(payload), data));
  request->inputs.push_back(std::move(input));
  return request;
}

}  // namespace

RequestDecoder::RequestDecoder() : v2_(std::make_unique<protocol::InferRequestDecoder>()) {}
RequestDecoder::~RequestDecoder() = default;

core::StatusOr<std::unique_ptr<core::InferRequest>> RequestDecoder::Decode(
    const Route& route, const Captures& captures, std::shared_ptr<const std::string> payload) {
  std::unique_ptr<core::InferRequest> request;
  if (route.format == config::PayloadFormat::kRaw) {
    ASSIGN_OR_RETURN(request, DecodeRaw(route, std::move(payload)));
  } else {
    request = std::make_unique<core::InferRequest>();
    std::string_view body = *payload;
    RETURN_IF_ERROR(v2_->Decode(body, body.size(), std::move(payload), request.get()));
  }
  request->model_name = route.ModelFor(captures);
  if (route.version != 0) request->model_version = route.version;
  return request;
}

core::StatusOr<std::string> EncodeResponse(const core::InferResponse& response) {
  protocol::EncodedBody out;
  RETURN_IF_ERROR(protocol::EncodeInferResponse(response, protocol::OutputEncoding(), &out));
  return std::move(out.body);
}

std::string EncodeError(const core::Status& status, std::string_view id) {
  if (id.empty()) return protocol::EncodeError(status.message());
  std::string body;
  protocol::JsonWriter w(&body);
  w.BeginObject();
  w.Member("error", std::string_view(status.message()));
  w.Member("id", id);
  w.EndObject();
  return body;
}

}  // namespace infergate::mqtt
