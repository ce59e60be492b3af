// The ONNX Runtime backend's model pre-scan (backends/onnxruntime/onnx_scan.h)
// on a generated model of about --model_mb MB (default 100) of float weights,
// from the page cache:
//   WholeFileReadThenScan - read() the whole file into memory, then scan the
//                           bytes (how the backend did it before the pread
//                           scanner; the baseline);
//   PreadScan             - what Load does: FileByteSource::Open, the scan
//                           through it (weights skipped by offset), and
//                           CheckUnchanged.
// Two layouts of the same size: "large" has 1 MiB tensors, "small" 16 KiB
// ones (the scan skips each one, so many small tensors cost it more).
// The bytes_read counter is what each read from the file. docs/benchmarks.md
// ("Model pre-scan") has the results.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backends/onnxruntime/file_byte_source.h"
#include "backends/onnxruntime/onnx_scan.h"
#include "backends/onnxruntime/onnx_writer.h"

namespace infergate {
namespace {

namespace onnx = testing::onnx;

void WriteModel(const std::filesystem::path& file, int64_t total_bytes, int64_t tensor_bytes) {
  onnx::GraphParts g;
  g.nodes.push_back(onnx::Node("Identity", {"INPUT0"}, {"OUTPUT0"}));
  g.inputs.push_back(
      onnx::ValueInfo("INPUT0", onnx::TensorType(onnx::kFloat, {-1, 4}), "readings"));
  g.outputs.push_back(onnx::ValueInfo("OUTPUT0", onnx::TensorType(onnx::kFloat, {-1, 4})));
  std::ofstream out(file, std::ios::binary);
  onnx::WriteModelWithWeights(out, g, static_cast<int>(total_bytes / tensor_bytes),
                              tensor_bytes / 4);
}

// The baseline: the whole file in memory.
std::vector<uint8_t> ReadWholeFile(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) std::abort();
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  bytes.resize(done);
  return bytes;
}

void BM_WholeFileReadThenScan(benchmark::State& state, const std::filesystem::path& model) {
  uint64_t bytes_read = 0;
  for (auto _ : state) {
    std::vector<uint8_t> bytes = ReadWholeFile(model);
    bytes_read = bytes.size();
    ort::OnnxFileFacts facts = ort::ScanOnnxModel(bytes);
    if (!facts.well_formed) state.SkipWithError("not well formed");
    benchmark::DoNotOptimize(facts);
  }
  state.counters["bytes_read"] = static_cast<double>(bytes_read);
}

void BM_PreadScan(benchmark::State& state, const std::filesystem::path& model) {
  uint64_t bytes_read = 0;
  for (auto _ : state) {
    auto source = ort::FileByteSource::Open(model);
    if (!source.ok()) {
      state.SkipWithError(source.status().ToString().c_str());
      break;
    }
    auto facts = ort::ScanOnnxModel(**source);
    if (!facts.ok() || !facts->well_formed || !(*source)->CheckUnchanged().ok()) {
      state.SkipWithError("scan failed");
      break;
    }
    bytes_read = (*source)->bytes_read();
    benchmark::DoNotOptimize(facts);
  }
  state.counters["bytes_read"] = static_cast<double>(bytes_read);
}

// Interleaved per layout, so one run measures both side by side.
void Register(const std::string& layout, const std::filesystem::path& model) {
  benchmark::RegisterBenchmark(("BM_WholeFileReadThenScan/" + layout).c_str(),
                               BM_WholeFileReadThenScan, model)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark(("BM_PreadScan/" + layout).c_str(), BM_PreadScan, model)
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace
}  // namespace infergate

int main(int argc, char** argv) {
  int64_t model_mb = 100;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--model_mb=", 11) == 0) {
      model_mb = std::atoll(argv[i] + 11);
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv) || model_mb <= 0) return 1;

  std::string tmpl = (std::filesystem::temp_directory_path() / "onnx-scan-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return 1;
  const std::filesystem::path dir = tmpl;
  for (const auto& [layout, tensor_bytes] : {std::pair<std::string, int64_t>{"large", 1 << 20},
                                             std::pair<std::string, int64_t>{"small", 16 << 10}}) {
    const std::filesystem::path model = dir / (layout + ".onnx");
    infergate::WriteModel(model, model_mb << 20, tensor_bytes);
    std::fprintf(stderr, "%s: %ju bytes\n", model.c_str(),
                 static_cast<uintmax_t>(std::filesystem::file_size(model)));
    infergate::Register(layout, model);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::filesystem::remove_all(dir);
  return 0;
}
