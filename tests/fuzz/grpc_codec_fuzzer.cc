// What the gRPC frontend parses from the wire below HTTP/2: the
// length-prefixed message framing and the grpc-timeout header (wire.h), and
// ModelInferRequest messages decoded into core requests (codec.h; shared
// memory regions "r" and "r2" are registered), checked against a model's
// configuration, with the decoded inputs encoded back as a
// ModelInferResponse in the form the request asks for.
//
// Input: byte 0 even: the rest is a serialized ModelInferRequest. Byte 0
// odd: the rest is "<grpc-timeout value>\n<DATA bytes>", the DATA bytes fed
// to a MessageReader in chunks whose sizes come from byte 0.
#include <memory>
#include <string>

#include "core/dispatcher.h"
#include "frontends/grpc/codec.h"
#include "frontends/grpc/wire.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/request_model.h"

namespace infergate::fuzz {
namespace {

void Encode(const core::InferRequest& request, const grpc_frontend::ResponseEncoding& encoding) {
  inference::ModelInferResponse out;
  if (!grpc_frontend::EncodeInferResponse(EchoResponse(request), encoding, &out).ok()) return;
  std::string framed;
  (void)grpc_frontend::AppendMessage(out, 64 << 20, &framed);
}

void Infer(std::string_view in) {
  auto wire = std::make_shared<inference::ModelInferRequest>();
  if (!wire->ParseFromArray(in.data(), static_cast<int>(in.size()))) return;
  (void)grpc_frontend::ParseVersion(wire->model_version());
  const grpc_frontend::InputLimits limits;

  core::InferRequest copied;  // the copying decode
  (void)grpc_frontend::DecodeInferRequest(*wire, limits, SharedMemory(), &copied);

  core::InferRequest request;  // the borrowing decode, as the service does it
  if (!grpc_frontend::DecodeInferRequest(wire, limits, SharedMemory(), &request).ok()) return;
  static const core::ModelConfig model = RequestModel();
  request.model_name = "m";
  (void)core::ValidateRequest(model, request);
  grpc_frontend::ResponseEncoding encoding = grpc_frontend::ResponseEncodingFor(*wire, request);
  Encode(request, encoding);
  encoding.form = encoding.form == grpc_frontend::ContentsForm::kRaw ? grpc_frontend::ContentsForm::kTyped
                                                                      : grpc_frontend::ContentsForm::kRaw;
  Encode(request, encoding);
}

void Framing(uint8_t selector, std::string_view in) {
  const auto parts = Split(in, '\n', 2);
  (void)grpc_frontend::ParseTimeout(parts[0]);
  (void)grpc_frontend::PercentEncode(parts[0]);
  if (parts.size() < 2) return;
  std::string_view data = parts[1];
  grpc_frontend::MessageReader reader(1 << 16);
  const size_t chunk = 1 + (selector >> 1);
  std::string message;
  while (!data.empty()) {
    const size_t n = std::min(chunk, data.size());
    reader.Append(reinterpret_cast<const uint8_t*>(data.data()), n);
    data.remove_prefix(n);
    while (true) {
      auto next = reader.Next(&message);
      if (!next.ok()) return;
      if (!*next) break;
    }
  }
  (void)reader.HasPartial();
}

}  // namespace
}  // namespace infergate::fuzz

namespace infergate::fuzz {
namespace {

void Run(std::string_view in) {
  const uint8_t selector = TakeByte(&in);
  if (selector % 2 == 0) {
    Infer(in);
  } else {
    Framing(selector, in);
  }
}

}  // namespace
}  // namespace infergate::fuzz

INFERGATE_FUZZ_TARGET(infergate::fuzz::Run)
