// `infergate serve` under systemd's notification protocol (Type=notify,
// WatchdogSec): a datagram socket owned by the test stands in for systemd.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include "testing/model_repo.h"
#include "testing/network.h"
#include "testing/process.h"
#include "testing/serve_command.h"
#include "testing/temp_dir.h"
#include "testing/time_scale.h"

namespace infergate {
namespace {

using testing::Process;
using testing::TempDir;

// The receiving end of NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    bound_ = fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~NotifySocket() {
    if (fd_ >= 0) close(fd_);
  }
  bool bound() const { return bound_; }
  // The next datagram, or "" after `timeout`.
  std::string Receive(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(testing::Scaled(timeout).count())) <= 0) return "";
    char buf[512];
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
  // Datagrams until one contains `what` (true) or `timeout` passes.
  bool WaitFor(const std::string& what, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + testing::Scaled(timeout);
    while (std::chrono::steady_clock::now() < end) {
      if (Receive(std::chrono::milliseconds(100)).find(what) != std::string::npos) return true;
    }
    return false;
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

int LoggedPort(Process& server, const std::string& frontend) {
  auto m = server.WaitForLine(frontend + ": listening on [^ ]+:([0-9]+)", std::chrono::seconds(1));
  return m ? std::stoi((*m)[1]) : -1;
}

TEST(SystemdNotifyE2ETest, ReadyAfterListenersWatchdogPingsStoppingOnSigterm) {
  TempDir dir;
  TempDir repo;
  testing::CopyModel(repo, "mlp16.onnx", "mlp", 1);
  const std::string socket_path = (dir.path() / "notify").string();
  NotifySocket systemd(socket_path);
  ASSERT_TRUE(systemd.bound()) << std::strerror(errno);
  // The child inherits these; this test's process starts no other.
  setenv("NOTIFY_SOCKET", socket_path.c_str(), 1);
  setenv("WATCHDOG_USEC", "400000", 1);  // a ping every 200 ms
  Process server(testing::ServeCommand({"--model-repository", repo.path().string()}));
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  ASSERT_TRUE(server.started());

  ASSERT_TRUE(systemd.WaitFor("READY=1", std::chrono::seconds(30))) << server.Output();
  // By READY=1 the model is loaded and both frontends accept connections.
  EXPECT_NE(server.Output().find("model mlp version 1 READY"), std::string::npos) << server.Output();
  const int http = LoggedPort(server, "http");
  const int grpc = LoggedPort(server, "grpc");
  ASSERT_GT(http, 0) << server.Output();
  ASSERT_GT(grpc, 0) << server.Output();
  // Listening already: the first connection attempt succeeds.
  EXPECT_TRUE(testing::WaitForPort(http, std::chrono::milliseconds(100)));
  EXPECT_TRUE(testing::WaitForPort(grpc, std::chrono::milliseconds(100)));

  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(systemd.WaitFor("WATCHDOG=1", std::chrono::seconds(2))) << "ping " << i << "\n" << server.Output();
  }

  ASSERT_EQ(kill(server.pid(), SIGTERM), 0);
  EXPECT_TRUE(systemd.WaitFor("STOPPING=1", std::chrono::seconds(10))) << server.Output();
  EXPECT_EQ(server.Wait(), 0) << server.Output();
}

TEST(SystemdNotifyE2ETest, WithoutNotifySocketServesAsBefore) {
  TempDir repo;
  testing::CopyModel(repo, "mlp16.onnx", "mlp", 1);
  unsetenv("NOTIFY_SOCKET");
  Process server(testing::ServeCommand({"--model-repository", repo.path().string()}));
  ASSERT_TRUE(server.WaitForLine("infergate ready")) << server.Output();
  EXPECT_EQ(server.Output().find("systemd"), std::string::npos) << server.Output();
  EXPECT_EQ(server.Stop(SIGTERM), 0) << server.Output();
}

}  // namespace
}  // namespace infergate
