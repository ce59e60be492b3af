// HttpFetcher: the fleet origin over HTTP/1.1 or HTTPS (Boost.Beast,
// OpenSSL), one connection per request (`Connection: close`), with a bearer
// token, a CA file, and a time-out on the connect, the TLS handshake and
// each read or write (so a large file may take as long as it keeps moving).
// Redirects are not followed (a 3xx is kHttpStatus). Bodies are written to
// the file as they arrive, never held whole in memory.
//
// Thread-safety: one thread at a time (it runs its own io_context).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/status.h"
#include "edge/fetcher.h"

namespace infergate::edge {

struct HttpFetcherOptions {
  std::string token;    // sent as `Authorization: Bearer <token>`; empty: none
  std::string ca_file;  // PEM; empty: the system's default CAs
  std::chrono::milliseconds timeout{30000};
  std::string user_agent = "infergate";
};

// Splits http(s)://host[:port]/path; INVALID_ARGUMENT for anything else.
struct ParsedUrl {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  // path and query, "/" at least
};
core::StatusOr<ParsedUrl> ParseUrl(const std::string& url);

class HttpFetcher final : public Fetcher {
 public:
  // Fails when the CA file cannot be read.
  static core::StatusOr<std::unique_ptr<HttpFetcher>> Create(HttpFetcherOptions options);
  ~HttpFetcher() override;

  core::Status Get(const std::string& url, size_t max_bytes, std::string* body, SyncFailure* why) override;
  core::Status Download(const std::string& url, const std::filesystem::path& file, uint64_t size,
                        SyncFailure* why) override;

 private:
  struct Impl;
  explicit HttpFetcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace infergate::edge
