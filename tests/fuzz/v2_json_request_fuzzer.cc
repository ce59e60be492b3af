// KServe v2 JSON inference requests as the HTTP and MQTT frontends decode
// them (protocol::InferRequestDecoder, with the binary data extension and
// two registered shared memory regions, "r" and "r2"), then checked against
// a model's configuration as the dispatcher does, and the decoded inputs
// encoded back as a response (outputs named in shared memory written there).
//
// Input: byte 0 selects how the body is owned (bit 0: a std::string owner,
// parsed in place when there is room; bit 1: memory of another kind with
// 64 spare bytes; neither: no owner, copied). Bytes 1-2 (little-endian) are
// the Inference-Header-Content-Length (0xffff: absent, the whole body is
// JSON); the rest is the body: JSON, then the binary inputs.
#include <cstdint>
#include <memory>
#include <string>

#include "core/dispatcher.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/request_model.h"
#include "protocol/v2_json.h"

namespace infergate::fuzz {
namespace {

void DecodeOne(std::string_view in) {
  const uint8_t flags = TakeByte(&in);
  const uint8_t low = TakeByte(&in);
  const uint16_t header = static_cast<uint16_t>(low | (TakeByte(&in) << 8));
  const size_t json_length = header == 0xffff ? in.size() : header;

  static protocol::InferRequestDecoder& decoder = []() -> protocol::InferRequestDecoder& {
    static protocol::InferRequestDecoder d;
    d.set_shared_memory(SharedMemory());
    return d;
  }();
  core::InferRequest request;
  core::Status st;
  if (flags & 1) {
    auto owner = std::make_shared<std::string>(in);
    owner->reserve(owner->size() + 64);
    st = decoder.Decode(*owner, json_length, std::shared_ptr<const std::string>(owner), &request);
  } else if (flags & 2) {
    auto owner = std::make_shared<std::string>(in);
    owner->append(64, '\0');
    const std::string_view body(owner->data(), in.size());
    st = decoder.Decode(body, json_length, std::shared_ptr<const void>(owner), 64, &request);
  } else {
    const std::string copy(in);  // exactly the body: ASan sees any read past it
    st = decoder.Decode(copy, json_length, std::shared_ptr<const std::string>(), &request);
  }
  if (!st.ok()) return;

  request.model_name = "m";
  static const core::ModelConfig model = RequestModel();
  (void)core::ValidateRequest(model, request);
  const auto encoding = protocol::OutputEncoding::ForRequest(request);

  const core::InferResponse response = EchoResponse(request);  // the encoder over what decoded
  protocol::EncodedBody body;
  (void)protocol::EncodeInferResponse(response, encoding, &body);
}

}  // namespace
}  // namespace infergate::fuzz

INFERGATE_FUZZ_TARGET(infergate::fuzz::DecodeOne)
