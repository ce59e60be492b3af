// The model repository extension: index, load, unload.
#include "frontends/http/routes.h"
#include "protocol/json_writer.h"
#include "protocol/v2_json.h"

namespace infergate::http {

HttpResponse RepositoryIndex(const RouteContext& ctx, const HttpRequest& request, const auth::Grant& grant) {
  bool ready_only = false;
  auto params = protocol::DecodeFlatObject(request.body);
  if (!params.ok()) {
    ctx.http_metrics->Reject(RejectReason::kInvalidRequest);
    return ErrorResponse(params.status());
  }
  if (auto it = params->find("ready"); it != params->end()) {
    const bool* ready = std::get_if<bool>(&it->second);
    if (!ready) {
      ctx.http_metrics->Reject(RejectReason::kInvalidRequest);
      return ErrorResponse(400, "'ready' must be a boolean");
    }
    ready_only = *ready;
  }
  std::string body;
  protocol::JsonWriter w(&body);
  w.BeginArray();
  for (const auto& model : ctx.repository->Index()) {
    if (!grant.AllowsModel(model.name)) continue;
    if (model.versions.empty() && !ready_only) {
      w.BeginObject();
      w.Member("name", std::string_view(model.name));
      w.Member("state", "UNAVAILABLE");
      w.Member("reason", std::string_view(model.reason));
      w.EndObject();
    }
    for (const auto& v : model.versions) {
      if (ready_only && v.state != core::ModelState::kReady) continue;
      w.BeginObject();
      w.Member("name", std::string_view(model.name));
      w.Member("version", std::string_view(std::to_string(v.version)));
      w.Member("state", core::ModelStateName(v.state));
      w.Member("reason", std::string_view(v.reason));
      w.EndObject();
    }
  }
  w.EndArray();
  return JsonResponse(std::move(body));
}

void RepositoryLoad(const RouteContext& ctx, const std::string& model, bool load, Reply reply) {
  if (!ctx.model_control) {
    return reply(ErrorResponse(core::FailedPrecondition("this server has no repository API")));
  }
  auto done = [reply](core::Status st) { reply(st.ok() ? JsonResponse("") : ErrorResponse(st)); };
  core::Status queued =
      load ? ctx.model_control->Load(model, std::move(done)) : ctx.model_control->Unload(model, std::move(done));
  if (queued.ok()) return;
  if (queued.code() == core::StatusCode::kUnavailable) ctx.http_metrics->Reject(RejectReason::kBusy);
  reply(ErrorResponse(queued));
}

}  // namespace infergate::http
