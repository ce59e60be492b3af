#include "frontends/mqtt/mqtt_session.h"

#include <algorithm>

namespace infergate::mqtt {

void Session::Enqueue(OutPublish publish) {
  publish.seq = next_seq_++;
  queued_bytes_ += publish.bytes.size();
  queue_.push_back(std::move(publish));
}

uint16_t Session::NextId() {
  // The window is at most 65535 - reserved ids, so a free id exists.
  do {
    last_id_ = static_cast<uint16_t>(last_id_ + 1);
  } while (last_id_ == 0 || window_.count(last_id_) || reserved_.count(last_id_));
  return last_id_;
}

uint16_t Session::ReserveId() {
  uint16_t id = NextId();
  reserved_.insert(id);
  return id;
}

void Session::Send(OutPublish* p, core::TimePoint now, std::string* out) {
  p->sent_at = now;
  out->append(p->bytes);
}

void Session::Connected(bool session_present, const SessionLimits& limits, core::TimePoint now,
                        std::string* out) {
  limits_ = limits;
  delivered_.clear();
  if (!session_present) pubrec_sent_.clear();
  std::vector<OutPublish*> order;
  order.reserve(window_.size());
  for (auto& [id, p] : window_) order.push_back(&p);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->seq < b->seq; });
  for (OutPublish* p : order) {
    const uint16_t id = static_cast<uint16_t>(
        (static_cast<uint8_t>(p->bytes[p->id_offset]) << 8) | static_cast<uint8_t>(p->bytes[p->id_offset + 1]));
    if (session_present && p->released) {
      EncodeAck(AckPacket{PacketType::kPubrel, id, 0, {}}, version_, out);
      p->sent_at = now;
      continue;
    }
    p->released = false;
    SetPublishDup(&p->bytes, session_present);
    Send(p, now, out);
  }
}

void Session::Disconnected(std::vector<Completion>* done) {
  delivered_.clear();
  std::deque<OutPublish> kept;
  for (auto& p : queue_) {
    if (p.qos > 0) {
      kept.push_back(std::move(p));
      continue;
    }
    queued_bytes_ -= p.bytes.size();
    done->push_back({std::move(p.done), core::Unavailable("mqtt: not connected; QoS 0 publish dropped"),
                     p.bytes.size(), "disconnected"});
  }
  queue_ = std::move(kept);
}

void Session::Fill(core::TimePoint now, std::string* out, std::vector<Completion>* written,
                   std::vector<Completion>* failed) {
  while (!queue_.empty()) {
    OutPublish& p = queue_.front();
    if (p.qos > limits_.maximum_qos) {
      p.bytes = DowngradePublish(p.bytes, &p.id_offset, limits_.maximum_qos);
      p.qos = limits_.maximum_qos;
    }
    const size_t size = p.bytes.size();
    if (p.qos > 0 && window_.size() >= limits_.receive_maximum) break;
    OutPublish publish = std::move(p);
    queue_.pop_front();
    queued_bytes_ -= size;
    if (limits_.maximum_packet_size && size > limits_.maximum_packet_size) {
      failed->push_back({std::move(publish.done),
                         core::ResourceExhausted("mqtt: publish of " + std::to_string(size) +
                                                 " bytes exceeds the broker's maximum packet size (" +
                                                 std::to_string(limits_.maximum_packet_size) + ")"),
                         size, "too_large"});
      continue;
    }
    if (publish.qos == 0) {
      out->append(publish.bytes);
      written->push_back({std::move(publish.done), core::Status::Ok(), size, ""});
      continue;
    }
    const uint16_t id = NextId();
    SetPublishId(&publish.bytes, publish.id_offset, id);
    Send(&publish, now, out);
    window_.emplace(id, std::move(publish));
  }
}

void Session::OnAck(const AckPacket& ack, std::string* out, std::vector<Completion>* done) {
  auto it = window_.find(ack.packet_id);
  const int expected_qos = ack.type == PacketType::kPuback ? 1 : 2;
  if (it == window_.end() || it->second.qos != expected_qos ||
      (ack.type == PacketType::kPubcomp && !it->second.released)) {
    if (ack.type == PacketType::kPubrec) {
      // The spec's answer to a PUBREC for an unknown id is a PUBREL (v5: 0x92, not found).
      uint8_t r = version_ == ProtocolVersion::kV5 ? 0x92 : 0;
      EncodeAck(AckPacket{PacketType::kPubrel, ack.packet_id, r, {}}, version_, out);
    }
    return;
  }
  OutPublish& p = it->second;
  if (ack.reason >= 0x80) {
    std::string why = ack.properties.reason_string ? " (" + *ack.properties.reason_string + ")" : "";
    done->push_back({std::move(p.done),
                     core::Unavailable("mqtt: the broker refused the publish: reason code " +
                                       std::to_string(ack.reason) + why),
                     p.bytes.size(), "refused"});
    window_.erase(it);
    return;
  }
  if (ack.type == PacketType::kPubrec) {
    p.released = true;
    EncodeAck(AckPacket{PacketType::kPubrel, ack.packet_id, 0, {}}, version_, out);
    return;
  }
  done->push_back({std::move(p.done), core::Status::Ok(), p.bytes.size(), ""});
  window_.erase(it);
}

void Session::FailAll(const core::Status& status, const char* reason, std::vector<Completion>* done) {
  for (auto& p : queue_) done->push_back({std::move(p.done), status, p.bytes.size(), reason});
  for (auto& [id, p] : window_) done->push_back({std::move(p.done), status, p.bytes.size(), reason});
  queue_.clear();
  window_.clear();
  queued_bytes_ = 0;
}

std::optional<core::TimePoint> Session::OldestUnacked() const {
  std::optional<core::TimePoint> oldest;
  for (const auto& [id, p] : window_) {
    if (!oldest || p.sent_at < *oldest) oldest = p.sent_at;
  }
  return oldest;
}

bool Session::OnIncoming(const PublishPacket& publish, std::string* out) {
  if (publish.qos == 0) return true;
  if (publish.qos == 2 && pubrec_sent_.count(publish.packet_id)) {
    EncodeAck(AckPacket{PacketType::kPubrec, publish.packet_id, 0, {}}, version_, out);
    return false;
  }
  return delivered_.insert(publish.packet_id).second;
}

void Session::Acknowledge(uint16_t packet_id, int qos, std::string* out) {
  if (!delivered_.erase(packet_id)) return;
  if (qos == 1) {
    EncodeAck(AckPacket{PacketType::kPuback, packet_id, 0, {}}, version_, out);
  } else {
    pubrec_sent_.insert(packet_id);
    EncodeAck(AckPacket{PacketType::kPubrec, packet_id, 0, {}}, version_, out);
  }
}

void Session::OnPubrel(uint16_t packet_id, std::string* out) {
  bool known = pubrec_sent_.erase(packet_id) > 0;
  uint8_t r = known || version_ != ProtocolVersion::kV5 ? 0 : 0x92;
  EncodeAck(AckPacket{PacketType::kPubcomp, packet_id, r, {}}, version_, out);
}

}  // namespace infergate::mqtt
