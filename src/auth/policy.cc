#include "auth/policy.h"

#include <spdlog/spdlog.h>

#include "core/model_name.h"

namespace infergate::auth {
namespace {

constexpr size_t kMaxTokenChars = 512;
constexpr std::string_view kRealm = "Bearer realm=\"infergate\"";

bool B64TokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

bool IEqualsAscii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

Scope ScopeFor(Access access) {
  switch (access) {
    case Access::kInfer:
      return Scope::kInfer;
    case Access::kRead:
      return Scope::kRead;
    default:
      return Scope::kAdmin;
  }
}

}  // namespace

std::string_view FailureName(Failure failure) {
  switch (failure) {
    case Failure::kNone:
      return "none";
    case Failure::kMissing:
      return "missing";
    case Failure::kInvalid:
      return "invalid";
    case Failure::kScope:
      return "scope";
    case Failure::kModel:
      return "model";
    case Failure::kRemote:
      return "remote";
  }
  return "?";
}

std::string Decision::Challenge() const {
  if (failure == Failure::kMissing) return std::string(kRealm);
  if (failure == Failure::kInvalid) return std::string(kRealm) + ", error=\"invalid_token\"";
  return {};
}

std::optional<std::string_view> ParseBearer(std::string_view header) {
  auto trim = [](std::string_view s) {
    const size_t first = s.find_first_not_of(" \t");
    if (first == std::string_view::npos) return std::string_view();
    return s.substr(first, s.find_last_not_of(" \t") + 1 - first);
  };
  header = trim(header);
  const size_t space = header.find_first_of(" \t");
  if (space == std::string_view::npos || !IEqualsAscii(header.substr(0, space), "bearer"))
    return std::nullopt;
  const std::string_view token = trim(header.substr(space));
  if (token.empty() || token.size() > kMaxTokenChars) return std::nullopt;
  size_t end = token.find_last_not_of('=');
  if (end == std::string_view::npos) return std::nullopt;
  for (size_t i = 0; i <= end; ++i) {
    if (!B64TokenChar(token[i])) return std::nullopt;
  }
  return token;
}

Policy::Policy(Options options, core::MetricsRegistry* metrics)
    : options_(std::move(options)), metrics_(metrics) {
  if (!metrics_) return;
  const char* kReloads =
      "Reads of the tokens file after start-up, by result (an error keeps the tokens in use)";
  reloads_ok_ = &metrics_->GetCounter("infergate_auth_reloads_total", kReloads, {{"result", "ok"}});
  reloads_failed_ =
      &metrics_->GetCounter("infergate_auth_reloads_total", kReloads, {{"result", "error"}});
  tokens_gauge_ = &metrics_->GetGauge("infergate_auth_tokens", "Tokens in the tokens file in use");
  // Looked up once (no registry lock per refusal), and listed at zero from the start.
  for (const char* frontend : {"http", "grpc"}) {
    auto& counters = failures_[frontend];
    for (Failure f : {Failure::kMissing, Failure::kInvalid, Failure::kScope, Failure::kModel,
                      Failure::kRemote}) {
      counters[static_cast<size_t>(f)] = &FailureCounter(frontend, f);
    }
  }
}

core::StatusOr<std::unique_ptr<Policy>> Policy::Create(Options options,
                                                       core::MetricsRegistry* metrics) {
  if (!options.tokens_file.empty() && !options.load)
    return core::Internal("auth: no tokens file loader");
  std::unique_ptr<Policy> policy(new Policy(std::move(options), metrics));
  if (!policy->enabled()) return policy;
  core::FileStamp stamp;
  ASSIGN_OR_RETURN(auto tokens, policy->Load(&stamp));
  if (policy->tokens_gauge_)
    policy->tokens_gauge_->Set(static_cast<double>(tokens->entries().size()));
  std::lock_guard lock(policy->mu_);
  policy->tokens_ = std::move(tokens);
  policy->stamp_ = stamp;
  return policy;
}

core::StatusOr<std::shared_ptr<const TokenSet>> Policy::Load(core::FileStamp* stamp) const {
  *stamp = core::FileStamp::Of(options_.tokens_file);
  ASSIGN_OR_RETURN(auto entries, options_.load(options_.tokens_file));
  return TokenSet::Create(std::move(entries), options_.tokens_file.string());
}

std::shared_ptr<const TokenSet> Policy::tokens() const {
  std::lock_guard lock(mu_);
  return tokens_;
}

core::Counter& Policy::FailureCounter(std::string_view frontend, Failure failure) const {
  return metrics_->GetCounter(
      "infergate_auth_failures_total",
      "Requests refused by authentication or access policy, by reason",
      {{"frontend", std::string(frontend)}, {"reason", std::string(FailureName(failure))}});
}

Decision Policy::Refuse(std::string_view frontend, Failure failure, core::Status status) const {
  if (metrics_) {
    auto it = failures_.find(frontend);
    (it != failures_.end() ? *it->second[static_cast<size_t>(failure)]
                           : FailureCounter(frontend, failure))
        .Increment();
  }
  return Decision{std::move(status), failure, {}};
}

Decision Policy::Check(const AccessRequest& r) const {
  if (r.access == Access::kOpen) return {};
  if (!enabled()) {
    if ((r.access == Access::kAdmin || r.access == Access::kLocalAdmin) && !r.local) {
      return Refuse(
          r.frontend, Failure::kRemote,
          core::PermissionDenied("repository control and shared memory are allowed from loopback "
                                 "only while authentication is off (auth.tokens_file)"));
    }
    return {};
  }
  if (!r.authorization) {
    return Refuse(
        r.frontend, Failure::kMissing,
        core::Unauthenticated("this endpoint needs a token: send 'Authorization: Bearer <token>'"));
  }
  std::shared_ptr<const TokenSet> set = tokens();
  const std::optional<std::string_view> token = ParseBearer(*r.authorization);
  // A malformed header is hashed too (as an empty token), so it costs what a wrong token costs.
  const TokenEntry* entry = set->Find(Sha256(token.value_or(std::string_view())));
  if (!token || !entry) {
    return Refuse(r.frontend, Failure::kInvalid,
                  core::Unauthenticated("the bearer token is not valid"));
  }
  const Scope needed = ScopeFor(r.access);
  if (!entry->Has(needed)) {
    return Refuse(r.frontend, Failure::kScope,
                  core::PermissionDenied("token '" + entry->name + "' lacks scope '" +
                                         std::string(ScopeName(needed)) + "'"));
  }
  if (r.access == Access::kLocalAdmin && !r.local) {
    return Refuse(
        r.frontend, Failure::kRemote,
        core::PermissionDenied("shared memory registration is allowed from loopback peers only"));
  }
  Grant grant(std::move(set), entry);
  if (!r.model.empty()) {
    if (auto st = CheckModel(grant, r.frontend, r.model); !st.ok())
      return {st, Failure::kModel, {}};
  }
  return {core::Status::Ok(), Failure::kNone, std::move(grant)};
}

core::Status Policy::CheckModel(const Grant& grant, std::string_view frontend,
                                std::string_view model) const {
  if (grant.AllowsModel(model)) return core::Status::Ok();
  return Refuse(
             frontend, Failure::kModel,
             core::PermissionDenied("token '" + std::string(grant.token_name()) +
                                    "' may not use model '" + core::EscapeModelName(model) + "'"))
      .status;
}

core::Status Policy::Reload() {
  if (!enabled()) return core::Status::Ok();
  std::lock_guard reload(reload_mu_);
  core::FileStamp stamp;
  auto tokens = Load(&stamp);
  if (!tokens.ok()) {
    if (reloads_failed_) reloads_failed_->Increment();
    spdlog::error("auth: {}; keeping the {} tokens in use", tokens.status().message(),
                  this->tokens()->entries().size());
    std::lock_guard lock(mu_);
    stamp_ = stamp;  // not retried until the file changes again
    return tokens.status();
  }
  const size_t count = (*tokens)->entries().size();
  {
    std::lock_guard lock(mu_);
    tokens_ = std::move(*tokens);
    stamp_ = stamp;
  }
  // Said once the new tokens are in use.
  if (reloads_ok_) reloads_ok_->Increment();
  if (tokens_gauge_) tokens_gauge_->Set(static_cast<double>(count));
  spdlog::info("auth: {} tokens from {}", count, options_.tokens_file.string());
  return core::Status::Ok();
}

void Policy::ReloadIfChanged() {
  if (!enabled()) return;
  const core::FileStamp now = core::FileStamp::Of(options_.tokens_file);
  {
    std::lock_guard lock(mu_);
    if (now == stamp_) return;
  }
  Reload().IgnoreError();  // logged and counted there
}

}  // namespace infergate::auth
