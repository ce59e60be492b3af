// The frontend's own request and response types: what a route handler takes
// and returns. They hold no socket and no Beast type, so route handlers are
// plain functions a unit test calls directly.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/policy.h"
#include "core/status.h"

namespace infergate::protocol {
class InferRequestDecoder;
class TelemetryDecoder;
}

namespace infergate::http {

enum class Method { kGet, kPost, kHead, kOther };

struct HttpRequest {
  Method method = Method::kGet;
  std::string target;  // path and query, as sent
  // The body, in memory body_owner keeps alive (null: the caller keeps it
  // alive during the call); inference tensors sent as binary data borrow it
  // and keep body_owner alive. body_spare: readable bytes after the body.
  std::string_view body;
  std::shared_ptr<const void> body_owner;
  size_t body_spare = 0;
  // The Authorization header, when present (never logged).
  std::optional<std::string> authorization;
  // The client connects from a loopback address (net::Stream::peer()).
  bool peer_loopback = false;
  // What the access policy granted when the session already asked it
  // (Router::Authorize, once the header was complete); nullopt: the Router
  // asks it.
  std::optional<auth::Grant> grant;
  // Triton's Inference-Header-Content-Length header, when present.
  std::optional<std::string> inference_header_length;
  // The calling IO thread's decoder (not owned; used on that thread only).
  protocol::InferRequestDecoder* decoder = nullptr;
  // The calling IO thread's telemetry decoder (likewise; null: a temporary one is used).
  protocol::TelemetryDecoder* telemetry_decoder = nullptr;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Further header fields (e.g. WWW-Authenticate).
  std::vector<std::pair<std::string, std::string>> headers;
  // Set when the body holds binary outputs after `*inference_header_length` bytes of JSON.
  std::optional<size_t> inference_header_length;
  // Set: the body is this file, streamed from disk as it is written (`body`
  // unused); a file that cannot be opened is answered 404.
  std::filesystem::path file;
};

// The model repository published as a fleet origin (GET
// /v2/repository/manifest and /v2/repository/files/...; the server wires
// them to edge::ManifestPublisher). Empty functions: those endpoints answer 404.
struct RepositoryOrigin {
  // The manifest JSON listing the models `include` accepts.
  std::function<core::StatusOr<std::string>(const std::function<bool(const std::string&)>& include)> manifest;
  // The file `path` (relative to the model's folder) of `model`: NOT_FOUND
  // for anything that is not a published file inside it.
  std::function<core::StatusOr<std::filesystem::path>(const std::string& model, const std::string& path)> file;
};

// Delivers the response. Called exactly once, from any thread (an IO thread
// for immediate answers, a scheduler thread for inference results).
using Reply = std::function<void(HttpResponse)>;

HttpResponse JsonResponse(std::string body, int status = 200);
// {"error": "..."} with the status from core/status_map.h.
HttpResponse ErrorResponse(const core::Status& status);
HttpResponse ErrorResponse(int http_status, std::string_view message);

}  // namespace infergate::http
