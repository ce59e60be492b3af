// What one client can make the gRPC frontend hold, attacked as a client may
// (h2_attacker.h): partial messages on many calls are bounded per
// connection and in total (new calls are then refused RESOURCE_EXHAUSTED),
// replies never read stop new requests and end at the write timeout, a
// message that never completes ends at the stall timeout, and an error
// quoting a huge client input still reaches gRPC's own client.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "frontends/grpc/h2_attacker.h"
#include "frontends/grpc/in_process.h"
#include "testing/gate.h"
#include "testing/mlp_request.h"
#include "testing/model_repo.h"

namespace infergate::grpc_frontend {
namespace {

using std::chrono::milliseconds;

constexpr char kInfer[] = "/inference.GRPCInferenceService/ModelInfer";
constexpr size_t kMiB = 1 << 20;

class GrpcLimitsTest : public InProcessGrpcTest {
 protected:
  void SetUp() override {
    testing::CopyModel(repo_dir_, "identity_fp32.onnx", "id");
    repo_dir_.Write("id/config.yaml", "max_batch_size: 0\n");
    testing::CopyModel(repo_dir_, "mlp16.onnx", "mlp");
  }

  // A ModelInfer request on the identity model with `bytes` of input (and
  // as many of output).
  static std::string IdentityCall(size_t bytes, const std::string& id) {
    inference::ModelInferRequest request;
    request.set_model_name("id");
    request.set_id(id);
    auto* input = request.add_inputs();
    input->set_name("INPUT0");
    input->set_datatype("FP32");
    input->add_shape(1);
    input->add_shape(static_cast<int64_t>(bytes / sizeof(float)));
    request.add_raw_input_contents(std::string(bytes, '\x01'));
    return FramedMessage(request.SerializeAsString());
  }

  // A message announcing `announced` bytes of which `sent` come.
  static std::string Partial(size_t announced, size_t sent) {
    return FramedMessage(std::string(sent, 'p'), static_cast<int64_t>(announced));
  }

  bool ServesOk() {
    ::grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    inference::ModelInferResponse resp;
    return stub_->ModelInfer(&context, testing::MlpRequest("mlp", "ok", true), &resp).ok();
  }

