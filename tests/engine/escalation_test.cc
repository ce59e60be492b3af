#include "engine/escalation.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <vector>

namespace infergate::engine {
namespace {

using std::chrono::milliseconds;

// Holds every request; the test answers them.
class FakeInner final : public core::InferenceService {
 public:
  void Submit(std::unique_ptr<core::InferRequest> request) override {
    std::lock_guard lock(mu);
    requests.push_back(std::move(request));
  }
  std::unique_ptr<core::InferRequest> Take(size_t i) {
    std::lock_guard lock(mu);
    return std::move(requests.at(i));
  }
  size_t size() {
    std::lock_guard lock(mu);
    return requests.size();
  }
  std::mutex mu;
  std::vector<std::unique_ptr<core::InferRequest>> requests;
};

void Answer(std::unique_ptr<core::InferRequest> request, float score, core::Status status = core::Status::Ok()) {
  auto r = std::make_unique<core::InferResponse>();
  r->status = status;
  r->model_name = request->model_name;
  r->model_version = 3;
  if (status.ok()) {
    r->outputs.push_back({"y", core::Tensor::FromValues(core::DataType::kFp32, {1, 1}, std::vector<float>{score}), {}});
  }
  request->on_complete(std::move(r));
}

// The answer, or an error response when none comes within 10 s.
std::unique_ptr<core::InferResponse> Get(std::future<std::unique_ptr<core::InferResponse>>& answer) {
  if (answer.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    auto none = std::make_unique<core::InferResponse>();
    none->status = core::Internal("no answer");
    return none;
  }
  return answer.get();
}

std::string Param(const core::InferResponse& r, const char* key) {
  auto it = r.parameters.find(key);
  return it == r.parameters.end() ? "" : std::get<std::string>(it->second);
}

class EscalationServiceTest : public ::testing::Test {
 protected:
  EscalationServiceTest() {
    config_->name = "small";
    config_->max_batch_size = 8;
    config_->outputs = {{"y", core::DataType::kFp32, {1}}};
    config_->escalate.emplace();
    config_->escalate->to = "big";
    config_->escalate->when = core::EscalationConfig::When::kScoreBelow;
    config_->escalate->score_below = 0.8;
    config_->escalate->timeout_ms = 300;
    config_->escalate->breaker_failures = 2;
    config_->escalate->breaker_open_secs = 10;
  }

  // Submits a request to `small`; the answer lands in the returned future.
  std::future<std::unique_ptr<core::InferResponse>> Ask() {
    auto promise = std::make_shared<std::promise<std::unique_ptr<core::InferResponse>>>();
    auto request = std::make_unique<core::InferRequest>();
    request->model_name = "small";
    request->id = "r1";
    request->inputs.push_back({"x", core::Tensor::FromValues(core::DataType::kFp32, {1, 1}, std::vector<float>{0}), {}});
    request->on_complete = [promise](std::unique_ptr<core::InferResponse> r) { promise->set_value(std::move(r)); };
    service_.Submit(std::move(request));
    return promise->get_future();
  }

  std::shared_ptr<core::ModelConfig> config_ = std::make_shared<core::ModelConfig>();
  core::ManualClock clock_;
  core::MetricsRegistry metrics_;
  FakeInner inner_;
  EscalatingService service_{&inner_,
                             [this](const std::string& model, int64_t) -> std::shared_ptr<const core::ModelConfig> {
                               return model == "small" ? config_ : nullptr;
                             },
                             &metrics_, &clock_};
};

TEST_F(EscalationServiceTest, ConfidentAnswersStayLocal) {
  auto answer = Ask();
  Answer(inner_.Take(0), 0.9f);
  auto r = Get(answer);
  EXPECT_EQ(Param(*r, "tier"), "edge");
  EXPECT_EQ(Param(*r, "escalation"), "");
  EXPECT_EQ(inner_.size(), 1u);
}

TEST_F(EscalationServiceTest, TheTargetsAnswerInTimeWins) {
  auto answer = Ask();
  Answer(inner_.Take(0), 0.5f);
  ASSERT_EQ(inner_.size(), 2u);
  auto target = inner_.Take(1);
  EXPECT_EQ(target->model_name, "big");
  EXPECT_EQ(target->inputs.at(0).name, "x");
  ASSERT_TRUE(target->deadline.has_value());
  EXPECT_EQ(*target->deadline, clock_.Now() + milliseconds(300));
  Answer(std::move(target), 0.99f);
  auto r = Get(answer);
  EXPECT_EQ(Param(*r, "tier"), "cloud");
  EXPECT_EQ(r->model_name, "small");  // the model the client asked
  EXPECT_EQ(r->id, "r1");
}

TEST_F(EscalationServiceTest, TimeoutsOpenTheBreakerThenAProbeClosesIt) {
  for (int i = 0; i < 2; ++i) {
    auto answer = Ask();
    Answer(inner_.Take(inner_.size() - 1), 0.5f);
    clock_.Advance(milliseconds(300));
    service_.WakeTimers();
    auto r = Get(answer);
    EXPECT_EQ(Param(*r, "tier"), "edge");
    EXPECT_EQ(Param(*r, "escalation"), "timeout");
    Answer(inner_.Take(inner_.size() - 1), 0.99f);  // too late: ignored
  }
  // Open: answered at once, nothing sent.
  auto answer = Ask();
  size_t before = inner_.size();
  Answer(inner_.Take(before - 1), 0.5f);
  EXPECT_EQ(inner_.size(), before);
  EXPECT_EQ(Param(*Get(answer), "escalation"), "unavailable");
  // After the cool-down one probe goes out; its success closes the breaker.
  clock_.Advance(std::chrono::seconds(10));
  auto probe = Ask();
  Answer(inner_.Take(inner_.size() - 1), 0.5f);
  Answer(inner_.Take(inner_.size() - 1), 0.99f);
  EXPECT_EQ(Param(*Get(probe), "tier"), "cloud");
  auto next = Ask();
  Answer(inner_.Take(inner_.size() - 1), 0.5f);
  Answer(inner_.Take(inner_.size() - 1), 0.99f);
  EXPECT_EQ(Param(*Get(next), "tier"), "cloud");
  EXPECT_EQ(metrics_.FindCounter("infergate_escalation_fallbacks_total", {{"model", "small"}, {"reason", "timeout"}})
                ->value(),
            2u);
}

TEST_F(EscalationServiceTest, ATargetErrorFallsBackAtOnce) {
  auto answer = Ask();
  Answer(inner_.Take(0), 0.5f);
  Answer(inner_.Take(1), 0, core::Unavailable("remote down"));
  auto r = Get(answer);
  EXPECT_EQ(Param(*r, "tier"), "edge");
  EXPECT_EQ(Param(*r, "escalation"), "unavailable");
  ASSERT_EQ(r->outputs.size(), 1u);  // the local answer
}

}  // namespace
}  // namespace infergate::engine
