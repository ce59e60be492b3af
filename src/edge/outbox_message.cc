#include "edge/outbox_message.h"

#include <cstdint>
#include <utility>

#include "core/record_bytes.h"

namespace infergate::edge {
namespace {

constexpr std::string_view kMagic = "IGO1";
constexpr uint8_t kHasCorrelation = 1;
constexpr uint8_t kRetain = 2;

}  // namespace

std::string EncodeOutboxMessage(const OutboxMessage& m) {
  std::string out;
  out.reserve(32 + m.topic.size() + m.payload.size() + m.content_type.size() +
              (m.correlation_data ? m.correlation_data->size() : 0));
  out.append(kMagic);
  out.push_back(static_cast<char>(m.qos));
  out.push_back(
      static_cast<char>((m.correlation_data ? kHasCorrelation : 0) | (m.retain ? kRetain : 0)));
  core::PutLengthPrefixed(&out, m.topic);
  core::PutLengthPrefixed(&out, m.correlation_data.value_or(""));
  core::PutLengthPrefixed(&out, m.content_type);
  core::PutLittleEndian<uint32_t>(&out, static_cast<uint32_t>(m.user_properties.size()));
  for (const auto& [k, v] : m.user_properties) {
    core::PutLengthPrefixed(&out, k);
    core::PutLengthPrefixed(&out, v);
  }
  out.append(m.payload);
  return out;
}

core::StatusOr<OutboxMessage> DecodeOutboxMessage(std::string_view record) {
  if (record.substr(0, kMagic.size()) != kMagic) {
    return core::Internal("outbox record does not start with " + std::string(kMagic));
  }
  core::RecordReader r(record.substr(kMagic.size()), "outbox record");
  OutboxMessage m;
  uint8_t qos = 0, flags = 0;
  uint32_t properties = 0;
  RETURN_IF_ERROR(r.Int("qos", &qos));
  if (qos > 2) return core::Internal("outbox record has QoS " + std::to_string(qos));
  RETURN_IF_ERROR(r.Int("flags", &flags));
  RETURN_IF_ERROR(r.String("topic", &m.topic));
  std::string correlation;
  RETURN_IF_ERROR(r.String("correlation data", &correlation));
  RETURN_IF_ERROR(r.String("content type", &m.content_type));
  RETURN_IF_ERROR(r.Int("user property count", &properties));
  // Each pair takes at least 8 bytes: a count beyond that is damage, not a reason to reserve.
  if (properties > r.rest().size() / 8) return r.Truncated("user properties");
  for (uint32_t i = 0; i < properties; ++i) {
    std::string k, v;
    RETURN_IF_ERROR(r.String("user properties", &k));
    RETURN_IF_ERROR(r.String("user properties", &v));
    m.user_properties.emplace_back(std::move(k), std::move(v));
  }
  m.qos = qos;
  m.retain = (flags & kRetain) != 0;
  if (flags & kHasCorrelation) m.correlation_data = std::move(correlation);
  m.payload.assign(r.rest());
  return m;
}

}  // namespace infergate::edge
