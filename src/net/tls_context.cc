#include "net/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace infergate::net {
namespace {

namespace ssl = boost::asio::ssl;

// TLS 1.2 suites: ECDHE (forward secrecy) with AEAD only. TLS 1.3 keeps
// OpenSSL's default suites.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Names a session cache entry so that resumption works with client
// certificates (OpenSSL refuses to resume without one).
constexpr unsigned char kSessionIdContext[] = "infergate";

// What SSL_CTX_set_alpn_select_cb gets as its argument; static storage.
struct AlpnChoice {
  const unsigned char* wire;  // length-prefixed, as on the wire
  unsigned int wire_len;
  bool required;
};
constexpr unsigned char kH2[] = {2, 'h', '2'};
constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
constexpr AlpnChoice kH2Required{kH2, sizeof(kH2), true};
constexpr AlpnChoice kH2Optional{kH2, sizeof(kH2), false};
constexpr AlpnChoice kHttp11Required{kHttp11, sizeof(kHttp11), true};
constexpr AlpnChoice kHttp11Optional{kHttp11, sizeof(kHttp11), false};

int SelectAlpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
               unsigned int in_len, void* arg) {
  const auto* choice = static_cast<const AlpnChoice*>(arg);
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_len, choice->wire, choice->wire_len, in, in_len) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return choice->required ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK;
}

core::StatusOr<const AlpnChoice*> FindAlpn(const TlsOptions& o) {
  if (o.alpn == "h2") return o.alpn_required ? &kH2Required : &kH2Optional;
  if (o.alpn == "http/1.1") return o.alpn_required ? &kHttp11Required : &kHttp11Optional;
  return core::InvalidArgument(o.frontend + " tls: unknown ALPN protocol '" + o.alpn + "'");
}

// The first OpenSSL error queued (and clears the queue), else `fallback`.
std::string OpenSslError(const boost::system::error_code& fallback) {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return fallback.message();
  char text[256];
  ERR_error_string_n(e, text, sizeof(text));
  return text;
}

// Whether OpenSSL's error (as Asio passed it on, or still queued) says a key
// does not belong to the certificate.
bool KeyMismatch(const boost::system::error_code& ec) {
  const auto is_mismatch = [](unsigned long e) {
    return ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH;
  };
  return is_mismatch(static_cast<unsigned long>(ec.value())) || is_mismatch(ERR_peek_error());
}

core::Status Readable(const std::string& frontend, const char* key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return core::InvalidArgument(frontend + " tls." + key + ": " + path +
                                 " cannot be read: " + std::strerror(errno));
  }
  return core::Status::Ok();
}

core::Status Failed(const std::string& frontend, const char* key, const std::string& path,
                    const std::string& why) {
  return core::InvalidArgument(frontend + " tls." + key + ": " + path + ": " + why);
}

core::Status LoadFiles(const TlsOptions& o, ssl::context& ctx) {
  const TlsFiles& f = o.files;
  boost::system::error_code ec;
  RETURN_IF_ERROR(Readable(o.frontend, "cert_file", f.cert_file));
  RETURN_IF_ERROR(Readable(o.frontend, "key_file", f.key_file));
  ERR_clear_error();
  if (ctx.use_certificate_chain_file(f.cert_file, ec)) {
    return Failed(o.frontend, "cert_file", f.cert_file,
                  "not a PEM certificate chain (" + OpenSslError(ec) + ")");
  }
  if (ctx.use_private_key_file(f.key_file, ssl::context::pem, ec)) {
    if (KeyMismatch(ec)) {
      ERR_clear_error();
      return Failed(o.frontend, "key_file", f.key_file,
                    "does not match the certificate in " + f.cert_file);
    }
    return Failed(o.frontend, "key_file", f.key_file,
                  "not a PEM private key (" + OpenSslError(ec) + ")");
  }
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    ERR_clear_error();
    return Failed(o.frontend, "key_file", f.key_file,
                  "does not match the certificate in " + f.cert_file);
  }
  if (f.client_ca_file.empty()) return core::Status::Ok();
  RETURN_IF_ERROR(Readable(o.frontend, "client_ca_file", f.client_ca_file));
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(f.client_ca_file.c_str());
  if (names == nullptr || ctx.load_verify_file(f.client_ca_file, ec)) {
    if (names) sk_X509_NAME_pop_free(names, X509_NAME_free);
    return Failed(o.frontend, "client_ca_file", f.client_ca_file,
                  "no PEM CA certificate (" + OpenSslError(ec) + ")");
  }
  SSL_CTX_set_client_CA_list(ctx.native_handle(), names);  // takes ownership
  ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
  return core::Status::Ok();
}

}  // namespace

