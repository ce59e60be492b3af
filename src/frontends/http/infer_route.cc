// POST /v2/models/{m}[/versions/{v}]/infer: decode on the IO thread (a large
// JSON body on the decode worker, so the IO thread's other connections are
// not stalled), submit, encode the response on the scheduler thread that
// completes it, and hand the bytes to the Reply (which posts them back to the
// connection's IO thread).
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

// Decodes the body with `decoder` and submits the request, or answers why not.
void DecodeAndSubmit(const RouteContext& ctx, protocol::InferRequestDecoder& decoder,
                     const HttpRequest& http_request, size_t json_length, const ModelPath& path,
                     Reply reply) {
  auto request = std::make_unique<core::InferRequest>();
  core::Status st = decoder.Decode(http_request.body, json_length, http_request.body_owner,
                                   http_request.body_spare, request.get());
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

}  // namespace

void Infer(const RouteContext& ctx, const HttpRequest& http_request, const ModelPath& path,
           Reply reply) {
  core::StatusOr<size_t> json_length = JsonLength(http_request, http_request.body.size());
  if (!json_length.ok()) {
    ctx.http_metrics->Reject(RejectReason::kInvalidRequest);
    return reply(ErrorResponse(json_length.status()));
  }
  // Offloaded only when the body outlives this call (body_owner keeps it).
  if (!ctx.decode_worker || ctx.decode_offload_bytes == 0 || *json_length <= ctx.decode_offload_bytes ||
      !http_request.body_owner) {
    return DecodeAndSubmit(ctx, *http_request.decoder, http_request, *json_length, path, std::move(reply));
  }
  auto job = std::make_shared<std::pair<Reply, HttpRequest>>(std::move(reply), http_request);
  const bool queued = ctx.decode_worker->Post([&ctx, job, json_length = *json_length, path] {
    DecodeAndSubmit(ctx, *ctx.worker_decoder, job->second, json_length, path, std::move(job->first));
  });
  if (!queued) {
    ctx.http_metrics->Reject(RejectReason::kDecodeQueueFull);
    job->first(ErrorResponse(503, "too many large requests wait to be decoded; retry later"));
  }
}

}  // namespace infergate::http
