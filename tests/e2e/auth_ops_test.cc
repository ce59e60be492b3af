// Authentication end to end, operations: the tokens file re-read on SIGHUP
// (a revoked token refused without a restart, a broken file keeping the
// tokens in use), `infergate token new` output used as-is, and the
// loopback-only operations seen from another address of this host.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <fstream>

#include "testing/auth_server.h"
#include "testing/http_client.h"
#include "testing/shm_object.h"

namespace infergate {
namespace {

using testing::AuthContext;
using testing::AuthServer;
using testing::CurlClient;
using testing::TokenEntry;

// The same length, so that a file with one replaced by the other has the same
// size (see Rewrite).
const std::string kOld = "tok-old-0123456789";
const std::string kNew = "tok-new-0123456789";
const std::string kAdmin = "tok-admin-0123456789";

std::vector<std::string> Bearer(const std::string& token) {
  return {"Authorization: Bearer " + token};
}

// An IPv4 address of an interface that is up and not loopback; empty if none.
std::string NonLoopbackAddress() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* i = list; i && found.empty(); i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) continue;
    char text[INET_ADDRSTRLEN];
    const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text))) found = text;
  }
  freeifaddrs(list);
  return found;
}

// Rewrites `file` in place with `text` (of the same size) and puts its
// modification time back, so that only SIGHUP, not the change check, reads it.
void RewriteUnnoticed(const std::filesystem::path& file, const std::string& text) {
  struct stat before {};
  ASSERT_EQ(stat(file.c_str(), &before), 0);
  ASSERT_EQ(static_cast<off_t>(text.size()), before.st_size);
  std::ofstream(file, std::ios::in | std::ios::out | std::ios::binary) << text;
  const timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, file.c_str(), times, 0), 0);
}

TEST(AuthReloadE2ETest, SighupRevokesAndABrokenFileKeepsTheTokens) {
  AuthServer server(TokenEntry("old", kOld, "read"));
  ASSERT_TRUE(server.ok()) << server.process().Output();
  CurlClient http("http://127.0.0.1:" + std::to_string(server.http_port()));
  ASSERT_EQ(http.Get("/v2", Bearer(kOld)).status, 200);

  // A typo: the file is refused, the old token still works.
  std::ofstream(server.tokens_file(), std::ios::trunc)
      << TokenEntry("old", kOld, "read") << "- name: [\n";
  kill(server.process().pid(), SIGHUP);
  ASSERT_TRUE(server.process().WaitForLine("auth: .*keeping the 1 tokens in use"))
      << server.process().Output();
  EXPECT_EQ(http.Get("/v2", Bearer(kOld)).status, 200);

  // The old token revoked, a new one added: no restart. The file is restored
  // first (the change check reads it), then changed unnoticed: SIGHUP reads it.
  std::ofstream(server.tokens_file(), std::ios::trunc) << TokenEntry("old", kOld, "read");
  ASSERT_TRUE(server.process().WaitForLine("auth: 1 tokens from")) << server.process().Output();
  RewriteUnnoticed(server.tokens_file(), TokenEntry("new", kNew, "read"));
  EXPECT_EQ(http.Get("/v2", Bearer(kOld)).status, 200) << "not read yet";
  kill(server.process().pid(), SIGHUP);
  ASSERT_TRUE(server.process().WaitForLine("auth: 1 tokens from")) << server.process().Output();
  const auto revoked = http.Get("/v2", Bearer(kOld));
  EXPECT_EQ(revoked.status, 401);
  EXPECT_EQ(revoked.headers.at("www-authenticate"),
            "Bearer realm=\"infergate\", error=\"invalid_token\"");
  EXPECT_EQ(http.Get("/v2", Bearer(kNew)).status, 200);
  auto stub = server.Stub();
  auto context = AuthContext("Bearer " + kOld);
  inference::ServerMetadataResponse meta;
  EXPECT_EQ(stub->ServerMetadata(context.get(), {}, &meta).error_code(),
            ::grpc::StatusCode::UNAUTHENTICATED);

  // The broken file was refused once or twice (SIGHUP, and the change check if it came first).
  const auto metrics = http.Get("/metrics", Bearer(kNew));
  const std::string errors = "infergate_auth_reloads_total{result=\"error\"} ";
  const size_t at = metrics.body.find(errors);
  ASSERT_NE(at, std::string::npos) << metrics.body;
  EXPECT_GE(std::stoi(metrics.body.substr(at + errors.size())), 1);
}

