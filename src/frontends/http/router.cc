#include "frontends/http/router.h"

#include <charconv>

#include "auth/policy.h"

namespace infergate::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

const char* MethodName(Method m) {
  switch (m) {
    case Method::kGet: return "GET";
    case Method::kPost: return "POST";
    case Method::kHead: return "HEAD";
    case Method::kOther: break;
  }
  return "this method";
}

// The policy's decision on a request for the path `seg`.
auth::Decision Decide(const auth::Policy& policy, const std::vector<std::string>& seg,
                      std::optional<std::string_view> authorization, bool peer_loopback) {
  const RouteAccess access = ClassifyRoute(seg);
  return policy.Check({"http", authorization, peer_loopback, access.access, access.model});
}

}  // namespace

RouteAccess ClassifyRoute(const std::vector<std::string>& seg) {
  const size_t n = seg.size();
  if (n < 2 || seg[0] != "v2") return {auth::Access::kRead, {}};
  if (seg[1] == "health") return {n == 3 && (seg[2] == "live" || seg[2] == "ready") ? auth::Access::kOpen
                                                                                    : auth::Access::kRead, {}};
  if (seg[1] == "repository") {
    if (n == 5 && seg[2] == "models" && (seg[4] == "load" || seg[4] == "unload")) return {auth::Access::kAdmin, seg[3]};
    // The fleet origin: a repository's whole content.
    if (n == 3 && seg[2] == "manifest") return {auth::Access::kAdmin, {}};
    if (n >= 5 && seg[2] == "files") return {auth::Access::kAdmin, seg[3]};
    return {auth::Access::kRead, {}};
  }
  if (seg[1] == "systemsharedmemory") {
    return {seg[n - 1] == "register" ? auth::Access::kLocalAdmin : auth::Access::kAdmin, {}};
  }
  if (seg[1] != "models" || n < 3 || (n == 3 && seg[2] == "stats")) return {auth::Access::kRead, {}};
  const bool infer = seg[n - 1] == "infer" || (n >= 6 && seg[n - 1] == "telemetry" && seg[n - 3] == "devices");
  return {infer ? auth::Access::kInfer : auth::Access::kRead, seg[2]};
}

std::vector<std::string> SplitPath(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::vector<std::string> segments;
  size_t pos = 0;
  while (pos < target.size()) {
    size_t slash = target.find('/', pos);
    if (slash == std::string_view::npos) slash = target.size();
    if (slash > pos) segments.push_back(PercentDecode(target.substr(pos, slash - pos)));
    pos = slash + 1;
  }
  return segments;
}

HttpResponse AuthRefusal(const auth::Decision& decision) {
  HttpResponse response = ErrorResponse(decision.status);
  if (auto challenge = decision.Challenge(); !challenge.empty()) {
    response.headers.emplace_back("WWW-Authenticate", std::move(challenge));
  }
  return response;
}

auth::Decision Router::Authorize(std::string_view target, std::optional<std::string_view> authorization,
                                 bool peer_loopback) const {
  return Decide(*ctx_.policy, SplitPath(target), authorization, peer_loopback);
}