core::StatusOr<std::shared_ptr<ssl::context>> LoadTlsContext(const TlsOptions& o) {
  ASSIGN_OR_RETURN(const AlpnChoice* alpn, FindAlpn(o));
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_SINGLE_ECDH_USE);
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
    ERR_clear_error();
    return core::Internal(o.frontend + " tls: OpenSSL knows none of the TLS 1.2 cipher suites");
  }
  SSL_CTX_set_session_id_context(native, kSessionIdContext, sizeof(kSessionIdContext) - 1);
  SSL_CTX_set_alpn_select_cb(native, &SelectAlpn, const_cast<AlpnChoice*>(alpn));
  RETURN_IF_ERROR(LoadFiles(o, *ctx));
  return ctx;
}

TlsContext::TlsContext(TlsOptions options, core::MetricsRegistry* metrics)
    : options_(std::move(options)) {
  constexpr const char* kHelp =
      "TLS certificate reloads (ok: new handshakes use it; error: the old one kept)";
  reloads_ok_ = &metrics->GetCounter("infergate_tls_reloads_total", kHelp,
                                     {{"frontend", options_.frontend}, {"result", "ok"}});
  reloads_failed_ = &metrics->GetCounter("infergate_tls_reloads_total", kHelp,
                                         {{"frontend", options_.frontend}, {"result", "error"}});
}

core::StatusOr<std::unique_ptr<TlsContext>> TlsContext::Create(TlsOptions options,
                                                               core::MetricsRegistry* metrics) {
  std::unique_ptr<TlsContext> tls(new TlsContext(std::move(options), metrics));
  tls->stamps_ = tls->ReadStamps();
  ASSIGN_OR_RETURN(tls->current_, LoadTlsContext(tls->options_));
  return tls;
}

std::shared_ptr<ssl::context> TlsContext::Current() const {
  std::lock_guard lock(mu_);
  return current_;
}

core::Status TlsContext::Reload() {
  std::lock_guard reload_lock(reload_mu_);
  stamps_ = ReadStamps();
  auto loaded = LoadTlsContext(options_);
  if (!loaded.ok()) {
    reloads_failed_->Increment();
    spdlog::error("{}: TLS certificate reload failed, the previous certificate stays in use: {}",
                  options_.frontend, loaded.status().message());
    return loaded.status();
  }
  {
    std::lock_guard lock(mu_);
    current_ = std::move(*loaded);
  }
  reloads_ok_->Increment();
  spdlog::info("{}: TLS certificate reloaded from {}", options_.frontend, options_.files.cert_file);
  return core::Status::Ok();
}

bool TlsContext::ReloadIfChanged() {
  {
    std::lock_guard reload_lock(reload_mu_);
    if (ReadStamps() == stamps_) return false;
  }
  return Reload().ok();
}

TlsContext::Stamps TlsContext::ReadStamps() const {
  return Stamps{core::FileStamp::Of(options_.files.cert_file), core::FileStamp::Of(options_.files.key_file),
                core::FileStamp::Of(options_.files.client_ca_file)};
}

}  // namespace infergate::net