TEST(AuthReloadE2ETest, AChangedFileIsReadWithoutASignal) {
  AuthServer server(TokenEntry("old", kOld, "read"));
  ASSERT_TRUE(server.ok()) << server.process().Output();
  CurlClient http("http://127.0.0.1:" + std::to_string(server.http_port()));
  ASSERT_EQ(http.Get("/v2", Bearer(kOld)).status, 200);
  std::ofstream(server.tokens_file(), std::ios::trunc)
      << TokenEntry("new", kNew, "read") << "# rotated\n";
  ASSERT_TRUE(server.process().WaitForLine("auth: 1 tokens from")) << server.process().Output();
  EXPECT_EQ(http.Get("/v2", Bearer(kOld)).status, 401);
  EXPECT_EQ(http.Get("/v2", Bearer(kNew)).status, 200);
}

TEST(AuthTokenNewE2ETest, ItsOutputIsUsableAsIs) {
  testing::Process make({INFERGATE_BINARY, "token", "new", "--name", "plant-3", "--scopes",
                         "infer,read", "--models", "vib*"});
  ASSERT_EQ(make.Wait(), 0) << make.Output();
  const std::string out = make.Output();
  ASSERT_EQ(out.rfind("token: ", 0), 0u) << out;
  const std::string token = out.substr(7, out.find('\n') - 7);
  EXPECT_GE(token.size(), 43u);
  const std::string entry =
      out.substr(out.find("\n\n") + 2);  // comments and the entry, pasted whole
  EXPECT_EQ(entry.find(token), std::string::npos) << "only the hash goes into the file";

  AuthServer server(entry);
  ASSERT_TRUE(server.ok()) << server.process().Output();
  CurlClient http("http://127.0.0.1:" + std::to_string(server.http_port()));
  EXPECT_EQ(http.Get("/v2/models/vib_a", Bearer(token)).status, 200);
  EXPECT_EQ(http.Get("/v2/models/pump_b", Bearer(token)).status, 403);
  EXPECT_EQ(http.Post("/v2/repository/models/vib_a/load", "", Bearer(token)).status, 403);

  testing::Process bad({INFERGATE_BINARY, "token", "new", "--name", "x", "--scopes", "infer,root"});
  EXPECT_EQ(bad.Wait(), 2);
  EXPECT_NE(bad.Output().find("unknown scope 'root'"), std::string::npos) << bad.Output();
}

class NonLoopbackE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    address_ = NonLoopbackAddress();
    if (address_.empty())
      GTEST_SKIP() << "this host has no non-loopback IPv4 interface to connect through";
  }
  std::string address_;
  testing::ShmObject shm_{64};
};

