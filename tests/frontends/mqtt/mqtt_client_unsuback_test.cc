// MqttClient's UNSUBACK handling against a scripted broker (a socket on a
// free loopback port that answers with packet.h): the MQTT 5 reason codes a
// real broker rarely sends (a refusal), and MQTT 3.1.1's UNSUBACK without any.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <string>
#include <thread>

#include "frontends/mqtt/mqtt_client.h"
#include "frontends/mqtt/packet.h"

namespace infergate::mqtt {
namespace {

using namespace std::chrono_literals;

// Accepts one connection and answers CONNECT, SUBSCRIBE, UNSUBSCRIBE (with
// `unsuback_reasons`) and PINGREQ.
class ScriptedBroker {
 public:
  ScriptedBroker(ProtocolVersion version, std::vector<uint8_t> unsuback_reasons)
      : version_(version), unsuback_reasons_(std::move(unsuback_reasons)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(listen_fd_, 1) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedBroker() {
    shutdown(listen_fd_, SHUT_RDWR);  // ends a pending accept
    if (thread_.joinable()) thread_.join();
    close(listen_fd_);
  }
  int port() const { return port_; }

 private:
  void Serve() {
    const int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    std::string in;
    char chunk[4096];
    for (ssize_t n; (n = read(fd, chunk, sizeof(chunk))) > 0;) {
      in.append(chunk, static_cast<size_t>(n));
      Frame frame;
      bool complete = false;
      while (NextFrame(in, 0, &frame, &complete).ok() && complete) {
        std::string out = Answer(frame);
        if (!out.empty() && write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size())) break;
        in.erase(0, frame.size);
      }
    }
    close(fd);
  }
  std::string Answer(const Frame& frame) {
    std::string out;
    auto packet = DecodePacket(frame, version_);
    if (!packet.ok()) return out;
    if (std::holds_alternative<ConnectPacket>(*packet)) {
      EncodeConnack(ConnackPacket{}, version_, &out);
    } else if (auto* s = std::get_if<SubscribePacket>(&*packet)) {
      EncodeSuback(SubackPacket{PacketType::kSuback, s->packet_id, {1}, {}}, version_, &out);
    } else if (auto* u = std::get_if<UnsubscribePacket>(&*packet)) {
      EncodeSuback(SubackPacket{PacketType::kUnsuback, u->packet_id, unsuback_reasons_, {}}, version_, &out);
    } else if (frame.type() == PacketType::kPingreq) {
      EncodePing(PacketType::kPingresp, &out);
    }
    return out;
  }

  const ProtocolVersion version_;
  const std::vector<uint8_t> unsuback_reasons_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

// Unsubscribes `filter` once connected and hands over the outcome.
class Unsubscriber final : public MqttClientListener {
 public:
  void set_client(MqttClient* c) { client_ = c; }
  void OnConnected(bool) override {
    auto st = client_->Unsubscribe("plant/#", [this](const core::Status& s) { outcome_.set_value(s); });
    EXPECT_TRUE(st.ok()) << st.message();
  }
  void OnDisconnected() override {}
  void OnMessage(IncomingMessage) override {}
  void OnIdle() override {}
  std::future<core::Status> outcome() { return outcome_.get_future(); }

 private:
  MqttClient* client_ = nullptr;
  std::promise<core::Status> outcome_;
};

core::Status UnsubscribeAgainst(ProtocolVersion version, std::vector<uint8_t> reasons) {
  ScriptedBroker broker(version, std::move(reasons));
  EXPECT_NE(broker.port(), 0);
  Unsubscriber listener;
  auto outcome = listener.outcome();
  ClientOptions o;
  o.broker = BrokerUrl{"127.0.0.1", broker.port(), false};
  o.client_id = "unsubscriber";
  o.mqtt5 = version == ProtocolVersion::kV5;
  auto client = MqttClient::Create(o, &listener);
  EXPECT_TRUE(client.ok());
  if (!client.ok()) return client.status();
  listener.set_client(client->get());
  (*client)->Start();
  const bool answered = outcome.wait_for(10s) == std::future_status::ready;
  (*client)->Stop(0s);
  return answered ? outcome.get() : core::DeadlineExceeded("no UNSUBACK");
}

TEST(MqttClientUnsubackTest, AnMqtt5RefusalIsAnErrorNamingTheReasonCode) {
  const core::Status st = UnsubscribeAgainst(ProtocolVersion::kV5, {0x87});
  EXPECT_EQ(st.code(), core::StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("refused to unsubscribe from plant/# (not authorized)"), std::string::npos)
      << st.message();
}

TEST(MqttClientUnsubackTest, SuccessAndNoSubscriptionExistedAreOk) {
  EXPECT_TRUE(UnsubscribeAgainst(ProtocolVersion::kV5, {0x00}).ok());
  EXPECT_TRUE(UnsubscribeAgainst(ProtocolVersion::kV5, {0x11}).ok());
  EXPECT_TRUE(UnsubscribeAgainst(ProtocolVersion::kV311, {}).ok());  // 3.1.1: no reason codes
}

}  // namespace
}  // namespace infergate::mqtt
