// The gRPC frontend's share of a ModelInfer on the request path: decoding a
// ModelInferRequest for mlp16 (FP32 [batch,16]) into a core::InferRequest and
// encoding the [batch,4] reply, for raw and typed contents at batch 1, 32 and
// 9408 (600 KB of input).
// Parsing and serialising the protobuf message is gRPC's share and is
// measured too (Parse*, Serialize*), so the codec can be read against it.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "frontends/grpc/codec.h"
#include "testing/mlp_request.h"

namespace infergate::grpc_frontend {
namespace {

void BM_DecodeRequest(benchmark::State& state) {
  const bool raw = state.range(0) != 0;
  const auto message = testing::MlpRequest("mlp", "id", raw, state.range(1));
  for (auto _ : state) {
    core::InferRequest request;
    benchmark::DoNotOptimize(DecodeInferRequest(message, InputLimits{}, nullptr, &request).ok());
  }
}

// The same with the message handed over (what the frontend does): raw
// contents are borrowed instead of copied.
void BM_DecodeSharedRequest(benchmark::State& state) {
  const bool raw = state.range(0) != 0;
  const auto message =
      std::make_shared<const inference::ModelInferRequest>(testing::MlpRequest("mlp", "id", raw, state.range(1)));
  for (auto _ : state) {
    core::InferRequest request;
    benchmark::DoNotOptimize(DecodeInferRequest(message, InputLimits{}, nullptr, &request).ok());
  }
}

void BM_EncodeResponse(benchmark::State& state) {
  const bool raw = state.range(0) != 0;
  const int64_t batch = state.range(1);
  core::InferResponse response;
  response.model_name = "mlp";
  response.model_version = 1;
  std::vector<float> values(static_cast<size_t>(batch) * 4, 0.25f);
  response.outputs.push_back({"probabilities", core::Tensor::FromValues(core::DataType::kFp32, {batch, 4}, values), {}});
  for (auto _ : state) {
    inference::ModelInferResponse out;
    const ResponseEncoding encoding{raw ? ContentsForm::kRaw : ContentsForm::kTyped, {}};
    benchmark::DoNotOptimize(EncodeInferResponse(response, encoding, &out).ok());
  }
}

void BM_ParseRequest(benchmark::State& state) {
  const std::string wire = testing::MlpRequest("mlp", "id", state.range(0) != 0, state.range(1)).SerializeAsString();
  for (auto _ : state) {
    inference::ModelInferRequest message;
    benchmark::DoNotOptimize(message.ParseFromString(wire));
  }
}

void Args(benchmark::internal::Benchmark* b) {
  // 9408 rows of 16 floats: 600 KB, an image of 3x224x224 floats.
  for (int64_t batch : {1, 32, 9408}) {
    for (int64_t raw : {1, 0}) b->Args({raw, batch});
  }
  b->ArgNames({"raw", "batch"});
}

BENCHMARK(BM_ParseRequest)->Apply(Args);
BENCHMARK(BM_DecodeRequest)->Apply(Args);
BENCHMARK(BM_DecodeSharedRequest)->Apply(Args);
BENCHMARK(BM_EncodeResponse)->Apply(Args);

}  // namespace
}  // namespace infergate::grpc_frontend

BENCHMARK_MAIN();
