#include "backends/onnxruntime/ort_backend.h"

#include <string>
#include <utility>

#include "backends/onnxruntime/file_byte_source.h"
#include "backends/onnxruntime/onnx_scan.h"
#include "backends/onnxruntime/ort_env.h"
#include "backends/onnxruntime/ort_instance.h"
#include "backends/onnxruntime/ort_status.h"
#include "backends/onnxruntime/signature.h"
#include "backends/onnxruntime/type_map.h"

namespace infergate::ort {
namespace {

std::string DimsToString(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

std::string Bytes(uint64_t n) { return n == UINT64_MAX ? "more than 2^64" : std::to_string(n); }

// Refuses files whose sparse tensors ORT would expand to more than `limit`
// bytes together while loading (it does so before any size check of its
// own). The largest one alone over the limit is named.
core::Status CheckSparseTensors(const OnnxFileFacts& facts, uint64_t limit) {
  if (limit == 0 || !facts.has_sparse || facts.sparse_dense_bytes_total <= limit) {
    return core::Status::Ok();
  }
  const SparseTensorInfo& t = facts.largest_sparse;
  if (t.dense_bytes <= limit) {
    return core::ResourceExhausted(std::to_string(facts.sparse_count) +
                                   " sparse tensors expand to " +
                                   Bytes(facts.sparse_dense_bytes_total) +
                                   " bytes in total when made dense, over the limit of " +
                                   std::to_string(limit) + " bytes");
  }
  std::string size = Bytes(t.dense_bytes);
  return core::ResourceExhausted("sparse tensor '" + t.name + "' declares dense shape " +
                                 DimsToString(t.dims) + " of " + OnnxElementTypeName(t.data_type) +
                                 ", " + size + " bytes when made dense, over the limit of " +
                                 std::to_string(limit) + " bytes");
}

// Scans the file before ORT opens it. A file that shrank or changed while it
// was scanned fails the load (the facts may not be the file's); a malformed
// one goes on to ORT, which names what is wrong with it.
core::StatusOr<OnnxFileFacts> ScanFile(const std::filesystem::path& file) {
  ASSIGN_OR_RETURN(std::unique_ptr<FileByteSource> source, FileByteSource::Open(file));
  ASSIGN_OR_RETURN(OnnxFileFacts facts, ScanOnnxModel(*source));
  RETURN_IF_ERROR(source->CheckUnchanged());
  return facts;
}

class OrtBackendImpl final : public core::Backend {
 public:
  explicit OrtBackendImpl(std::shared_ptr<OrtEnvironment> env)
      : env_(std::move(env)), version_("onnxruntime " + Ort::GetVersionString()) {}

  std::string_view name() const override { return "onnxruntime"; }
  std::string version() const override { return version_; }
  std::vector<std::string> platforms() const override { return {"onnxruntime_onnx"}; }
  std::vector<std::string> file_extensions() const override { return {".onnx"}; }

  core::StatusOr<std::unique_ptr<core::ModelInstance>> Load(
      const std::filesystem::path& file, const core::RuntimeOptions& options) override {
    const std::string path = file.string();
    auto session_options = env_->MakeSessionOptions(options);
    if (!session_options.ok()) return session_options.status().WithPrefix(path);

    ASSIGN_OR_RETURN(OnnxFileFacts facts, ScanFile(file));
    RETURN_IF_ERROR(
        CheckSparseTensors(facts, env_->options().max_sparse_dense_bytes).WithPrefix(path));

    Ort::Session session{nullptr};
    RETURN_IF_ERROR(CallGuarded(path, OrtPhase::kLoad, [&] {
      session = Ort::Session(env_->env(), file.c_str(), *session_options);
      return core::Status::Ok();
    }));
    ASSIGN_OR_RETURN(core::ModelSignature signature, ReadSignature(session, facts, path));
    return OrtInstance::Create(env_, path, std::move(session), std::move(signature));
  }

 private:
  const std::shared_ptr<OrtEnvironment> env_;
  const std::string version_;
};

}  // namespace

core::StatusOr<std::unique_ptr<core::Backend>> OrtBackend::Create(
    const OrtBackendOptions& options) {
  ASSIGN_OR_RETURN(std::shared_ptr<OrtEnvironment> env, OrtEnvironment::Acquire(options));
  std::unique_ptr<core::Backend> backend;
  RETURN_IF_ERROR(CallGuarded("onnxruntime", OrtPhase::kLoad, [&] {
    backend = std::make_unique<OrtBackendImpl>(std::move(env));  // GetVersionString may throw
    return core::Status::Ok();
  }));
  return backend;
}

}  // namespace infergate::ort
