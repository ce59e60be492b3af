#include "frontends/mqtt/inbox_record.h"

#include <cstring>
#include <memory>
#include <utility>

namespace infergate::mqtt {
namespace {

constexpr std::string_view kMagic = "IGI1";
constexpr uint8_t kHasCorrelation = 1;
constexpr uint8_t kHasExpiry = 2;
constexpr uint8_t kRetain = 4;

template <typename T>
void PutInt(std::string* out, T v) {
  char bytes[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
  out->append(bytes, sizeof(T));
}

void PutString(std::string* out, std::string_view s) {
  PutInt<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// Reads from the front of a record; every read checks what is left.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}

  template <typename T>
  core::Status Int(std::string_view what, T* out) {
    if (rest_.size() < sizeof(T)) return Truncated(what);
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(rest_[i])) << (8 * i);
    *out = static_cast<T>(v);
    rest_.remove_prefix(sizeof(T));
    return core::Status::Ok();
  }
  core::Status String(std::string_view what, std::string* out) {
    uint32_t n = 0;
    RETURN_IF_ERROR(Int(what, &n));
    if (rest_.size() < n) return Truncated(what);
    out->assign(rest_.data(), n);
    rest_.remove_prefix(n);
    return core::Status::Ok();
  }
  std::string_view rest() const { return rest_; }

 private:
  static core::Status Truncated(std::string_view what) {
    return core::Internal("inbox record truncated in its " + std::string(what));
  }
  std::string_view rest_;
};

}  // namespace

std::string EncodeInboxRecord(const IncomingMessage& m) {
  std::string out;
  out.reserve(64 + m.topic.size() + m.response_topic.size() + (m.payload ? m.payload->size() : 0));
  out.append(kMagic);
  uint8_t flags = (m.correlation_data ? kHasCorrelation : 0) | (m.expiry_secs ? kHasExpiry : 0) |
                  (m.retain ? kRetain : 0);
  PutInt<uint8_t>(&out, static_cast<uint8_t>(m.qos));
  PutInt<uint8_t>(&out, flags);
  PutInt<uint32_t>(&out, m.expiry_secs.value_or(0));
  PutString(&out, m.topic);
  PutString(&out, m.response_topic);
  PutString(&out, m.correlation_data.value_or(""));
  PutString(&out, m.content_type);
  PutInt<uint32_t>(&out, static_cast<uint32_t>(m.user_properties.size()));
  for (const auto& [k, v] : m.user_properties) {
    PutString(&out, k);
    PutString(&out, v);
  }
  if (m.payload) out.append(*m.payload);
  return out;
}

core::StatusOr<IncomingMessage> DecodeInboxRecord(std::string_view bytes) {
  if (bytes.substr(0, kMagic.size()) != kMagic) {
    return core::Internal("inbox record does not start with " + std::string(kMagic));
  }
  Reader r(bytes.substr(kMagic.size()));
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
  if (properties > r.rest().size() / 8) return core::Internal("inbox record truncated in its user properties");
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
