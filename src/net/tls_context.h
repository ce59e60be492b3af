// TlsContext: a frontend's server-side TLS settings (certificate chain,
// private key, optional client CA for mutual TLS) as an OpenSSL context,
// swapped whole when the files change.
//
// Each handshake takes Current(), a shared_ptr the connection keeps for its
// life: a reload changes what new handshakes use, never an open connection.
// A reload that fails (unreadable file, bad PEM, key not matching the
// certificate) is logged with the reason and the old context kept.
//
// The context: TLS 1.2 minimum; no compression, no renegotiation, the
// server's cipher order, ECDHE suites only for 1.2 (1.3: OpenSSL's
// defaults); ALPN selects `alpn` from the client's list and refuses the
// handshake when the client offers ALPN without it (a client offering no
// ALPN is served). With a client CA: a client certificate signed by it is
// required.
//
// Metrics (label frontend = options.frontend):
//   infergate_tls_reloads_total{frontend,result}   counter; result "ok"
//     (a new context in use) or "error" (the old one kept)
//
// Thread-safety: every method may be called from any thread.
#pragma once


#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "core/file_stamp.h"
#include "core/metrics.h"
#include "core/status.h"

namespace infergate::net {

struct TlsFiles {
  std::string cert_file;       // PEM: the server certificate, then its intermediates
  std::string key_file;        // PEM: the certificate's private key
  std::string client_ca_file;  // PEM; empty: no client certificate asked for
};

struct TlsOptions {
  std::string frontend;  // names the frontend in logs and metrics
  TlsFiles files;
  std::string alpn;            // the protocol ALPN selects: "h2" or "http/1.1"
  bool alpn_required = false;  // a client offering ALPN without `alpn` is refused
};

// Builds a context from the files; the error names the file and the reason.
core::StatusOr<std::shared_ptr<boost::asio::ssl::context>> LoadTlsContext(
    const TlsOptions& options);

class TlsContext {
 public:
  // Loads the files once; an error here is a start-up error. `metrics`
  // outlives the TlsContext.
  static core::StatusOr<std::unique_ptr<TlsContext>> Create(TlsOptions options,
                                                            core::MetricsRegistry* metrics);

  // The context for a new handshake; never null.
  std::shared_ptr<boost::asio::ssl::context> Current() const;
  // Loads the files again and swaps the new context in; on failure keeps
  // the old one, logs and returns the error.
  core::Status Reload();
  // Reload() if any file's modification time, size or inode changed since
  // the last load attempt (a failed attempt is not retried until the files
  // change again). Returns whether it reloaded successfully.
  bool ReloadIfChanged();

  const TlsOptions& options() const { return options_; }
  bool mutual() const { return !options_.files.client_ca_file.empty(); }

 private:
  struct Stamps {
    core::FileStamp cert, key, client_ca;
    bool operator==(const Stamps&) const = default;
  };
  TlsContext(TlsOptions options, core::MetricsRegistry* metrics);
  Stamps ReadStamps() const;

  const TlsOptions options_;
  core::Counter* reloads_ok_;
  core::Counter* reloads_failed_;
  std::mutex reload_mu_;  // one reload at a time (SIGHUP and the file watch)
  Stamps stamps_;         // guarded by reload_mu_
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> current_;  // guarded by mu_
};

}  // namespace infergate::net