TEST_F(NonLoopbackE2ETest, WithAuthOffRepositoryControlAndSharedMemoryAreLoopbackOnly) {
  AuthServer server(std::nullopt, "0.0.0.0");
  ASSERT_TRUE(server.ok()) << server.process().Output();
  EXPECT_NE(
      server.process().Output().find("http: listening on 0.0.0.0 without TLS or authentication"),
      std::string::npos)
      << server.process().Output();
  CurlClient remote("http://" + address_ + ":" + std::to_string(server.http_port()));
  CurlClient local("http://127.0.0.1:" + std::to_string(server.http_port()));
  const auto load = remote.Post("/v2/repository/models/vib_a/load", "");
  EXPECT_EQ(load.status, 403) << load.body;
  EXPECT_NE(load.body.find("loopback only while authentication is off"), std::string::npos)
      << load.body;
  EXPECT_EQ(remote.Get("/v2/systemsharedmemory/status").status, 403);
  EXPECT_EQ(remote
                .Post("/v2/systemsharedmemory/region/r/register",
                      R"({"key":")" + shm_.key() + R"(","byte_size":64})")
                .status,
            403);
  EXPECT_EQ(remote.Get("/v2/models/vib_a").status, 200) << "reading and inference stay open";
  EXPECT_EQ(local.Post("/v2/repository/models/vib_a/load", "").status, 200);
  EXPECT_EQ(local.Get("/v2/systemsharedmemory/status").status, 200);

  auto stub = server.Stub(address_);
  auto c1 = AuthContext("");
  inference::RepositoryModelLoadRequest req;
  req.set_model_name("vib_a");
  inference::RepositoryModelLoadResponse resp;
  const auto st = stub->RepositoryModelLoad(c1.get(), req, &resp);
  EXPECT_EQ(st.error_code(), ::grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  EXPECT_NE(st.error_message().find("loopback only"), std::string::npos);
  auto c2 = AuthContext("");
  inference::SystemSharedMemoryStatusResponse shm;
  EXPECT_EQ(stub->SystemSharedMemoryStatus(c2.get(), {}, &shm).error_code(),
            ::grpc::StatusCode::PERMISSION_DENIED);
  auto c3 = AuthContext("");
  inference::ServerMetadataResponse meta;
  EXPECT_TRUE(stub->ServerMetadata(c3.get(), {}, &meta).ok());
  auto c4 = AuthContext("");
  EXPECT_TRUE(server.Stub()->RepositoryModelLoad(c4.get(), req, &resp).ok()) << "from loopback";
}

TEST_F(NonLoopbackE2ETest, WithAuthOnAdminMayLoadRemotelyButNotRegisterSharedMemory) {
  AuthServer server(TokenEntry("adm", kAdmin, "admin"), "0.0.0.0");
  ASSERT_TRUE(server.ok()) << server.process().Output();
  EXPECT_EQ(server.process().Output().find("without TLS or authentication"), std::string::npos)
      << "authentication guards it: no warning\n"
      << server.process().Output();
  CurlClient remote("http://" + address_ + ":" + std::to_string(server.http_port()));
  EXPECT_EQ(remote.Post("/v2/repository/models/vib_a/load", "", Bearer(kAdmin)).status, 200);
  const std::string body = R"({"key":")" + shm_.key() + R"(","byte_size":64})";
  const auto reg = remote.Post("/v2/systemsharedmemory/region/r/register", body, Bearer(kAdmin));
  EXPECT_EQ(reg.status, 403) << reg.body;
  EXPECT_NE(reg.body.find("loopback peers only"), std::string::npos) << reg.body;
  CurlClient local("http://127.0.0.1:" + std::to_string(server.http_port()));
  EXPECT_EQ(local.Post("/v2/systemsharedmemory/region/r/register", body, Bearer(kAdmin)).status,
            200);

  auto stub = server.Stub(address_);
  auto context = AuthContext("Bearer " + kAdmin);
  inference::SystemSharedMemoryRegisterRequest req;
  req.set_name("g");
  req.set_key(shm_.key());
  req.set_byte_size(64);
  inference::SystemSharedMemoryRegisterResponse resp;
  const auto st = stub->SystemSharedMemoryRegister(context.get(), req, &resp);
  EXPECT_EQ(st.error_code(), ::grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
}

TEST(SharedMemoryKeysE2ETest, KeysOutsideThePrefixAreRefused) {
  AuthServer server(std::nullopt);
  ASSERT_TRUE(server.ok()) << server.process().Output();
  CurlClient local("http://127.0.0.1:" + std::to_string(server.http_port()));
  testing::ShmObject good(64);
  const auto bad =
      local.Post("/v2/systemsharedmemory/region/r/register", R"({"key":"/other","byte_size":64})");
  EXPECT_EQ(bad.status, 403) << bad.body;
  EXPECT_NE(bad.body.find("does not start with '/infergate_'"), std::string::npos) << bad.body;
  EXPECT_EQ(local
                .Post("/v2/systemsharedmemory/region/r/register",
                      R"({"key":")" + good.key() + R"(","byte_size":64})")
                .status,
            200);
}

}  // namespace
}  // namespace infergate
