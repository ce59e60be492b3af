// POST /v2/models/{m}[/versions/{v}]/infer: decode on the IO thread, submit,
// encode the response on the scheduler thread that completes it, and hand the
// bytes to the Reply (which posts them back to the connection's IO thread).
#include <charconv>

#include "core/status_map.h"
#include "frontends/http/routes.h"
#include "protocol/v2_json.h"

namespace infergate::http {
namespace {

HttpResponse EncodeReply(const core::InferResponse& response,
                         const protocol::OutputEncoding& encoding) {
  if (!response.status.ok()) return ErrorResponse(response.status);
  protocol::EncodedBody encoded;
  if (core::Status st = protocol::EncodeInferResponse(response, encoding, &encoded); !st.ok()) {
    return ErrorResponse(st);
  }
  HttpResponse r = JsonResponse(std::move(encoded.body));
  if (encoded.json_length != r.body.size()) {
    r.inference_header_length = encoded.json_length;
    r.content_type = "application/octet-stream";
  }
  return r;
}

// The JSON part's length: the Inference-Header-Content-Length header, or the whole body.
core::StatusOr<size_t> JsonLength(const HttpRequest& request, size_t body_size) {
  if (!request.inference_header_length) return body_size;
  const std::string& v = *request.inference_header_length;
  size_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size()) {
    return core::InvalidArgument(std::string(protocol::kInferenceHeaderContentLength) +
                                 " must be a byte count, got '" + v + "'");
  }
  return n;
}

}  // namespace

void Infer(const RouteContext& ctx, const HttpRequest& http_request, const ModelPath& path,
           Reply reply) {
  const std::string_view body = http_request.body;
  auto request = std::make_unique<core::InferRequest>();
  core::StatusOr<size_t> json_length = JsonLength(http_request, body.size());
  core::Status st = json_length.status();
  if (json_length.ok()) {
    st = http_request.decoder->Decode(body, *json_length, http_request.body_owner,
                                      http_request.body_spare, request.get());
  }
  if (!st.ok()) {
    ctx.http_metrics->Reject(st.code() == core::StatusCode::kResourceExhausted
                                 ? RejectReason::kTensorTooLarge
                                 : RejectReason::kInvalidRequest);
    return reply(ErrorResponse(st));
  }
  request->model_name = path.name;
  request->model_version = path.version;
  request->on_complete = [reply = std::move(reply),
                          encoding = protocol::OutputEncoding::ForRequest(*request)](
                             std::unique_ptr<core::InferResponse> response) {
    reply(EncodeReply(*response, encoding));
  };
  ctx.inference->Submit(std::move(request));
}

}  // namespace infergate::http
