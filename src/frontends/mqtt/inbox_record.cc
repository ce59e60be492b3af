#include "frontends/mqtt/inbox_record.h"

#include <memory>
#include <utility>

#include "core/record_bytes.h"

namespace infergate::mqtt {
namespace {

constexpr std::string_view kMagic = "IGI1";
constexpr uint8_t kHasCorrelation = 1;
constexpr uint8_t kHasExpiry = 2;
constexpr uint8_t kRetain = 4;

}  // namespace

std::string EncodeInboxRecord(const IncomingMessage& m) {
  std::string out;
  out.reserve(64 + m.topic.size() + m.response_topic.size() + (m.payload ? m.payload->size() : 0));
  out.append(kMagic);
  uint8_t flags = (m.correlation_data ? kHasCorrelation : 0) | (m.expiry_secs ? kHasExpiry : 0) |
                  (m.retain ? kRetain : 0);
  core::PutLittleEndian<uint8_t>(&out, static_cast<uint8_t>(m.qos));
  core::PutLittleEndian<uint8_t>(&out, flags);
  core::PutLittleEndian<uint32_t>(&out, m.expiry_secs.value_or(0));
  core::PutLengthPrefixed(&out, m.topic);
  core::PutLengthPrefixed(&out, m.response_topic);
  core::PutLengthPrefixed(&out, m.correlation_data.value_or(""));
  core::PutLengthPrefixed(&out, m.content_type);
  core::PutLittleEndian<uint32_t>(&out, static_cast<uint32_t>(m.user_properties.size()));
  for (const auto& [k, v] : m.user_properties) {
    core::PutLengthPrefixed(&out, k);
    core::PutLengthPrefixed(&out, v);
  }
  if (m.payload) out.append(*m.payload);
  return out;
}

core::StatusOr<IncomingMessage> DecodeInboxRecord(std::string_view bytes) {
  if (bytes.substr(0, kMagic.size()) != kMagic) {
    return core::Internal("inbox record does not start with " + std::string(kMagic));
  }
  core::RecordReader r(bytes.substr(kMagic.size()), "inbox record");
  IncomingMessage m;
  uint8_t qos = 0, flags = 0;
  uint32_t expiry = 0, properties = 0;
  RETURN_IF_ERROR(r.Int("qos", &qos));
  if (qos > 2) return core::Internal("inbox record has QoS " + std::to_string(qos));
  RETURN_IF_ERROR(r.Int("flags", &flags));
  RETURN_IF_ERROR(r.Int("expiry", &expiry));
  RETURN_IF_ERROR(r.String("topic", &m.topic));
  RETURN_IF_ERROR(r.String("response topic", &m.response_topic));
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
  if (flags & kHasExpiry) m.expiry_secs = expiry;
  m.payload = std::make_shared<const std::string>(r.rest());
  return m;
}

}  // namespace infergate::mqtt
