// TlsContext: loads a certificate and key (refusing a key of another
// certificate, an unreadable file, bad PEM), keeps the old context when a
// reload fails, swaps in a new one when the files change, and counts both.
#include "net/tls_context.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <filesystem>

#include "testing/temp_dir.h"
#include "testing/test_pki.h"

namespace infergate::net {
namespace {

using testing::TestPki;

// The serial number of the certificate a context serves.
long Serial(const std::shared_ptr<boost::asio::ssl::context>& ctx) {
  X509* cert = SSL_CTX_get0_certificate(ctx->native_handle());
  return cert ? ASN1_INTEGER_get(X509_get0_serialNumber(cert)) : -1;
}

class TlsContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_.MakeCa("ca"));
    ASSERT_TRUE(pki_.MakeServer("one", "ca", 1));
    ASSERT_TRUE(pki_.MakeServer("two", "ca", 2));
    Install("one");
  }
  // Copies <name>.crt/.key over the served files (a renewal).
  void Install(const std::string& name) {
    dir_.Write("served.crt", TestPki::Read(pki_.Crt(name)));
    dir_.Write("served.key", TestPki::Read(pki_.Key(name)));
  }
  TlsOptions Options() const {
    TlsOptions o;
    o.frontend = "http";
    o.files.cert_file = (dir_.path() / "served.crt").string();
    o.files.key_file = (dir_.path() / "served.key").string();
    o.alpn = "http/1.1";
    return o;
  }
  uint64_t Reloads(const char* result) {
    return metrics_
        .GetCounter("infergate_tls_reloads_total", "", {{"frontend", "http"}, {"result", result}})
        .value();
  }

  testing::TempDir dir_;
  TestPki pki_{dir_.path()};
  core::MetricsRegistry metrics_;
};

TEST_F(TlsContextTest, LoadsCertificateAndKeyWithTls12Minimum) {
  auto tls = TlsContext::Create(Options(), &metrics_);
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  auto ctx = (*tls)->Current();
  EXPECT_EQ(Serial(ctx), 1);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx->native_handle()), TLS1_2_VERSION);
  EXPECT_NE(SSL_CTX_get_options(ctx->native_handle()) & SSL_OP_NO_RENEGOTIATION, 0u);
  EXPECT_NE(SSL_CTX_get_options(ctx->native_handle()) & SSL_OP_NO_COMPRESSION, 0u);
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx->native_handle()), SSL_VERIFY_NONE);
  EXPECT_FALSE((*tls)->mutual());
}

TEST_F(TlsContextTest, ClientCaRequiresAClientCertificate) {
  TlsOptions o = Options();
  o.files.client_ca_file = pki_.Crt("ca");
  auto tls = TlsContext::Create(o, &metrics_);
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  EXPECT_EQ(SSL_CTX_get_verify_mode((*tls)->Current()->native_handle()),
            SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
  EXPECT_TRUE((*tls)->mutual());
}

TEST_F(TlsContextTest, KeyOfAnotherCertificateIsRefused) {
  TlsOptions o = Options();
  o.files.key_file = pki_.Key("two");
  auto tls = TlsContext::Create(o, &metrics_);
  ASSERT_FALSE(tls.ok());
  EXPECT_NE(tls.status().message().find("does not match the certificate"), std::string::npos)
      << tls.status().message();
  EXPECT_NE(tls.status().message().find("http tls.key_file"), std::string::npos)
      << tls.status().message();
}

TEST_F(TlsContextTest, UnreadableOrBadFilesAreRefusedNamingTheFile) {
  TlsOptions missing = Options();
  missing.files.cert_file = (dir_.path() / "nowhere.crt").string();
  auto a = TlsContext::Create(missing, &metrics_);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("nowhere.crt cannot be read"), std::string::npos)
      << a.status().message();

  dir_.Write("served.crt", "not a certificate\n");
  auto b = TlsContext::Create(Options(), &metrics_);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("tls.cert_file"), std::string::npos) << b.status().message();

  TlsOptions bad_ca = Options();
  Install("one");
  bad_ca.files.client_ca_file = dir_.Write("ca.pem", "garbage\n").string();
  auto c = TlsContext::Create(bad_ca, &metrics_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("tls.client_ca_file"), std::string::npos)
      << c.status().message();
}

TEST_F(TlsContextTest, FailedReloadKeepsTheOldContext) {
  auto tls = TlsContext::Create(Options(), &metrics_);
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  const auto before = (*tls)->Current();
  // A renewal caught half-way: the new certificate with the old key.
  dir_.Write("served.crt", TestPki::Read(pki_.Crt("two")));
  EXPECT_FALSE((*tls)->Reload().ok());
  EXPECT_EQ((*tls)->Current(), before);
  EXPECT_EQ(Serial((*tls)->Current()), 1);
  EXPECT_EQ(Reloads("error"), 1u);
  EXPECT_EQ(Reloads("ok"), 0u);
}

TEST_F(TlsContextTest, ReloadSwapsInTheNewCertificateAndOldHoldersKeepTheirs) {
  auto tls = TlsContext::Create(Options(), &metrics_);
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  const auto held = (*tls)->Current();  // what an open connection keeps
  Install("two");
  ASSERT_TRUE((*tls)->Reload().ok());
  EXPECT_EQ(Serial((*tls)->Current()), 2);
  EXPECT_EQ(Serial(held), 1);
  EXPECT_EQ(Reloads("ok"), 1u);
}

TEST_F(TlsContextTest, ReloadIfChangedReloadsOnlyWhenAFileChanged) {
  auto tls = TlsContext::Create(Options(), &metrics_);
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  EXPECT_FALSE((*tls)->ReloadIfChanged());
  EXPECT_EQ(Reloads("ok") + Reloads("error"), 0u);
  // Renewed by renaming new files over the old (a new inode each).
  std::filesystem::rename(pki_.Crt("two"), dir_.path() / "served.crt");
  std::filesystem::rename(pki_.Key("two"), dir_.path() / "served.key");
  EXPECT_TRUE((*tls)->ReloadIfChanged());
  EXPECT_EQ(Serial((*tls)->Current()), 2);
  EXPECT_FALSE((*tls)->ReloadIfChanged());
  EXPECT_EQ(Reloads("ok"), 1u);
}

TEST_F(TlsContextTest, UnknownAlpnIsAnError) {
  TlsOptions o = Options();
  o.alpn = "spdy/3";
  EXPECT_FALSE(TlsContext::Create(o, &metrics_).ok());
}

}  // namespace
}  // namespace infergate::net
