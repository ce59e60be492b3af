#include "grpc_target.h"

#include <grpcpp/grpcpp.h>

#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "grpc_service.grpc.pb.h"
#include "grpc_service.pb.h"

namespace infergate::bench {
namespace {

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "OTHER";
  }
}

core::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(const ClientSecurity& s) {
  if (!s.tls()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions o;
  ASSIGN_OR_RETURN(o.pem_root_certs, ReadPemFile(s.tls_ca));
  if (!s.tls_cert.empty()) {
    ASSIGN_OR_RETURN(o.pem_cert_chain, ReadPemFile(s.tls_cert));
    ASSIGN_OR_RETURN(o.pem_private_key, ReadPemFile(s.tls_key));
  }
  return grpc::SslCredentials(o);
}

// One call in flight; owned by the completion queue until it completes.
struct Call {
  Request request;
  grpc::ClientContext context;
  inference::ModelInferResponse response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<inference::ModelInferResponse>> reader;
};

class GrpcClient final : public Target {
 public:
  GrpcClient(GrpcOptions options, std::vector<inference::ModelInferRequest> requests)
      : options_(std::move(options)), requests_(std::move(requests)) {}
  ~GrpcClient() override { Stop(); }

  core::Status Start(CompletionFn on_done) override {
    on_done_ = std::move(on_done);
    const auto deadline = std::chrono::system_clock::now() + options_.timeout;
    auto credentials = Credentials(options_.security);
    if (!credentials.ok()) return credentials.status();
    for (int i = 0; i < std::max(options_.channels, 1); ++i) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection per channel
      args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
      auto channel = grpc::CreateCustomChannel(options_.address, *credentials, args);
      if (!channel->WaitForConnected(deadline)) {
        return core::Unavailable(std::string("cannot connect to ") + (options_.security.tls() ? "grpcs://" : "grpc://") +
                                 options_.address);
      }
      stubs_.push_back(inference::GRPCInferenceService::NewStub(channel));
    }
    thread_ = std::thread([this] { Drain(); });
    return core::Status::Ok();
  }

  void Submit(Request request) override {
    auto* call = new Call;
    call->request = request;
    call->context.set_deadline(std::chrono::system_clock::now() + options_.timeout);
    if (!options_.security.token.empty()) call->context.AddMetadata("authorization", "Bearer " + options_.security.token);
    auto& stub = stubs_[request.seq % stubs_.size()];
    {
      std::lock_guard lock(mu_);
      live_.insert(call);
    }
    call->reader = stub->PrepareAsyncModelInfer(&call->context, requests_[request.seq % requests_.size()], &cq_);
    call->reader->StartCall();
    call->reader->Finish(&call->response, &call->status, call);
  }

  void Stop() override {
    if (!thread_.joinable()) return;
    stopping_ = true;
    {
      std::lock_guard lock(mu_);
      for (Call* call : live_) call->context.TryCancel();
    }
    cq_.Shutdown();  // the cancelled calls still come out of Next, then it ends
    thread_.join();
  }

 private:
  void Drain() {
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
      std::unique_ptr<Call> call(static_cast<Call*>(tag));
      {
        std::lock_guard lock(mu_);
        live_.erase(call.get());
      }
      if (stopping_) continue;
      std::string error;
      if (!call->status.ok()) {
        error = std::string("grpc_") + CodeName(call->status.error_code());
      } else if (call->response.outputs_size() == 0) {
        error = "bad_reply";
      }
      on_done_({call->request, Clock::now(), error});
    }
  }

  const GrpcOptions options_;
  const std::vector<inference::ModelInferRequest> requests_;
  std::vector<std::unique_ptr<inference::GRPCInferenceService::Stub>> stubs_;
  grpc::CompletionQueue cq_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::unordered_set<Call*> live_;  // guarded by mu_
  CompletionFn on_done_;
};

}  // namespace

core::Status GrpcSharedMemory(const std::string& address, bool register_region, const std::string& region,
                              const std::string& key, uint64_t byte_size) {
  auto stub = inference::GRPCInferenceService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Status st;
  if (register_region) {
    inference::SystemSharedMemoryRegisterRequest request;
    request.set_name(region);
    request.set_key(key);
    request.set_offset(0);
    request.set_byte_size(byte_size);
    inference::SystemSharedMemoryRegisterResponse response;
    st = stub->SystemSharedMemoryRegister(&context, request, &response);
  } else {
    inference::SystemSharedMemoryUnregisterRequest request;
    request.set_name(region);
    inference::SystemSharedMemoryUnregisterResponse response;
    st = stub->SystemSharedMemoryUnregister(&context, request, &response);
  }
  if (st.ok()) return core::Status::Ok();
  return core::FailedPrecondition(std::string(register_region ? "SystemSharedMemoryRegister" : "SystemSharedMemoryUnregister") +
                                  " on " + address + ": " + CodeName(st.error_code()) + ": " + st.error_message());
}

core::StatusOr<std::unique_ptr<Target>> MakeGrpcTarget(const GrpcOptions& options, const PayloadSet& payloads) {
  if (payloads.binary) return core::InvalidArgument("the grpc target always sends raw tensors; drop --binary");
  std::vector<inference::ModelInferRequest> requests;
  for (const Payload& p : payloads.bodies) {
    ASSIGN_OR_RETURN(RawRequest raw, ToRawRequest(p));
    inference::ModelInferRequest r;
    r.set_model_name(options.model);
    r.set_model_version(options.model_version);
    for (auto& t : raw.inputs) {
      auto* in = r.add_inputs();
      in->set_name(t.name);
      in->set_datatype(t.datatype);
      for (int64_t d : t.shape) in->add_shape(d);
      if (!t.shm_region.empty()) {  // no raw contents: the server reads the region
        auto& params = *in->mutable_parameters();
        params["shared_memory_region"].set_string_param(t.shm_region);
        params["shared_memory_offset"].set_int64_param(t.shm_offset);
        params["shared_memory_byte_size"].set_int64_param(t.shm_byte_size);
        continue;
      }
      r.add_raw_input_contents(std::move(t.bytes));
    }
    requests.push_back(std::move(r));
  }
  return std::unique_ptr<Target>(std::make_unique<GrpcClient>(options, std::move(requests)));
}

}  // namespace infergate::bench
