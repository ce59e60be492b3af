// The gRPC frontend in process, on the real repository, dispatcher and ONNX
// Runtime backend, so a test can read the server's gauges: cancelled calls
// and streams must leave nothing behind once the frontend has drained.
#include "frontends/grpc/grpc_frontend.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "frontends/grpc/in_process.h"
#include "testing/mlp_request.h"
#include "testing/model_repo.h"

namespace infergate::grpc_frontend {
namespace {

inference::ModelInferRequest SlowRequest(const std::string& id) {
  return testing::MlpRequest("slow", id, /*raw=*/true);
}

class GrpcFrontendTest : public InProcessGrpcTest {
 protected:
  void SetUp() override {
    testing::CopyModel(repo_dir_, "mlp16.onnx", "slow");
    testing::CopyModel(repo_dir_, "mlp16.onnx", "mlp");
    // Requests wait in the queue for 300 ms (a batch of 8 never fills).
    repo_dir_.Write("slow/config.yaml",
                    "max_batch_size: 8\ndynamic_batching:\n  preferred_batch_size: [8]\n"
                    "  max_queue_delay_microseconds: 300000\n  max_queue_size: 5\n");
    Serve();
  }
};

TEST_F(GrpcFrontendTest, CancelledCallsAndStreamsLeaveNothingBehind) {
  std::mutex mu;
  std::condition_variable cv;
  int cancelled = 0;
  std::vector<std::unique_ptr<::grpc::ClientContext>> contexts;
  std::vector<inference::ModelInferResponse> responses(3);
  const auto request = SlowRequest("u");
  for (int i = 0; i < 3; ++i) {
    contexts.push_back(std::make_unique<::grpc::ClientContext>());
    stub_->async()->ModelInfer(contexts.back().get(), &request, &responses[i], [&](::grpc::Status s) {
      std::lock_guard lock(mu);
      if (s.error_code() == ::grpc::StatusCode::CANCELLED) ++cancelled;
      cv.notify_all();
    });
  }
  ::grpc::ClientContext stream_context;
  auto stream = stub_->ModelStreamInfer(&stream_context);
  ASSERT_TRUE(stream->Write(SlowRequest("s1")));
  ASSERT_TRUE(stream->Write(SlowRequest("s2")));

  // Wait (bounded) until the server holds all five; they stay queued for 300 ms.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Gauge("infergate_grpc_inferences_in_flight") < 5 && std::chrono::steady_clock::now() < until) {
    std::this_thread::yield();
  }
  EXPECT_EQ(Gauge("infergate_grpc_inferences_in_flight"), 5);
  EXPECT_EQ(Gauge("infergate_grpc_streams_open"), 1);

  for (auto& c : contexts) c->TryCancel();
  stream_context.TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), ::grpc::StatusCode::CANCELLED);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return cancelled == 3; }));
  }
  // Drain returns when every call has finished, the cancelled ones included
  // (they finish when the scheduler answers their requests).
  EXPECT_TRUE(frontend_->Drain(std::chrono::steady_clock::now() + std::chrono::seconds(10)));
  frontend_->Stop();
  EXPECT_EQ(Gauge("infergate_grpc_inferences_in_flight"), 0);
  EXPECT_EQ(Gauge("infergate_grpc_streams_open"), 0);
  EXPECT_EQ(Gauge("infergate_inference_in_flight", {{"model", "slow"}, {"version", "1"}}), 0);
  EXPECT_EQ(metrics_.GetCounter("infergate_grpc_requests_rejected_total", "", {{"reason", "cancelled"}}).value(),
            0u);  // the scheduler answered them; the replies were dropped
}

