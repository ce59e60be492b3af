// Router: matches a request's method and URL to a route (routes.h) and counts
// the refusals it makes itself (unknown route, wrong method, bad version).
//
// Thread-safety: Handle may be called from any thread.
#pragma once

#include "frontends/http/http_types.h"
#include "frontends/http/routes.h"

namespace infergate::http {

// What an endpoint needs (auth/policy.h) and the model it names, if any.
struct RouteAccess {
  auth::Access access = auth::Access::kRead;
  std::string_view model;
};

// The access policy is asked once per request, before any route runs: by the
// session through Authorize as soon as the header is complete (so a refused
// request's body is never read), or by Handle when the request carries no
// grant. A refusal is answered AuthRefusal(decision): 401 (with
// WWW-Authenticate) or 403.
class Router {
 public:
  explicit Router(RouteContext context) : ctx_(std::move(context)) {}

  // Calls `reply` exactly once, inline or later (inference, repository load).
  void Handle(const HttpRequest& request, Reply reply) const;
  // The policy's decision (counted when a refusal) on a request for
  // `target`, as ClassifyRoute classifies its path.
  auth::Decision Authorize(std::string_view target, std::optional<std::string_view> authorization,
                           bool peer_loopback) const;

  const RouteContext& context() const { return ctx_; }

 private:
  RouteContext ctx_;
};

// The 401 (with WWW-Authenticate) or 403 answering a refused `decision`.
HttpResponse AuthRefusal(const auth::Decision& decision);

// What the endpoint at the path `segments` (SplitPath) needs, and the model
// it names (a view into `segments`). Unknown endpoints need `read`, so that
// without a token they answer 401, not 404.
RouteAccess ClassifyRoute(const std::vector<std::string>& segments);

// Splits a path into its %-decoded segments ("/v2/models/a%2Fb" -> v2, models, a/b);
// the query string is dropped.
std::vector<std::string> SplitPath(std::string_view target);

}  // namespace infergate::http
