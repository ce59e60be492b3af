#include "frontends/mqtt/codec.h"

#include "core/status_map.h"
#include "protocol/json_writer.h"
#include "protocol/v2_json.h"

namespace infergate::mqtt {
namespace {

core::StatusOr<std::unique_ptr<core::InferRequest>> DecodeRaw(
    const Route& route, std::shared_ptr<const std::string> payload) {
  auto request = std::make_unique<core::InferRequest>();
  int64_t elements = 1;
  for (int64_t d : route.raw_shape) elements *= d;
  const size_t expected = static_cast<size_t>(elements) * core::ElementSize(route.raw_dtype);
  if (payload->size() != expected) {
    return core::InvalidArgument("raw payload for input '" + route.raw_input + "' must be " +
                                 std::to_string(expected) + " bytes (" + std::to_string(elements) +
                                 " x " + std::string(core::DataTypeName(route.raw_dtype)) +
                                 ", little-endian), got " + std::to_string(payload->size()));
  }
  const void* data = payload->data();
  core::InferInput input;
  input.name = route.raw_input;
  input.tensor = core::Tensor::Borrow(route.raw_dtype, route.raw_shape, data, expected,
                                      std::shared_ptr<const void>(std::move(payload), data));
  request->inputs.push_back(std::move(input));
  return request;
}

}  // namespace

RequestDecoder::RequestDecoder() : v2_(std::make_unique<protocol::InferRequestDecoder>()) {}
RequestDecoder::~RequestDecoder() = default;

core::StatusOr<std::unique_ptr<core::InferRequest>> RequestDecoder::Decode(
    const Route& route, const Captures& captures, std::shared_ptr<const std::string> payload) {
  std::unique_ptr<core::InferRequest> request;
  if (route.format == config::PayloadFormat::kRaw) {
    ASSIGN_OR_RETURN(request, DecodeRaw(route, std::move(payload)));
  } else {
    request = std::make_unique<core::InferRequest>();
    std::string_view body = *payload;
    RETURN_IF_ERROR(v2_->Decode(body, body.size(), std::move(payload), request.get()));
  }
  request->model_name = route.ModelFor(captures);
  if (route.version != 0) request->model_version = route.version;
  return request;
}

core::StatusOr<std::string> EncodeResponse(const core::InferResponse& response) {
  protocol::EncodedBody out;
  RETURN_IF_ERROR(protocol::EncodeInferResponse(response, protocol::OutputEncoding(), &out));
  return std::move(out.body);
}

std::string EncodeError(const core::Status& status, const ErrorDetails& details) {
  std::string body;
  protocol::JsonWriter w(&body);
  w.BeginObject();
  w.Member("error", std::string_view(core::ClipReplyMessage(status.message())));
  if (!details.id.empty()) w.Member("id", details.id);
  if (details.retry_after_ms > 0) w.Member("retry_after_ms", details.retry_after_ms);
  if (!details.correlation_id.empty()) {
    w.Key("parameters");
    w.BeginObject();
    w.Member("correlation_id", details.correlation_id);
    w.EndObject();
  }
  w.EndObject();
  return body;
}

ScannedFields ScanReplyFields(std::string_view json) {
  // Walks the text once, tracking nesting and strings; a string followed by
  // ':' at depth 1 (or directly inside the top-level "parameters") is a key.
  ScannedFields out;
  int depth = 0;
  int params_depth = 0;  // 2 while inside the top-level "parameters" object
  size_t i = 0;
  const size_t n = json.size();
  auto skip_space = [&] {
    while (i < n && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r')) ++i;
  };
  // The string starting at json[i] == '"'; i ends after its closing quote.
  // False when it holds an escape (not read) or is cut short.
  auto read_string = [&](std::string_view* out_value) {
    size_t start = ++i;
    bool escaped = false;
    for (; i < n && json[i] != '"'; ++i) {
      if (json[i] == '\\') {
        escaped = true;
        ++i;
      }
    }
    if (i >= n) return false;
    *out_value = json.substr(start, i - start);
    ++i;
    return !escaped;
  };
  while (i < n) {
    const char c = json[i];
    if (c == '{' || c == '[') {
      ++depth;
      ++i;
      continue;
    }
    if (c == '}' || c == ']') {
      if (depth == params_depth) params_depth = 0;
      if (--depth <= 0) break;
      ++i;
      continue;
    }
    if (c != '"') {
      ++i;
      continue;
    }
    std::string_view key;
    const bool plain = read_string(&key);
    const bool top = depth == 1;
    const bool in_params = params_depth != 0 && depth == params_depth;
    if (!plain || !(top || in_params)) continue;
    skip_space();
    if (i >= n || json[i] != ':') continue;
    ++i;
    skip_space();
    if (i >= n) break;
    if (top && key == "parameters" && json[i] == '{') {
      params_depth = 2;
      continue;
    }
    std::string* field = nullptr;
    size_t limit = kMaxScannedIdBytes;
    if (top && key == "id") {
      field = &out.id;
    } else if (in_params && key == "reply_topic") {
      field = &out.reply_topic;
      limit = kMaxReplyTopicBytes;
    } else if (in_params && key == "correlation_id") {
      field = &out.correlation_id;
    }
    if (!field || json[i] != '"') continue;
    std::string_view value;
    if (read_string(&value) && value.size() <= limit && field->empty()) *field = std::string(value);
  }
  return out;
}

core::StatusOr<ReplyParameters> TakeReplyParameters(core::Parameters* parameters) {
  ReplyParameters out;
  for (auto [key, field] : {std::pair{"reply_topic", &out.reply_topic},
                            std::pair{"correlation_id", &out.correlation_id}}) {
    auto it = parameters->find(key);
    if (it == parameters->end()) continue;
    const std::string* value = std::get_if<std::string>(&it->second);
    if (!value) return core::InvalidArgument(std::string("parameter '") + key + "' must be a string");
    *field = *value;
    parameters->erase(it);
  }
  return out;
}

}  // namespace infergate::mqtt
