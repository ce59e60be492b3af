#include "backends/remote/grpc_client.h"

#include <grpcpp/grpcpp.h>

#include <cstring>

#include "backends/remote/remote_status.h"
#include "grpc_service.grpc.pb.h"
#include "grpc_service.pb.h"

namespace infergate::remote {
namespace {

using core::DataType;
using core::Status;
using core::StatusOr;

constexpr int kMaxMessageBytes = 256 * 1024 * 1024;

Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return Status::Ok();
  core::StatusCode code = FromGrpcCode(s.error_code());
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
    return core::Unavailable("unreachable: " + s.error_message());
  }
  if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return Status(code, "no answer within the timeout (" + s.error_message() + ")");
  }
  return Status(code, s.error_message());
}

template <typename T, typename Field>
void AppendValues(const Field& values, std::vector<uint8_t>* bytes) {
  bytes->resize(static_cast<size_t>(values.size()) * sizeof(T));
  for (int i = 0; i < values.size(); ++i) {
    T v = static_cast<T>(values.Get(i));
    std::memcpy(bytes->data() + static_cast<size_t>(i) * sizeof(T), &v, sizeof(T));
  }
}

// Typed contents (a server that does not answer with raw contents) -> bytes.
Status TypedToBytes(DataType type, const inference::InferTensorContents& c, std::vector<uint8_t>* bytes) {
  switch (type) {
    case DataType::kBool: AppendValues<uint8_t>(c.bool_contents(), bytes); break;
    case DataType::kInt8: AppendValues<int8_t>(c.int_contents(), bytes); break;
    case DataType::kInt16: AppendValues<int16_t>(c.int_contents(), bytes); break;
    case DataType::kInt32: AppendValues<int32_t>(c.int_contents(), bytes); break;
    case DataType::kInt64: AppendValues<int64_t>(c.int64_contents(), bytes); break;
    case DataType::kUint8: AppendValues<uint8_t>(c.uint_contents(), bytes); break;
    case DataType::kUint16: AppendValues<uint16_t>(c.uint_contents(), bytes); break;
    case DataType::kUint32: AppendValues<uint32_t>(c.uint_contents(), bytes); break;
    case DataType::kUint64: AppendValues<uint64_t>(c.uint64_contents(), bytes); break;
    case DataType::kFp32: AppendValues<float>(c.fp32_contents(), bytes); break;
    case DataType::kFp64: AppendValues<double>(c.fp64_contents(), bytes); break;
    case DataType::kBytes:
      for (const auto& s : c.bytes_contents()) core::AppendBytesElement(s, bytes);
      break;
    default:
      return core::Internal("the remote sent " + std::string(core::DataTypeName(type)) +
                            " without raw contents");
  }
  return Status::Ok();
}

StatusOr<core::TensorSpec> SpecOf(const inference::ModelMetadataResponse::TensorMetadata& t) {
  core::TensorSpec spec;
  spec.name = t.name();
  spec.dtype = core::DataTypeFromName(t.datatype());
  if (spec.dtype == DataType::kInvalid) {
    return core::Internal("tensor '" + t.name() + "' has a datatype this server does not know: '" +
                          t.datatype() + "'");
  }
  spec.shape.assign(t.shape().begin(), t.shape().end());
  spec.dim_names.assign(spec.shape.size(), "");
  return spec;
}

void Encode(const std::string& model, const std::string& version, const std::vector<core::InferInput>& inputs,
            const std::vector<std::string>& output_names, inference::ModelInferRequest* out) {
  out->set_model_name(model);
  out->set_model_version(version);
  for (const auto& in : inputs) {
    auto* t = out->add_inputs();
    t->set_name(in.name);
    t->set_datatype(std::string(core::DataTypeName(in.tensor.dtype())));
    for (int64_t d : in.tensor.shape()) t->add_shape(d);
    out->add_raw_input_contents(reinterpret_cast<const char*>(in.tensor.data()), in.tensor.byte_size());
  }
  for (const auto& name : output_names) out->add_outputs()->set_name(name);
}

