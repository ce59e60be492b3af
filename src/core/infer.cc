#include "core/infer.h"

namespace infergate::core {

std::unique_ptr<InferResponse> MakeErrorResponse(const InferRequest& request, Status status) {
  auto response = std::make_unique<InferResponse>();
  response->status = std::move(status);
  response->model_name = request.model_name;
  response->model_version = request.model_version;
  response->id = request.id;
  return response;
}

}  // namespace infergate::core
