#include "frontends/http/http_types.h"

#include "core/status_map.h"
#include "protocol/v2_json.h"

namespace infergate::http {

HttpResponse JsonResponse(std::string body, int status) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse ErrorResponse(const core::Status& status) {
  return ErrorResponse(core::HttpStatusFor(status.code()), status.message());
}

HttpResponse ErrorResponse(int http_status, std::string_view message) {
  // The message may quote the client's input: clipped like every reply's.
  return JsonResponse(protocol::EncodeError(core::ClipReplyMessage(message)), http_status);
}

}  // namespace infergate::http