  double Buffered() { return Gauge("infergate_grpc_buffered_bytes"); }
  double Closed(const std::string& reason) {
    return Counter("infergate_grpc_connections_closed_total", {{"reason", reason}});
  }
  // Until `done()`, polling; false after testing::kTestTimeout.
  template <typename Done>
  static bool Eventually(Done done) {
    const auto until = std::chrono::steady_clock::now() + testing::kTestTimeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return true;
  }
};

// 16 calls each sending 1 MiB of a message that never completes: the
// connection is credited only what fits in its 2 MiB, so that is all the
// client can send and all the server holds. (It used to credit every byte:
// 16 MiB here, 3.1 GB with 200 calls of 16 MB.)
TEST_F(GrpcLimitsTest, PartialMessagesAreHeldOnlyUpToTheConnectionBound) {
  GrpcFrontendOptions options;
  options.max_message_bytes = kMiB;
  options.max_connection_buffer_bytes = 2 * kMiB;
  Serve(options);
  H2Attacker attacker(frontend_->port(), /*read_replies=*/true);
  for (int i = 0; i < 16; ++i) attacker.Submit(kInfer, Partial(kMiB, kMiB - 64), /*end=*/false);
  attacker.PumpUntilBlocked(milliseconds(300), std::chrono::seconds(20));
  ASSERT_FALSE(attacker.failed());
  EXPECT_LE(attacker.sent(), 2 * kMiB + 64) << "the client sent more than the connection may hold";
  EXPECT_GT(attacker.sent(), kMiB) << "the client was not let up to the bound";
  EXPECT_TRUE(Eventually([&] { return Buffered() == static_cast<double>(attacker.sent()); })) << Buffered();
  EXPECT_TRUE(ServesOk());  // another connection is served meanwhile
}

// Two connections holding partial messages reach the 3 MiB total: a new
// call is refused RESOURCE_EXHAUSTED (and counted) until they are gone.
TEST_F(GrpcLimitsTest, AtTheTotalBoundNewCallsAreRefusedUntilBytesAreFreed) {
  GrpcFrontendOptions options;
  options.max_message_bytes = kMiB;
  options.max_connection_buffer_bytes = 2 * kMiB;
  options.max_buffered_bytes = 3 * kMiB;
  Serve(options);
  {
    H2Attacker a(frontend_->port(), true), b(frontend_->port(), true);
    for (int i = 0; i < 4; ++i) {
      a.Submit(kInfer, Partial(kMiB, kMiB - 64), false);
      b.Submit(kInfer, Partial(kMiB, kMiB - 64), false);
    }
    for (int round = 0; round < 2; ++round) {
      a.PumpUntilBlocked(milliseconds(200), std::chrono::seconds(10));
      b.PumpUntilBlocked(milliseconds(200), std::chrono::seconds(10));
    }
    EXPECT_GE(Buffered(), 3.0 * kMiB);
    EXPECT_LE(a.sent() + b.sent(), 5 * kMiB) << "credit was given past the total bound";

    ::grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    inference::ModelInferResponse resp;
    const ::grpc::Status st = stub_->ModelInfer(&context, testing::MlpRequest("mlp", "no", true), &resp);
    EXPECT_EQ(st.error_code(), ::grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
    EXPECT_EQ(Counter("infergate_grpc_requests_rejected_total", {{"reason", "resource_exhausted"}}), 1);
  }
  EXPECT_TRUE(Eventually([&] { return Buffered() == 0; })) << Buffered();
  EXPECT_TRUE(ServesOk());
}

// A unary client that never reads its replies: once more than 2 MiB of
// them wait, its next calls are not taken (it used to be answered call
// after call, 1.6 GB of replies held); at the write timeout it is closed.
TEST_F(GrpcLimitsTest, RepliesNeverReadStopNewCallsAndEndAtTheWriteTimeout) {
  GrpcFrontendOptions options;
  options.max_connection_unsent_bytes = 2 * kMiB;
  options.write_timeout_secs = 3;
  Serve(options);
  const core::Labels done = {{"model", "id"}, {"version", "1"}, {"outcome", "success"}};
  const auto answered = [&] { return Counter("infergate_inference_requests_total", done); };
  H2Attacker attacker(frontend_->port(), /*read_replies=*/false);
  int submitted = 0;
  for (; submitted < 8; ++submitted) {
    attacker.Submit(kInfer, IdentityCall(kMiB, std::to_string(submitted)), true);
    if (!attacker.PumpUntil([&] { return answered() > submitted; }, milliseconds(1000))) break;
  }
  EXPECT_LE(answered(), 3) << "calls were still taken with more than 2 MiB of replies unread";
  EXPECT_LT(submitted, 8);
  ASSERT_TRUE(attacker.PumpUntil([&] { return attacker.failed(); }, milliseconds(20000)))
      << "not closed at the write timeout";
  EXPECT_EQ(Closed("write_timeout"), 1);
  EXPECT_TRUE(Eventually([&] { return Buffered() == 0; })) << Buffered();
  EXPECT_TRUE(ServesOk());
}

// Half a message, then nothing: closed at the stall timeout and counted.
// A connection with a call open and no partial message is left alone.
TEST_F(GrpcLimitsTest, AMessageThatNeverCompletesEndsAtTheStallTimeout) {
  GrpcFrontendOptions options;
  options.stall_timeout_secs = 0.5;
  Serve(options);
  H2Attacker quiet(frontend_->port(), true);
  quiet.Submit("/inference.GRPCInferenceService/ModelStreamInfer", "", false);
  H2Attacker stuck(frontend_->port(), true);
  stuck.Submit(kInfer, Partial(5000, 1000), false);
  ASSERT_TRUE(stuck.PumpUntil([&] { return stuck.failed(); }, milliseconds(20000))) << "never closed";
  EXPECT_EQ(Closed("stalled"), 1);
  EXPECT_TRUE(quiet.Pump(milliseconds(100))) << "a connection without a partial message was closed";
  EXPECT_TRUE(Eventually([&] { return Buffered() == 0; })) << Buffered();
}

// A 100,000-character model name: gRPC's client gets NOT_FOUND promptly
// with the message cut to 1 KiB. The whole name in the trailer used to be
// more than the client takes, and no reply arrived at all.
TEST_F(GrpcLimitsTest, AnErrorQuotingAHugeInputReachesTheClient) {
  Serve({});
  const std::string name(100000, 'n');
  {
    ::grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    inference::ModelInferResponse resp;
    const ::grpc::Status st = stub_->ModelInfer(&context, testing::MlpRequest(name, "x", true), &resp);
    EXPECT_TRUE(st.error_code() == ::grpc::StatusCode::NOT_FOUND ||
                st.error_code() == ::grpc::StatusCode::INVALID_ARGUMENT)
        << st.error_code() << " " << st.error_message().substr(0, 200);
    EXPECT_LE(st.error_message().size(), 1024u);
  }
  {
    ::grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    inference::ModelMetadataRequest req;
    req.set_name(name);
    inference::ModelMetadataResponse resp;
    const ::grpc::Status st = stub_->ModelMetadata(&context, req, &resp);
    EXPECT_TRUE(st.error_code() == ::grpc::StatusCode::NOT_FOUND ||
                st.error_code() == ::grpc::StatusCode::INVALID_ARGUMENT)
        << st.error_code() << " " << st.error_message().substr(0, 200);
  }
  EXPECT_TRUE(ServesOk());
}

}  // namespace
}  // namespace infergate::grpc_frontend
