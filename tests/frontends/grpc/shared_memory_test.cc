// Triton's system shared memory extension over gRPC, in process through a
// generated stub: SystemSharedMemoryRegister/Status/Unregister and their
// errors, inference with inputs and outputs in shared memory beside ones that
// are not, and the extension turned off.
#include "core/shared_memory.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstring>

#include "frontends/grpc/in_process.h"
#include "testing/grpc_shared_memory.h"
#include "testing/model_repo.h"
#include "testing/shm_object.h"

namespace infergate::grpc_frontend {
namespace {

using testing::ShmObject;

::grpc::Status Register(inference::GRPCInferenceService::Stub& stub, const std::string& name,
                        const std::string& key, uint64_t offset, uint64_t byte_size) {
  inference::SystemSharedMemoryRegisterRequest req;
  req.set_name(name);
  req.set_key(key);
  req.set_offset(offset);
  req.set_byte_size(byte_size);
  inference::SystemSharedMemoryRegisterResponse resp;
  ::grpc::ClientContext context;
  return stub.SystemSharedMemoryRegister(&context, req, &resp);
}

::grpc::Status GetStatus(inference::GRPCInferenceService::Stub& stub, const std::string& name,
                         inference::SystemSharedMemoryStatusResponse* resp) {
  inference::SystemSharedMemoryStatusRequest req;
  req.set_name(name);
  ::grpc::ClientContext context;
  return stub.SystemSharedMemoryStatus(&context, req, resp);
}

::grpc::Status Unregister(inference::GRPCInferenceService::Stub& stub, const std::string& name) {
  inference::SystemSharedMemoryUnregisterRequest req;
  req.set_name(name);
  inference::SystemSharedMemoryUnregisterResponse resp;
  ::grpc::ClientContext context;
  return stub.SystemSharedMemoryUnregister(&context, req, &resp);
}

std::vector<std::string> Extensions(inference::GRPCInferenceService::Stub& stub) {
  inference::ServerMetadataResponse meta;
  ::grpc::ClientContext context;
  EXPECT_TRUE(stub.ServerMetadata(&context, {}, &meta).ok());
  return {meta.extensions().begin(), meta.extensions().end()};
}

void ExpectError(const ::grpc::Status& st, ::grpc::StatusCode code, const std::string& text) {
  EXPECT_EQ(st.error_code(), code) << st.error_message();
  EXPECT_NE(st.error_message().find(text), std::string::npos) << st.error_message();
}

std::string Floats(std::vector<float> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

// add_sub: OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1, FP32 [1, 4].
// INPUT0 and OUTPUT0 are in shared memory, INPUT1 and OUTPUT1 are not.
inference::ModelInferRequest MixedAddSub() {
  inference::ModelInferRequest r;
  r.set_model_name("simple");
  for (const char* name : {"INPUT0", "INPUT1"}) {
    auto* in = r.add_inputs();
    in->set_name(name);
    in->set_datatype("FP32");
    in->add_shape(1);
    in->add_shape(4);
  }
  testing::InSharedMemory(r.mutable_inputs(0)->mutable_parameters(), "in", 0, 16);
  r.add_raw_input_contents(Floats({1, 1, 1, 1}));  // INPUT1's: the only input not in shared memory
  auto* sum = r.add_outputs();
  sum->set_name("OUTPUT0");
  testing::InSharedMemory(sum->mutable_parameters(), "out", 32, 64);
  r.add_outputs()->set_name("OUTPUT1");
  return r;
}

class GrpcSharedMemoryTest : public InProcessGrpcTest {
 protected:
  GrpcSharedMemoryTest() : object_(4096), registry_(4, &metrics_) {}
  void SetUp() override {
    testing::CopyModel(repo_dir_, "add_sub.onnx", "simple");
    Serve({}, &registry_);
  }
  // The frontend goes before the registry it was given.
  void TearDown() override { InProcessGrpcTest::TearDown(); }
  double Refused() {
    return Counter("infergate_grpc_requests_rejected_total", {{"reason", "shared_memory"}});
  }

  ShmObject object_;
  core::SharedMemoryRegistry registry_;
};

TEST_F(GrpcSharedMemoryTest, RegisterStatusUnregister) {
  EXPECT_EQ(Extensions(*stub_).back(), "system_shared_memory");
  ASSERT_TRUE(Register(*stub_, "a", object_.key(), 0, 1024).ok());
  ASSERT_TRUE(Register(*stub_, "b", object_.key(), 1024, 2048).ok());
  EXPECT_EQ(registry_.size(), 2u);
  EXPECT_EQ(Gauge("infergate_shared_memory_regions"), 2);

  inference::SystemSharedMemoryStatusResponse all;
  ASSERT_TRUE(GetStatus(*stub_, "", &all).ok());
  ASSERT_EQ(all.regions_size(), 2);
  const auto& b = all.regions().at("b");
  EXPECT_EQ(b.name(), "b");
  EXPECT_EQ(b.key(), object_.key());
  EXPECT_EQ(b.offset(), 1024u);
  EXPECT_EQ(b.byte_size(), 2048u);
  inference::SystemSharedMemoryStatusResponse one;
  ASSERT_TRUE(GetStatus(*stub_, "a", &one).ok());
  ASSERT_EQ(one.regions_size(), 1);
  EXPECT_EQ(one.regions().at("a").byte_size(), 1024u);
  EXPECT_EQ(Refused(), 0);

  ASSERT_TRUE(Unregister(*stub_, "a").ok());
  EXPECT_EQ(registry_.size(), 1u);
  ASSERT_TRUE(Unregister(*stub_, "").ok());  // every region
  EXPECT_EQ(registry_.size(), 0u);
  ASSERT_TRUE(GetStatus(*stub_, "", &all).ok());
  EXPECT_EQ(all.regions_size(), 0);
}

TEST_F(GrpcSharedMemoryTest, RefusalsGetTheirCodeAndAreCounted) {
  ASSERT_TRUE(Register(*stub_, "a", object_.key(), 0, 1024).ok());
  ExpectError(Register(*stub_, "a", object_.key(), 0, 8), ::grpc::StatusCode::ALREADY_EXISTS,
              "'a' is already registered");
  ExpectError(Register(*stub_, "b", "/infergate-no-such-object", 0, 8),
              ::grpc::StatusCode::NOT_FOUND, "no shared memory object");
  ExpectError(Register(*stub_, "b", "no-slash", 0, 8), ::grpc::StatusCode::INVALID_ARGUMENT,
              "POSIX shared memory name");
  ExpectError(Register(*stub_, "b", object_.key(), 4000, 200), ::grpc::StatusCode::INVALID_ARGUMENT,
              "past the end");
  ExpectError(Register(*stub_, "b", object_.key(), 0, 0), ::grpc::StatusCode::INVALID_ARGUMENT,
              "byte_size must be positive");
  ExpectError(Register(*stub_, "", object_.key(), 0, 8), ::grpc::StatusCode::INVALID_ARGUMENT,
              "needs a name");
  for (const char* name : {"b", "c", "d"})
    ASSERT_TRUE(Register(*stub_, name, object_.key(), 0, 8).ok());
  ExpectError(Register(*stub_, "e", object_.key(), 0, 8), ::grpc::StatusCode::RESOURCE_EXHAUSTED,
              "max_regions");
  inference::SystemSharedMemoryStatusResponse status;
  ExpectError(GetStatus(*stub_, "nosuch", &status), ::grpc::StatusCode::NOT_FOUND, "'nosuch'");
  ExpectError(Unregister(*stub_, "nosuch"), ::grpc::StatusCode::NOT_FOUND, "'nosuch'");
  EXPECT_EQ(Refused(), 9);
  EXPECT_EQ(registry_.size(), 4u);
}

TEST_F(GrpcSharedMemoryTest, InferenceReadsAndWritesSharedMemoryBesideRawContents) {
  ASSERT_TRUE(Register(*stub_, "in", object_.key(), 0, 1024).ok());
  ASSERT_TRUE(Register(*stub_, "out", object_.key(), 1024, 1024).ok());
  const float input0[] = {1, 2, 3, 4};
  object_.Write(0, input0, 4);
  inference::ModelInferResponse resp;
  {
    ::grpc::ClientContext context;
    auto st = stub_->ModelInfer(&context, MixedAddSub(), &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  ASSERT_EQ(resp.outputs_size(), 2);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(object_.data()) + 1024 + 32, 16),
            Floats({2, 3, 4, 5}));
  EXPECT_EQ(resp.outputs(0).parameters().at("shared_memory_region").string_param(), "out");
  EXPECT_EQ(resp.outputs(0).parameters().at("shared_memory_byte_size").int64_param(), 16);
  ASSERT_EQ(resp.raw_output_contents_size(), 2);
  EXPECT_EQ(resp.raw_output_contents(0), "");
  EXPECT_EQ(resp.raw_output_contents(1), Floats({0, 1, 2, 3}));

  // The same on a stream.
  ::grpc::ClientContext stream_context;
  auto stream = stub_->ModelStreamInfer(&stream_context);
  auto request = MixedAddSub();
  testing::InSharedMemory(request.mutable_outputs(0)->mutable_parameters(), "out", 128, 16);
  ASSERT_TRUE(stream->Write(request));
  inference::ModelStreamInferResponse streamed;
  ASSERT_TRUE(stream->Read(&streamed));
  EXPECT_EQ(streamed.error_message(), "");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(object_.data()) + 1024 + 128, 16),
            Floats({2, 3, 4, 5}));
  EXPECT_EQ(streamed.infer_response().raw_output_contents(1), Floats({0, 1, 2, 3}));
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());

