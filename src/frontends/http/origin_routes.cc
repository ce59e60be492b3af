// The repository as a fleet origin: the manifest and its files.
#include "frontends/http/routes.h"

namespace infergate::http {

HttpResponse RepositoryManifest(const RouteContext& ctx, const auth::Grant& grant) {
  if (!ctx.origin.manifest) return ErrorResponse(404, "this server publishes no repository manifest");
  auto manifest = ctx.origin.manifest([&grant](const std::string& model) { return grant.AllowsModel(model); });
  if (!manifest.ok()) return ErrorResponse(manifest.status());
  return JsonResponse(std::move(*manifest));
}

HttpResponse RepositoryFile(const RouteContext& ctx, const std::string& model, const std::string& path) {
  if (!ctx.origin.file) return ErrorResponse(404, "this server publishes no repository files");
  auto file = ctx.origin.file(model, path);
  if (!file.ok()) return ErrorResponse(file.status());
  HttpResponse response;
  response.content_type = "application/octet-stream";
  response.file = std::move(*file);
  return response;
}

}  // namespace infergate::http
