// edge::Uplink without a broker (never started): which results it forwards,
// under which topic, and server::UplinkSlot, the result tap that swaps
// uplinks on SIGHUP without losing the results that come meanwhile.
#include "edge/uplink.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>

#include "server/uplink_slot.h"
#include "testing/temp_dir.h"

namespace infergate::edge {
namespace {

// A ResultEvent::hold whose release (the last copy destroyed) fulfils `released`.
std::shared_ptr<void> HoldToken(std::promise<void>* released) {
  return std::shared_ptr<void>(new int(0), [released](void* p) {
    delete static_cast<int*>(p);
    released->set_value();
  });
}

pipeline::Result MakeResult(const std::string& device, bool alert) {
  pipeline::Result r;
  r.device_id = device;
  r.model_name = "pump";
  r.label = alert ? "overheating" : "normal";
  r.alert = alert;
  return r;
}

class UplinkTest : public ::testing::Test {
 protected:
  std::unique_ptr<Uplink> Make(config::UplinkForward forward,
                               const std::string& file = "uplink.db") {
    UplinkOptions o;
    o.config.broker = "mqtt://127.0.0.1:1";  // never started: nothing connects
    o.config.topic_prefix = "sites/p3";
    o.config.forward = forward;
    o.outbox_path = (dir_.path() / file).string();
    o.client_id = "gw-uplink";
    o.local_topic_prefix = "infergate";
    UplinkDeps deps;
    deps.metrics = &metrics_;
    auto u = Uplink::Create(std::move(o), deps);
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    return u.ok() ? std::move(*u) : nullptr;
  }
  double Counter(const std::string& name, const core::Labels& labels = {}) {
    const auto* c = metrics_.FindCounter(name, labels);
    return c ? static_cast<double>(c->value()) : -1;
  }

  ::infergate::testing::TempDir dir_;
  core::MetricsRegistry metrics_;
};

TEST_F(UplinkTest, TheTopicIsThePrefixAndTheLocalTopicOrTheDefaultOne) {
  auto u = Make(config::UplinkForward::kResults);
  ASSERT_TRUE(u);
  const auto r = MakeResult("p7", false);
  EXPECT_EQ(u->TopicFor(r, "plant/p7/state"), "sites/p3/plant/p7/state");
  EXPECT_EQ(u->TopicFor(r, ""), "sites/p3/infergate/devices/p7/pump/result")
      << "HTTP and gRPC results";
}

TEST_F(UplinkTest, ForwardAlertsSkipsTheOtherResultsAndCountsThem) {
  auto u = Make(config::UplinkForward::kAlerts);
  ASSERT_TRUE(u);
  u->OnResult({MakeResult("p7", false), "t", nullptr});
  u->OnResult({MakeResult("p7", true), "t", nullptr});
  u->OnResult({MakeResult("p8", false), "t", nullptr});
  EXPECT_EQ(Counter("infergate_uplink_forwarded_total"), 1);
  EXPECT_EQ(Counter("infergate_uplink_skipped_total", {{"reason", "not_alert"}}), 2);
  u->Stop(core::Duration::zero());
  // The alert is in the outbox file for the next run.
  auto again = Make(config::UplinkForward::kNone);
  ASSERT_TRUE(again);
  again->OnResult({MakeResult("p7", true), "t", nullptr});
  EXPECT_EQ(Counter("infergate_uplink_skipped_total", {{"reason", "forward_none"}}), 1);
  const std::string text = metrics_.RenderPrometheus();
  EXPECT_NE(text.find("infergate_outbox_messages{outbox=\"uplink\"} 1\n"), std::string::npos)
      << text;
}

// The message of a forwarded result stays unanswered until the uplink's copy
// is durable: a crash before that brings the message again.
TEST_F(UplinkTest, AForwardedResultHoldsItsMessageUntilTheCopyIsDurable) {
  auto u = Make(config::UplinkForward::kAlerts);
  ASSERT_TRUE(u);
  std::promise<void> skipped_released;
  std::promise<void> forwarded_released;
  auto skipped = skipped_released.get_future();
  auto forwarded = forwarded_released.get_future();
  u->OnResult({MakeResult("p7", false), "t", HoldToken(&skipped_released)});
  EXPECT_EQ(skipped.wait_for(std::chrono::seconds(0)), std::future_status::ready)
      << "a result not forwarded holds nothing";
  u->OnResult({MakeResult("p7", true), "t", HoldToken(&forwarded_released)});
  ASSERT_EQ(forwarded.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "released once the outbox's write committed";
  u->Stop(core::Duration::zero());
  u.reset();
  auto again = Make(config::UplinkForward::kNone);
  ASSERT_TRUE(again);
  const std::string text = metrics_.RenderPrometheus();
  EXPECT_NE(text.find("infergate_outbox_messages{outbox=\"uplink\"} 1\n"), std::string::npos)
      << "the copy was in the file when the message was released\n"
      << text;
}

// A reload: the results that come between Take and Put go to the new uplink.
TEST_F(UplinkTest, TheSlotHoldsResultsWhileTheUplinkIsReplaced) {
  server::UplinkSlot slot;
  slot.OnResult({MakeResult("p1", true), "t", nullptr});  // no uplink: dropped
  slot.Put(Make(config::UplinkForward::kResults, "a.db"));
  slot.OnResult({MakeResult("p1", true), "t", nullptr});
  EXPECT_EQ(Counter("infergate_uplink_forwarded_total"), 1);
  auto old = slot.Take(true);
  old->Stop(core::Duration::zero());
  old.reset();
  std::promise<void> held_released;
  auto held = held_released.get_future();
  slot.OnResult({MakeResult("p2", true), "t", HoldToken(&held_released)});
  EXPECT_EQ(held.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "a held result keeps its message unanswered";
  slot.OnResult({MakeResult("p3", false), "t", nullptr});
  EXPECT_EQ(Counter("infergate_uplink_forwarded_total"), 1) << "held, not forwarded yet";
  slot.Put(Make(config::UplinkForward::kResults, "a.db"));
  EXPECT_EQ(Counter("infergate_uplink_forwarded_total"), 3)
      << "the held results, to the new uplink";
  EXPECT_EQ(held.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const std::string text = metrics_.RenderPrometheus();
  EXPECT_NE(text.find("infergate_outbox_messages{outbox=\"uplink\"} 3\n"), std::string::npos)
      << "the first stayed in the file, the two held ones joined it\n"
      << text;
  // Taken without holding (shutdown): later results are dropped.
  slot.Take(false)->Stop(core::Duration::zero());
  slot.OnResult({MakeResult("p4", true), "t", nullptr});
  slot.Put(nullptr);
  EXPECT_EQ(Counter("infergate_uplink_forwarded_total"), 3);
}

}  // namespace
}  // namespace infergate::edge