TEST_F(GrpcFrontendTest, DrainAnswersCallsInFlightAndRefusesNewOnes) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<::grpc::Status> result;
  ::grpc::ClientContext context;
  inference::ModelInferResponse response;
  const auto request = SlowRequest("in-flight");
  stub_->async()->ModelInfer(&context, &request, &response, [&](::grpc::Status s) {
    std::lock_guard lock(mu);
    result = s;
    cv.notify_all();
  });
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Gauge("infergate_grpc_inferences_in_flight") < 1 && std::chrono::steady_clock::now() < until) {
    std::this_thread::yield();
  }
  ASSERT_EQ(Gauge("infergate_grpc_inferences_in_flight"), 1);

  bool drained = false;
  std::thread stopper([&] { drained = frontend_->Drain(std::chrono::steady_clock::now() + std::chrono::seconds(10)); });
  bool ready = true;
  until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ready && std::chrono::steady_clock::now() < until) {
    ::grpc::ClientContext c;
    inference::ServerReadyResponse r;
    ASSERT_TRUE(stub_->ServerReady(&c, {}, &r).ok());
    ready = r.ready();
  }
  EXPECT_FALSE(ready);
  {
    ::grpc::ClientContext c;
    inference::ModelInferResponse r;
    auto st = stub_->ModelInfer(&c, SlowRequest("late"), &r);
    EXPECT_EQ(st.error_code(), ::grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(st.error_message(), "the server is shutting down");
  }
  {
    // A new stream is refused too, whatever it goes on sending.
    ::grpc::ClientContext c;
    auto stream = stub_->ModelStreamInfer(&c);
    for (int i = 0; i < 3; ++i) stream->Write(testing::MlpRequest("mlp", "late-stream", true));
    stream->WritesDone();
    inference::ModelStreamInferResponse r;
    EXPECT_FALSE(stream->Read(&r));
    auto st = stream->Finish();
    EXPECT_EQ(st.error_code(), ::grpc::StatusCode::UNAVAILABLE);
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return result.has_value(); }));
  }
  EXPECT_TRUE(result->ok()) << result->error_message();
  EXPECT_EQ(response.id(), "in-flight");
  stopper.join();
  EXPECT_TRUE(drained);
  frontend_->Stop();
}

TEST_F(GrpcFrontendTest, StreamReadsOnlyAsFarAsItsInFlightLimit) {
  GrpcFrontendOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.max_stream_in_flight = 2;
  auto limited = GrpcFrontend::Create(options, {.repository = repository_.get(),
                                                .inference = dispatcher_.get(),
                                                .metrics = &metrics_,
                                                .statistics = dispatcher_.get()});
  ASSERT_TRUE(limited.ok()) << limited.status().ToString();
  ASSERT_TRUE((*limited)->Start().ok());
  auto stub = inference::GRPCInferenceService::NewStub(::grpc::CreateChannel(
      "127.0.0.1:" + std::to_string((*limited)->port()), ::grpc::InsecureChannelCredentials()));
  ::grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto stream = stub->ModelStreamInfer(&context);
  // The writer runs ahead of the server's reads; every request is answered.
  constexpr int kRequests = 40;
  std::thread writer([&] {
    for (int i = 0; i < kRequests; ++i) {
      if (!stream->Write(testing::MlpRequest(i % 5 == 4 ? "nosuch" : "mlp", std::to_string(i), i % 2 == 0))) break;
    }
    stream->WritesDone();
  });
  std::set<std::string> ids;
  int errors = 0;
  inference::ModelStreamInferResponse r;
  while (stream->Read(&r)) {
    ids.insert(r.infer_response().id());
    if (!r.error_message().empty()) ++errors;
    EXPECT_LE(Gauge("infergate_grpc_inferences_in_flight"), 2);
  }
  writer.join();
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(ids.size(), static_cast<size_t>(kRequests));
  EXPECT_EQ(errors, kRequests / 5);
  (*limited)->Stop();
  // A scheduler thread may still hold the last reply's callback, and with it
  // the stream's connection: the schedulers finish before the frontend goes.
  dispatcher_->Shutdown();
}

}  // namespace
}  // namespace infergate::grpc_frontend
