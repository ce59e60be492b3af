#include "server/systemd_notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>

namespace infergate::server {
namespace {

TEST(SystemdNotifierTest, WithoutNotifySocketDoesNothing) {
  SystemdNotifier n(nullptr, "1000000");
  EXPECT_FALSE(n.enabled());
  EXPECT_FALSE(n.Notify("READY=1"));
  EXPECT_EQ(n.watchdog_interval().count(), 0);
  EXPECT_FALSE(SystemdNotifier("", nullptr).enabled());
  EXPECT_FALSE(SystemdNotifier("relative/path", nullptr).enabled());
}

TEST(SystemdNotifierTest, WatchdogIntervalIsHalfOfWatchdogUsec) {
  EXPECT_EQ(SystemdNotifier("/run/x", "30000000").watchdog_interval().count(), 15000);
  EXPECT_EQ(SystemdNotifier("/run/x", "1").watchdog_interval().count(), 1);
  EXPECT_EQ(SystemdNotifier("/run/x", "").watchdog_interval().count(), 0);
  EXPECT_EQ(SystemdNotifier("/run/x", "12abc").watchdog_interval().count(), 0);
  EXPECT_EQ(SystemdNotifier("/run/x", nullptr).watchdog_interval().count(), 0);
}

TEST(SystemdNotifierTest, SendsToAnAbstractSocket) {
  const std::string name = "infergate-notify-test-" + std::to_string(getpid());
  const int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr),
                 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size())),
            0);
  SystemdNotifier n(("@" + name).c_str(), nullptr);
  ASSERT_TRUE(n.enabled());
  EXPECT_TRUE(n.Notify("READY=1"));
  char buf[64];
  const ssize_t got = recv(fd, buf, sizeof(buf), 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(std::max<ssize_t>(got, 0))), "READY=1");
  close(fd);
}

}  // namespace
}  // namespace infergate::server
