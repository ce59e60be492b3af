// Policy: who may do what, decided once per request at each frontend's entry
// point, before the request's body is read (the HTTP session once a
// request's header is complete, the gRPC connection once a call's headers
// are; later frontends call the same Check).
//
// With a tokens file (auth.tokens_file), every request but the health probes
// needs `Authorization: Bearer <token>` naming a token of the file with the
// scope its endpoint needs (Access) and, for a model-specific request, a
// model glob covering the model. Without one (auth off) everyone may infer
// and read, and repository control and shared memory are refused unless the
// peer is on loopback. Shared memory registration is loopback-only either way.
//
// Refusals: UNAUTHENTICATED (no token, or one not in the file; HTTP 401 with
// Decision::Challenge() as WWW-Authenticate) or PERMISSION_DENIED (HTTP 403)
// naming the scope or model missing, each counted in
// infergate_auth_failures_total{frontend,reason}. A token is never logged or
// echoed: messages name the token's entry, never the token.
//
// Reload (SIGHUP, or the file changed): the file is read and checked whole; a
// file that fails keeps the set in use (logged, counted in
// infergate_auth_reloads_total{result="error"}), so a typo neither locks
// everyone out nor opens everything.
//
// Thread-safety: every method may be called from any thread at once.
#pragma once

#include <array>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/token.h"
#include "core/file_stamp.h"
#include "core/metrics.h"
#include "core/status.h"

namespace infergate::auth {

// What an endpoint needs.
enum class Access {
  kOpen,        // health probes: anyone
  kInfer,       // scope infer
  kRead,        // scope read
  kAdmin,       // scope admin; with auth off: loopback peers only
  kLocalAdmin,  // as kAdmin, and loopback peers only even with auth on
};

// Why a request was refused (the `reason` label of the failures metric).
enum class Failure { kNone, kMissing, kInvalid, kScope, kModel, kRemote };
inline constexpr size_t kFailureCount = static_cast<size_t>(Failure::kRemote) + 1;
std::string_view FailureName(Failure failure);

// One request as the policy sees it.
struct AccessRequest {
  std::string_view frontend;                      // "http", "grpc": the metric's label
  std::optional<std::string_view> authorization;  // the Authorization header; nullopt: none sent
  bool local = false;                             // the peer is a loopback address
  Access access = Access::kOpen;
  std::string_view model;  // the model it is about; empty: none or not known yet
};

// What an admitted request may touch. Keeps its token entry alive across a
// reload. Default: auth off, every model.
class Grant {
 public:
  Grant() = default;
  Grant(std::shared_ptr<const TokenSet> set, const TokenEntry* entry)
      : set_(std::move(set)), entry_(entry) {}
  bool AllowsModel(std::string_view model) const { return !entry_ || entry_->AllowsModel(model); }
  // The token's entry name; empty with auth off.
  std::string_view token_name() const {
    return entry_ ? std::string_view(entry_->name) : std::string_view();
  }

 private:
  std::shared_ptr<const TokenSet> set_;
  const TokenEntry* entry_ = nullptr;
};

struct Decision {
  core::Status status;  // OK, UNAUTHENTICATED or PERMISSION_DENIED
  Failure failure = Failure::kNone;
  Grant grant;  // meaningful when status is OK
  bool ok() const { return status.ok(); }
  // The WWW-Authenticate value for an UNAUTHENTICATED decision:
  // `Bearer realm="infergate"`, with `, error="invalid_token"` for a token
  // that was sent but is not valid; empty otherwise.
  std::string Challenge() const;
};

// The token of an `Authorization: Bearer <token>` header value (scheme
// case-insensitive; the token 1 to 512 characters of RFC 6750's b64token);
// nullopt for anything else.
std::optional<std::string_view> ParseBearer(std::string_view header);

class Policy {
 public:
  // Reads a tokens file into entries (config/tokens_yaml.h).
  using Loader =
      std::function<core::StatusOr<std::vector<TokenEntry>>(const std::filesystem::path&)>;
  struct Options {
    std::filesystem::path tokens_file;  // empty: auth off
    Loader load;                        // required with a tokens file
  };

  // Loads the tokens file (its errors fail Create). `metrics` may be null.
  static core::StatusOr<std::unique_ptr<Policy>> Create(Options options,
                                                        core::MetricsRegistry* metrics);
  Policy(const Policy&) = delete;
  Policy& operator=(const Policy&) = delete;

  bool enabled() const { return !options_.tokens_file.empty(); }

  Decision Check(const AccessRequest& request) const;
  // For a model named inside a request already admitted (a gRPC message):
  // PERMISSION_DENIED, counted, when `grant` does not cover it.
  core::Status CheckModel(const Grant& grant, std::string_view frontend,
                          std::string_view model) const;

  // Re-reads the tokens file; on error keeps the set in use and returns the
  // error (logged and counted). OK and nothing done with auth off.
  core::Status Reload();
  // Reload() when the file's size, time or inode changed since it was read.
  void ReloadIfChanged();

 private:
  Policy(Options options, core::MetricsRegistry* metrics);
  core::StatusOr<std::shared_ptr<const TokenSet>> Load(core::FileStamp* stamp) const;
  // Counts the refusal and returns it.
  Decision Refuse(std::string_view frontend, Failure failure, core::Status status) const;
  core::Counter& FailureCounter(std::string_view frontend, Failure failure) const;
  std::shared_ptr<const TokenSet> tokens() const;

  const Options options_;
  core::MetricsRegistry* metrics_;
  core::Counter* reloads_ok_ = nullptr;
  core::Counter* reloads_failed_ = nullptr;
  core::Gauge* tokens_gauge_ = nullptr;
  // The failure counters of the known frontends, by Failure; others are
  // looked up when they refuse.
  std::map<std::string, std::array<core::Counter*, kFailureCount>, std::less<>> failures_;

  mutable std::mutex mu_;
  std::shared_ptr<const TokenSet> tokens_;  // GUARDED_BY(mu_)
  core::FileStamp stamp_;                   // GUARDED_BY(mu_)
  std::mutex reload_mu_;                    // one reload at a time
};

}  // namespace infergate::auth
