// The gRPC frontend's connections over a loopback socket, with an inference
// service that holds requests until the test answers them: Drain answers
// every ModelInfer call in flight and refuses new connections; a connection
// with no call and no traffic for idle_timeout_secs is closed, one with a
// call open is not; max_connections caps the connections open at once.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <vector>

#include "frontends/grpc/grpc_frontend.h"
#include "grpc_service.grpc.pb.h"
#include "testing/fake_backend.h"
#include "testing/held_inference.h"
#include "testing/http_client.h"
#include "testing/mlp_request.h"
#include "testing/served_repository.h"
#include "testing/temp_dir.h"

namespace infergate::grpc_frontend {
namespace {

using std::chrono::steady_clock;

class GrpcConnectionTest : public ::testing::Test {
 protected:
  void Serve(GrpcFrontendOptions options) {
    auto repo = testing::MakeServedRepository(dir_.path(), &backend_);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repository_ = std::move(*repo);
    options.address = "127.0.0.1";
    options.port = 0;
    auto frontend = GrpcFrontend::Create(options, {repository_.get(), &inference_, &metrics_});
    ASSERT_TRUE(frontend.ok()) << frontend.status().ToString();
    frontend_ = std::move(*frontend);
    ASSERT_TRUE(frontend_->Start().ok());
  }
  std::unique_ptr<inference::GRPCInferenceService::Stub> NewStub() {
    return inference::GRPCInferenceService::NewStub(::grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(frontend_->port()), ::grpc::InsecureChannelCredentials()));
  }

  testing::TempDir dir_;
  testing::FakeBackend backend_;
  core::MetricsRegistry metrics_;
  testing::HeldInference inference_;
  std::unique_ptr<core::ModelRepository> repository_;
  std::unique_ptr<GrpcFrontend> frontend_;
};

TEST_F(GrpcConnectionTest, DrainAnswersEveryCallInFlightThenReturns) {
  Serve({});
  auto stub = NewStub();
  constexpr int kInFlight = 32;
  std::mutex mu;
  std::condition_variable cv;
  int ok = 0, done = 0;
  std::vector<std::unique_ptr<::grpc::ClientContext>> contexts;
  std::vector<inference::ModelInferResponse> responses(kInFlight);
  std::vector<inference::ModelInferRequest> requests;
  for (int i = 0; i < kInFlight; ++i) requests.push_back(testing::MlpRequest("m", std::to_string(i), true));
  for (int i = 0; i < kInFlight; ++i) {
    contexts.push_back(std::make_unique<::grpc::ClientContext>());
    stub->async()->ModelInfer(contexts.back().get(), &requests[i], &responses[i], [&](::grpc::Status s) {
      std::lock_guard lock(mu);
      ok += s.ok();
      ++done;
      cv.notify_all();
    });
  }
  ASSERT_TRUE(inference_.WaitHeld(kInFlight));
  testing::RawConnection idle("127.0.0.1", frontend_->port());  // no call

  auto drained =
      std::async(std::launch::async, [this] { return frontend_->Drain(steady_clock::now() + std::chrono::seconds(20)); });
  const auto until = steady_clock::now() + testing::kTestTimeout;
  bool refused = false;
  while (!refused && steady_clock::now() < until) {
    refused = !testing::RawConnection("127.0.0.1", frontend_->port()).connected();
  }
  EXPECT_TRUE(refused);
  idle.ReadUntilClosed(std::chrono::seconds(10));  // closed at once: it had no call
  EXPECT_TRUE(idle.closed());
  {
    // A new call on the open connection is refused.
    ::grpc::ClientContext c;
    inference::ModelInferResponse r;
    EXPECT_EQ(stub->ModelInfer(&c, testing::MlpRequest("m", "late", true), &r).error_code(),
              ::grpc::StatusCode::UNAVAILABLE);
  }
  EXPECT_EQ(drained.wait_for(std::chrono::seconds(0)), std::future_status::timeout);  // 32 still in flight

  const auto released = steady_clock::now();
  inference_.ReleaseAll();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(testing::WaitFor(cv, lock, [&] { return done == kInFlight; }));
  }
  EXPECT_EQ(ok, kInFlight);
  EXPECT_TRUE(drained.get());
  EXPECT_LT(steady_clock::now() - released, std::chrono::seconds(5));
  frontend_->Stop();
}

TEST_F(GrpcConnectionTest, AnIdleConnectionIsClosedOneWithACallOpenIsNot) {
  GrpcFrontendOptions options;
  options.idle_timeout_secs = 0.2;
  Serve(options);
  // A stream with a request held: open, but no byte moves on it for a while.
  auto stub = NewStub();
  ::grpc::ClientContext context;
  auto stream = stub->ModelStreamInfer(&context);
  ASSERT_TRUE(stream->Write(testing::MlpRequest("m", "held", true)));
  ASSERT_TRUE(inference_.WaitHeld(1));

  const auto opened = steady_clock::now();
  testing::RawConnection idle("127.0.0.1", frontend_->port());
  ASSERT_TRUE(idle.connected());
  idle.ReadUntilClosed(std::chrono::seconds(10));
  EXPECT_TRUE(idle.closed());
  EXPECT_GE(steady_clock::now() - opened, std::chrono::milliseconds(200));

  // The stream's connection was idle of bytes as long: still open.
  inference_.ReleaseAll();
  inference::ModelStreamInferResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.infer_response().id(), "held");
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(GrpcConnectionTest, MaxConnectionsRefusesTheNextConnection) {
  GrpcFrontendOptions options;
  options.max_connections = 1;
  Serve(options);
  auto stub = NewStub();
  ::grpc::ClientContext c;
  inference::ServerLiveResponse r;
  ASSERT_TRUE(stub->ServerLive(&c, {}, &r).ok());  // holds the one connection
  testing::RawConnection second("127.0.0.1", frontend_->port());
  second.ReadUntilClosed(std::chrono::seconds(10));
  EXPECT_TRUE(second.closed());
  EXPECT_EQ(metrics_.GetCounter("infergate_connections_refused_total", "", {{"frontend", "grpc"}, {"reason", "limit"}})
                .value(),
            1u);
  EXPECT_EQ(metrics_.GetGauge("infergate_connections_open", "", {{"frontend", "grpc"}}).value(), 1);
}

}  // namespace
}  // namespace infergate::grpc_frontend