void Router::Handle(const HttpRequest& request, Reply reply) const {
  const auto seg = SplitPath(request.target);
  const std::string path(request.target.substr(0, request.target.find('?')));
  auto refuse = [&](RejectReason reason, int status, const std::string& message) {
    ctx_.http_metrics->Reject(reason);
    reply(ErrorResponse(status, message));
  };
  // True when the request uses `method`; otherwise refuses it with 405.
  auto allow = [&](Method method) {
    if (request.method == method) return true;
    refuse(RejectReason::kMethodNotAllowed, 405,
           std::string(MethodName(request.method)) + " is not allowed on " + path + "; use " +
               MethodName(method));
    return false;
  };
  auto unknown = [&] {
    refuse(RejectReason::kUnknownRoute, 404,
           std::string("unknown endpoint ") + MethodName(request.method) + " " + path);
  };
  auth::Grant grant;
  if (request.grant) {
    grant = *request.grant;  // the session asked the policy already
  } else {
    auth::Decision decision = Decide(*ctx_.policy, seg, request.authorization, request.peer_loopback);
    if (!decision.ok()) return reply(AuthRefusal(decision));
    grant = std::move(decision.grant);
  }
  const size_t n = seg.size();

  if (n == 1 && seg[0] == "metrics") {
    if (allow(Method::kGet)) reply(Metrics(ctx_));
    return;
  }
  if (n == 0 || seg[0] != "v2") return unknown();
  if (n == 1) {
    if (allow(Method::kGet)) reply(ServerMetadata(ctx_));
    return;
  }
  if (seg[1] == "health" && n == 3 && (seg[2] == "live" || seg[2] == "ready")) {
    if (allow(Method::kGet)) reply(seg[2] == "live" ? HealthLive(ctx_) : HealthReady(ctx_));
    return;
  }
  if (seg[1] == "repository") {
    if (n == 3 && seg[2] == "index") {
      if (allow(Method::kPost)) reply(RepositoryIndex(ctx_, request, grant));
      return;
    }
    if (n == 5 && seg[2] == "models" && (seg[4] == "load" || seg[4] == "unload")) {
      if (allow(Method::kPost)) RepositoryLoad(ctx_, seg[3], seg[4] == "load", std::move(reply));
      return;
    }
    if (n == 3 && seg[2] == "manifest") {
      if (allow(Method::kGet)) reply(RepositoryManifest(ctx_, grant));
      return;
    }
    if (n >= 5 && seg[2] == "files") {
      // Each segment was %-decoded alone: the joined path is checked whole.
      std::string file = seg[4];
      for (size_t i = 5; i < n; ++i) file += "/" + seg[i];
      if (allow(Method::kGet)) reply(RepositoryFile(ctx_, seg[3], file));
      return;
    }
    return unknown();
  }
  if (seg[1] == "systemsharedmemory") {
    // [region/{r}/]status | region/{r}/register | [region/{r}/]unregister
    std::string region;
    size_t i = 2;
    if (n >= 4 && seg[2] == "region") {
      region = seg[3];
      i = 4;
    }
    if (i + 1 != n) return unknown();
    const std::string& action = seg[i];
    if (action == "status") {
      if (allow(Method::kGet)) reply(SharedMemoryStatus(ctx_, region));
    } else if (action == "register" && !region.empty()) {
      if (allow(Method::kPost)) reply(SharedMemoryRegister(ctx_, region, request));
    } else if (action == "unregister") {
      if (allow(Method::kPost)) reply(SharedMemoryUnregister(ctx_, region));
    } else {
      unknown();
    }
    return;
  }
  if (seg[1] != "models" || n < 3) return unknown();
  if (n == 3 && seg[2] == "stats") {  // Triton: every model's statistics
    if (allow(Method::kGet)) reply(ModelStats(ctx_, ModelPath{}, grant));
    return;
  }
  ModelPath model{seg[2]};
  size_t i = 3;
  if (n >= 5 && seg[3] == "versions") {
    const std::string& v = seg[4];
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), model.version);
    if (ec != std::errc() || end != v.data() + v.size() || model.version < 1) {
      return refuse(RejectReason::kInvalidRequest, 400,
                    "model version must be a positive integer, got '" + v + "'");
    }
    i = 5;
  }
  if (i + 3 == n && seg[i] == "devices" && seg[i + 2] == "telemetry" && ctx_.devices) {
    if (allow(Method::kPost)) DeviceTelemetry(ctx_, request, model, seg[i + 1], std::move(reply));
    return;
  }
  if (i + 1 < n) return unknown();
  const std::string action = i < n ? seg[i] : "";
  if (action == "infer") {
    if (allow(Method::kPost)) Infer(ctx_, request, model, std::move(reply));
    return;
  }
  if (action != "" && action != "ready" && action != "config" && action != "stats") return unknown();
  if (!allow(Method::kGet)) return;
  if (action.empty()) return reply(ModelMetadata(ctx_, model));
  if (action == "ready") return reply(ModelReady(ctx_, model));
  if (action == "config") return reply(ModelConfig(ctx_, model));
  reply(ModelStats(ctx_, model));
}

}  // namespace infergate::http