Status Decode(std::shared_ptr<const inference::ModelInferResponse> r, std::vector<core::InferOutput>* out) {
  const bool raw = r->raw_output_contents_size() > 0;
  if (raw && r->raw_output_contents_size() != r->outputs_size()) {
    return core::Internal("the remote sent " + std::to_string(r->raw_output_contents_size()) +
                          " raw contents for " + std::to_string(r->outputs_size()) + " outputs");
  }
  for (int i = 0; i < r->outputs_size(); ++i) {
    const auto& o = r->outputs(i);
    DataType type = core::DataTypeFromName(o.datatype());
    if (type == DataType::kInvalid) return core::Internal("output '" + o.name() + "': unknown datatype '" + o.datatype() + "'");
    core::Shape shape(o.shape().begin(), o.shape().end());
    core::Tensor tensor;
    if (raw) {
      const std::string& bytes = r->raw_output_contents(i);
      tensor = core::Tensor::BorrowIfAligned(type, shape, bytes.data(), bytes.size(), r);
    } else {
      std::vector<uint8_t> bytes;
      RETURN_IF_ERROR(TypedToBytes(type, o.contents(), &bytes));
      tensor = core::Tensor::FromBytes(type, shape, std::move(bytes));
    }
    RETURN_IF_ERROR(tensor.Validate("output '" + o.name() + "' from the remote"));
    out->push_back({o.name(), std::move(tensor), {}});
  }
  return Status::Ok();
}

class GrpcClient final : public RemoteClient {
 public:
  GrpcClient(RemoteTarget target, std::shared_ptr<grpc::Channel> channel)
      : target_(std::move(target)), channel_(std::move(channel)), stub_(inference::GRPCInferenceService::NewStub(channel_)) {}

  StatusOr<core::ModelSignature> Metadata() override {
    grpc::ClientContext context;
    Prepare(&context);
    inference::ModelMetadataResponse response;
    RETURN_IF_ERROR(FromGrpc(stub_->ModelMetadata(&context, Named<inference::ModelMetadataRequest>(), &response)));
    core::ModelSignature signature;
    for (const auto& t : response.inputs()) {
      ASSIGN_OR_RETURN(auto spec, SpecOf(t));
      signature.inputs.push_back(std::move(spec));
    }
    for (const auto& t : response.outputs()) {
      ASSIGN_OR_RETURN(auto spec, SpecOf(t));
      signature.outputs.push_back(std::move(spec));
    }
    signature.producer_name = "remote " + target_.url_text;
    signature.max_batch_size = RemoteMaxBatchSize();
    return signature;
  }

  Status Infer(const std::vector<core::InferInput>& inputs, const std::vector<std::string>& output_names,
               std::vector<core::InferOutput>* outputs) override {
    inference::ModelInferRequest request;
    Encode(target_.model, target_.version, inputs, output_names, &request);
    auto response = std::make_shared<inference::ModelInferResponse>();
    grpc::ClientContext context;
    Prepare(&context);
    RETURN_IF_ERROR(FromGrpc(stub_->ModelInfer(&context, request, response.get())));
    return Decode(std::move(response), outputs);
  }

 private:
  void Prepare(grpc::ClientContext* context) const {
    context->set_deadline(std::chrono::system_clock::now() + target_.timeout);
    if (target_.token) context->AddMetadata("authorization", "Bearer " + target_.token->Get());
  }

  // A metadata or config request naming the remote model and version.
  template <typename Request>
  Request Named() const {
    Request r;
    r.set_name(target_.model);
    r.set_version(target_.version);
    return r;
  }

  // The remote's max_batch_size (Triton's model configuration extension),
  // or -1 when it does not say.
  int64_t RemoteMaxBatchSize() {
    grpc::ClientContext context;
    Prepare(&context);
    inference::ModelConfigResponse response;
    if (!stub_->ModelConfig(&context, Named<inference::ModelConfigRequest>(), &response).ok() ||
        !response.has_config()) {
      return -1;
    }
    return response.config().max_batch_size();
  }

  const RemoteTarget target_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

}  // namespace

std::shared_ptr<grpc::Channel> GrpcChannels::Get(const RemoteTarget& target) {
  const std::string key = target.url.Authority() + (target.url.tls ? "|tls|" + target.ca_pem : "");
  std::lock_guard lock(mu_);
  if (auto channel = channels_[key].lock()) return channel;
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (target.url.tls) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = target.ca_pem;
    credentials = grpc::SslCredentials(o);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  auto channel = grpc::CreateCustomChannel(target.url.Authority(), credentials, args);
  channels_[key] = channel;
  return channel;
}

std::unique_ptr<RemoteClient> MakeGrpcClient(RemoteTarget target, std::shared_ptr<grpc::Channel> channel) {
  return std::make_unique<GrpcClient>(std::move(target), std::move(channel));
}

}  // namespace infergate::remote
