// The KServe v2 JSON codec on the HTTP hot path: decoding the request the
// HTTP benchmark posts (mlp16: FP32 [1,16]) and encoding its reply
// (FP32 [1,4]), plus a large request (FP32 [1,65536]) and the binary-tensor
// form of the same, where the data is borrowed rather than parsed or copied.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

#include "core/tensor.h"
#include "protocol/v2_json.h"

namespace infergate {
namespace {

std::string JsonRequest(int n) {
  std::string data;
  for (int i = 0; i < n; ++i) data += (i ? "," : "") + std::to_string(0.1 * (i % 97));
  return R"({"id":"1","inputs":[{"name":"input","shape":[1,)" + std::to_string(n) +
         R"(],"datatype":"FP32","data":[)" + data + "]}]}";
}

void BM_DecodeJson(benchmark::State& state) {
  const auto body = std::make_shared<const std::string>(JsonRequest(static_cast<int>(state.range(0))));
  protocol::InferRequestDecoder decoder;
  for (auto _ : state) {
    core::InferRequest request;
    auto st = decoder.Decode(*body, body->size(), body, &request);
    if (!st.ok()) return state.SkipWithError(st.message().c_str());
    benchmark::DoNotOptimize(request.inputs.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body->size()));
}
BENCHMARK(BM_DecodeJson)->Arg(16)->Arg(65536);

void BM_DecodeBinary(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::string json = R"({"inputs":[{"name":"input","shape":[1,)" + std::to_string(n) +
                     R"(],"datatype":"FP32","parameters":{"binary_data_size":)" +
                     std::to_string(n * 4) + "}}]}";
  // The HTTP frontend stores bodies so the binary part starts aligned
  // (http/aligned_body.h); padding the JSON does the same here.
  json.append((16 - json.size() % 16) % 16, ' ');
  auto owned = std::make_shared<std::string>(json + std::string(static_cast<size_t>(n) * 4, '\0'));
  owned->reserve(owned->size() + 64);
  const std::shared_ptr<const std::string> body = owned;
  protocol::InferRequestDecoder decoder;
  for (auto _ : state) {
    core::InferRequest request;
    auto st = decoder.Decode(*body, json.size(), body, &request);
    if (!st.ok()) return state.SkipWithError(st.message().c_str());
    benchmark::DoNotOptimize(request.inputs.data());
  }
}
BENCHMARK(BM_DecodeBinary)->Arg(16)->Arg(65536);

void BM_EncodeJson(benchmark::State& state) {
  core::InferResponse response;
  response.model_name = "mlp";
  response.model_version = 1;
  response.id = "1";
  std::vector<float> values(static_cast<size_t>(state.range(0)));
  for (size_t i = 0; i < values.size(); ++i) values[i] = 0.123456f * static_cast<float>(i);
  response.outputs.push_back(
      {"probabilities",
       core::Tensor::FromValues<float>(core::DataType::kFp32, {1, state.range(0)}, values), {}});
  protocol::EncodedBody out;
  for (auto _ : state) {
    auto st = protocol::EncodeInferResponse(response, protocol::OutputEncoding(), &out);
    if (!st.ok()) return state.SkipWithError(st.message().c_str());
    benchmark::DoNotOptimize(out.body.data());
  }
}
BENCHMARK(BM_EncodeJson)->Arg(4)->Arg(65536);

}  // namespace
}  // namespace infergate

BENCHMARK_MAIN();
