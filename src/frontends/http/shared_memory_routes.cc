// Triton's system shared memory extension: register, unregister and list the
// regions clients put tensors in (core/shared_memory.h does the mapping).
#include "frontends/http/routes.h"
#include "protocol/json_writer.h"
#include "protocol/v2_json.h"

namespace infergate::http {
namespace {

core::Status Disabled() { return core::FailedPrecondition(std::string(core::kSharedMemoryDisabled)); }

// A non-negative integer member of the register body.
core::StatusOr<uint64_t> ByteCount(const core::Parameters& body, const std::string& key, bool required) {
  auto it = body.find(key);
  if (it == body.end()) {
    if (required) return core::InvalidArgument("the register request has no '" + key + "'");
    return uint64_t{0};
  }
  const int64_t* n = std::get_if<int64_t>(&it->second);
  if (!n || *n < 0) return core::InvalidArgument("'" + key + "' must be a non-negative integer");
  return static_cast<uint64_t>(*n);
}

// The refusal of a shared memory request, counted.
HttpResponse Refuse(const RouteContext& ctx, const core::Status& status) {
  ctx.http_metrics->Reject(RejectReason::kSharedMemory);
  return ErrorResponse(status);
}

}  // namespace

HttpResponse SharedMemoryStatus(const RouteContext& ctx, const std::string& region) {
  if (!ctx.shared_memory) return Refuse(ctx, Disabled());
  auto regions = ctx.shared_memory->List(region);
  if (!regions.ok()) return Refuse(ctx, regions.status());
  std::string body;
  protocol::JsonWriter w(&body);
  w.BeginArray();
  for (const auto& r : *regions) {
    w.BeginObject();
    w.Member("name", std::string_view(r.name));
    w.Member("key", std::string_view(r.key));
    w.Member("offset", static_cast<int64_t>(r.offset));
    w.Member("byte_size", static_cast<int64_t>(r.byte_size));
    w.EndObject();
  }
  w.EndArray();
  return JsonResponse(std::move(body));
}

HttpResponse SharedMemoryRegister(const RouteContext& ctx, const std::string& region,
                                  const HttpRequest& request) {
  if (!ctx.shared_memory) return Refuse(ctx, Disabled());
  auto body = protocol::DecodeFlatObject(request.body);
  if (!body.ok()) return Refuse(ctx, body.status());
  auto key = body->find("key");
  const std::string* key_text = key == body->end() ? nullptr : std::get_if<std::string>(&key->second);
  if (!key_text) return Refuse(ctx, core::InvalidArgument("the register request needs a string 'key'"));
  auto offset = ByteCount(*body, "offset", false);
  if (!offset.ok()) return Refuse(ctx, offset.status());
  auto byte_size = ByteCount(*body, "byte_size", true);
  if (!byte_size.ok()) return Refuse(ctx, byte_size.status());
  core::Status st = ctx.shared_memory->Register(region, *key_text, *offset, *byte_size);
  if (!st.ok()) return Refuse(ctx, st);
  return JsonResponse("");
}

HttpResponse SharedMemoryUnregister(const RouteContext& ctx, const std::string& region) {
  if (!ctx.shared_memory) return Refuse(ctx, Disabled());
  if (region.empty()) {
    ctx.shared_memory->UnregisterAll();
    return JsonResponse("");
  }
  core::Status st = ctx.shared_memory->Unregister(region);
  if (!st.ok()) return Refuse(ctx, st);
  return JsonResponse("");
}

}  // namespace infergate::http
