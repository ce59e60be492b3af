#include "core/infer.h"

namespace infergate::core {

OutputDestinations OutputDestinations::Of(const InferRequest& request) {
  OutputDestinations out;
  for (const auto& o : request.outputs) {
    if (o.destination) out.list_.emplace_back(o.name, *o.destination);
  }
  return out;
}

const OutputDestination* OutputDestinations::Find(std::string_view name) const {
  for (const auto& [output, destination] : list_) {
    if (output == name) return &destination;
  }
  return nullptr;
}

std::unique_ptr<InferResponse> MakeErrorResponse(const InferRequest& request, Status status) {
  auto response = std::make_unique<InferResponse>();
  response->status = std::move(status);
  response->model_name = request.model_name;
  response->model_version = request.model_version;
  response->id = request.id;
  return response;
}

}  // namespace infergate::core