  // An output larger than its window: refused, naming both sizes.
  request = MixedAddSub();
  testing::InSharedMemory(request.mutable_outputs(0)->mutable_parameters(), "out", 0, 8);
  ::grpc::ClientContext context;
  ExpectError(stub_->ModelInfer(&context, request, &resp), ::grpc::StatusCode::INVALID_ARGUMENT,
              "output 'OUTPUT0' is 16 bytes but its shared_memory_byte_size in region 'out' is 8");
}

class GrpcSharedMemoryOffTest : public InProcessGrpcTest {
 protected:
  void SetUp() override {
    testing::CopyModel(repo_dir_, "add_sub.onnx", "simple");
    Serve();
  }
};

TEST_F(GrpcSharedMemoryOffTest, EveryCallSaysTheExtensionIsDisabled) {
  const std::string disabled(core::kSharedMemoryDisabled);
  ShmObject object(64);
  ExpectError(Register(*stub_, "a", object.key(), 0, 8), ::grpc::StatusCode::FAILED_PRECONDITION,
              disabled);
  inference::SystemSharedMemoryStatusResponse status;
  ExpectError(GetStatus(*stub_, "", &status), ::grpc::StatusCode::FAILED_PRECONDITION, disabled);
  ExpectError(Unregister(*stub_, ""), ::grpc::StatusCode::FAILED_PRECONDITION, disabled);
  EXPECT_EQ(Counter("infergate_grpc_requests_rejected_total", {{"reason", "shared_memory"}}), 3);

  inference::ModelInferResponse resp;
  ::grpc::ClientContext context;
  ExpectError(stub_->ModelInfer(&context, MixedAddSub(), &resp),
              ::grpc::StatusCode::INVALID_ARGUMENT, "input 'INPUT0': " + disabled);
  for (const auto& e : Extensions(*stub_)) EXPECT_NE(e, "system_shared_memory");
}

}  // namespace
}  // namespace infergate::grpc_frontend
