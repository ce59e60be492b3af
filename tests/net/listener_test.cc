// The listener on a loopback socket: the connection cap refuses (closes and
// counts) the connection beyond it, and accepting goes on after accept
// itself failed (out of file descriptors).
#include "net/listener.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <vector>

#include "net/listener_fixture.h"
#include "testing/gate.h"
#include "testing/http_client.h"
#include "testing/sanitizers.h"

namespace infergate::net {
namespace {

// A connection that only keeps its stream open until closed.
class HeldConnection : public Connection, public std::enable_shared_from_this<HeldConnection> {
 public:
  explicit HeldConnection(Stream stream) : stream_(std::move(stream)) {}
  void Drain() override { Close(); }
  void Close() override {
    boost::asio::post(stream_.get_executor(), [self = shared_from_this()] { self->stream_.Close(); });
  }

 private:
  Stream stream_;
};

class ListenerTest : public ListenerFixture {
 protected:
  std::shared_ptr<Connection> MakeConnection(Stream stream) override {
    auto c = std::make_shared<HeldConnection>(std::move(stream));
    std::lock_guard lock(held_mu_);
    held_.push_back(c);
    return c;
  }
  void Open(size_t max_connections) {
    ListenerOptions options;
    options.accept_retry_delay = std::chrono::milliseconds(10);
    ListenerFixture::Open(options, max_connections);
  }
  uint64_t Refused() {
    return metrics_.GetCounter("infergate_connections_refused_total", "", {{"frontend", "test"}, {"reason", "limit"}})
        .value();
  }
  double OpenGauge() { return metrics_.GetGauge("infergate_connections_open", "", {{"frontend", "test"}}).value(); }

  std::mutex held_mu_;
  std::vector<std::shared_ptr<HeldConnection>> held_;  // GUARDED_BY(held_mu_)
};

TEST_F(ListenerTest, TheConnectionBeyondTheCapIsClosedAndCounted) {
  Open(2);
  testing::RawConnection a("127.0.0.1", listener_->port());
  testing::RawConnection b("127.0.0.1", listener_->port());
  ASSERT_TRUE(WaitAccepted(2));
  testing::RawConnection c("127.0.0.1", listener_->port());
  ASSERT_TRUE(c.connected());  // the kernel accepts; the listener closes it at once
  c.ReadUntilClosed(std::chrono::seconds(10));
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(Refused(), 1u);
  EXPECT_EQ(registry_->open(), 2u);
  EXPECT_EQ(OpenGauge(), 2);

  // Closing one frees its slot: the next connection is admitted.
  {
    std::lock_guard lock(held_mu_);
    held_[0]->Close();
  }
  a.ReadUntilClosed(std::chrono::seconds(10));
  ASSERT_TRUE(a.closed());
  testing::RawConnection d("127.0.0.1", listener_->port());
  ASSERT_TRUE(WaitAccepted(3));
  EXPECT_EQ(Refused(), 1u);
}

TEST_F(ListenerTest, AcceptGoesOnAfterAFailedAccept) {
  INFERGATE_SKIP_WITHOUT_FREE_DESCRIPTORS_UNDER_UBSAN();
  Open(0);
  const int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(client, 0);
  // No file descriptor left for the accepted socket: accept fails (EMFILE).
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  const int lowest_free = dup(0);
  ASSERT_GE(lowest_free, 0);
  close(lowest_free);
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(lowest_free);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(listener_->port()));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  auto& failures = metrics_.GetCounter("infergate_accept_failures_total", "", {{"frontend", "test"}});
  const auto until = std::chrono::steady_clock::now() + testing::kTestTimeout;
  while (failures.value() < 2 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_GE(failures.value(), 2u);  // it failed, and was retried
  // Descriptors are back: the waiting connection is accepted.
  EXPECT_TRUE(WaitAccepted(1));
  close(client);
}

TEST(ListenerErrors, ABusyPortIsUnavailableNamingTheAddress) {
  core::MetricsRegistry metrics;
  IoThreads io("test", 1);
  ConnectionRegistry registry("test", 0, &metrics);
  ListenerOptions options;
  options.address = "127.0.0.1";
  auto first = Listener::Open(options, &io, &registry, &metrics, [](Stream) { return nullptr; });
  ASSERT_TRUE(first.ok());
  options.port = (*first)->port();
  auto second = Listener::Open(options, &io, &registry, &metrics, [](Stream) { return nullptr; });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), core::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("test: cannot listen on 127.0.0.1:" + std::to_string(options.port)),
            std::string::npos);
  options.address = "::1";
  EXPECT_EQ(HostPort("::1", 80), "[::1]:80");
  options.address = "not-an-address";
  EXPECT_EQ(Listener::Open(options, &io, &registry, &metrics, [](Stream) { return nullptr; }).status().code(),
            core::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infergate::net
