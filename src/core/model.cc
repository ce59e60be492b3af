#include "core/model.h"

#include <algorithm>
#include <charconv>

#include "core/model_config.h"

namespace infergate::core {

StatusOr<std::unique_ptr<ModelInstance>> Backend::LoadModel(const ModelConfig& config,
                                                            const std::filesystem::path& file) {
  return Load(file, config.runtime);
}

int64_t RemoteModelConfig::LocalVersion() const {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(version.data(), version.data() + version.size(), v);
  if (ec != std::errc() || end != version.data() + version.size() || v <= 0) return 1;
  return v;
}

Status ValidateInputs(const std::vector<TensorSpec>& specs, const std::vector<InferInput>& inputs) {
  for (const auto& in : inputs) {
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&](const TensorSpec& s) { return s.name == in.name; });
    if (spec == specs.end()) {
      std::string known;
      for (const auto& s : specs) known += (known.empty() ? "'" : ", '") + s.name + "'";
      return InvalidArgument("unknown input '" + in.name + "'; the model's inputs are " + known);
    }
    if (std::count_if(inputs.begin(), inputs.end(),
                      [&](const InferInput& o) { return o.name == in.name; }) > 1) {
      return InvalidArgument("input '" + in.name + "' is given more than once");
    }
    if (in.tensor.dtype() != spec->dtype) {
      return InvalidArgument("input '" + in.name + "' has datatype " +
                             std::string(DataTypeName(in.tensor.dtype())) + ", the model expects " +
                             std::string(DataTypeName(spec->dtype)));
    }
    if (!ShapeMatches(spec->shape, in.tensor.shape())) {
      return InvalidArgument("input '" + in.name + "' has shape " +
                             ShapeToString(in.tensor.shape()) + ", the model expects " +
                             ShapeToString(spec->shape) + " (-1: any size)");
    }
    RETURN_IF_ERROR(in.tensor.Validate("input '" + in.name + "'"));
  }
  for (const auto& spec : specs) {
    if (std::none_of(inputs.begin(), inputs.end(),
                     [&](const InferInput& i) { return i.name == spec.name; })) {
      return InvalidArgument("missing input '" + spec.name + "' (" +
                             std::string(DataTypeName(spec.dtype)) + " " +
                             ShapeToString(spec.shape) + ")");
    }
  }
  return Status::Ok();
}

}  // namespace infergate::core
