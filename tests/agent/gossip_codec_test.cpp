// gossip.codec: every message round-trips; every malformed, truncated or corrupt packet is
// rejected with a clear Status.
#include <doctest/doctest.h>

#include "agent/gossip/messages.h"
#include "common/codec.h"
#include "common/crc32c.h"
#include "common/random.h"

namespace cairn::gossip {
namespace {

NetAddress Addr(const char* host, uint16_t port) { return NetAddress{host, port}; }

std::vector<Message> AllMessages() {
  Metadata meta{"server", "dc1", "10.0.0.1:8300", "0.1.0", "10.0.0.1:8500"};
  PushPull pp;
  pp.join = true;
  pp.source = "a";
  pp.members.push_back(PushPullEntry{"a", Addr("10.0.0.1", 8301), meta, 3, MemberState::kAlive});
  pp.members.push_back(PushPullEntry{"b", Addr("10.0.0.2", 8301), {}, 0, MemberState::kLeft});
  return {Ping{7, "b", "a"},
          Ack{7, "b"},
          Nack{9},
          Nack{10, /*refused=*/true},
          PingReq{4000000000u, "c", Addr("10.0.0.3", 8301), "a"},
          Alive{"a", 12, Addr("10.0.0.1", 8301), meta},
          Suspect{"c", 2, "a"},
          Suspect{"c", 3, "b", /*refused=*/true},
          Dead{"c", 2, "b"},
          Leave{"d", 5},
          pp};
}

// Builds a packet from raw body bytes with a correct checksum, to test the body checks.
std::string PacketWithBody(const std::string& body, uint8_t version = kWireVersion) {
  Encoder enc;
  enc.PutU8(version);
  enc.PutFixed32(Crc32c(body));
  enc.PutRaw(body);
  return enc.Take();
}

}  // namespace

TEST_SUITE("gossip.codec") {
  TEST_CASE("every message type round-trips alone and in one compound packet") {
    const std::vector<Message> all = AllMessages();
    for (const Message& m : all) {
      auto decoded = DecodePacket(EncodePacket({m}));
      REQUIRE(decoded.IsOk());
      REQUIRE(decoded->size() == 1);
      CHECK(decoded->front() == m);
      CHECK(TypeOf(decoded->front()) == TypeOf(m));
    }
    auto compound = DecodePacket(EncodePacket(all));
    REQUIRE(compound.IsOk());
    CHECK(*compound == all);
  }

  TEST_CASE("every truncation of a packet is rejected") {
    const std::string packet = EncodePacket(AllMessages());
    for (size_t n = 0; n < packet.size(); ++n) {
      auto r = DecodePacket(std::string_view(packet).substr(0, n));
      CHECK_FALSE(r.IsOk());
    }
  }

  TEST_CASE("every single-bit flip is rejected") {
    const std::string packet = EncodePacket(
        {Alive{"node-1", 3, Addr("10.0.0.1", 8301), {"client", "dc1", "", "1", ""}}, Suspect{"node-2", 1, "node-1"}});
    for (size_t byte = 0; byte < packet.size(); ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string corrupt = packet;
        corrupt[byte] = static_cast<char>(corrupt[byte] ^ (1 << bit));
        auto r = DecodePacket(corrupt);
        CHECK_FALSE(r.IsOk());
      }
    }
  }

  TEST_CASE("wrong version, trailing bytes, oversize and bad fields are rejected with reasons") {
    const std::string good = EncodePacket({Nack{1}});
    std::string wrong_version = good;
    wrong_version[0] = 2;
    auto v = DecodePacket(wrong_version);
    CHECK(v.GetStatus().Code() == StatusCode::kInvalidArgument);
    CHECK(v.GetStatus().Message().find("version") != std::string::npos);

    CHECK(DecodePacket(good + "x").GetStatus().Code() == StatusCode::kCorruption);  // checksum covers the tail
    CHECK(DecodePacket(good, good.size() - 1).GetStatus().Code() == StatusCode::kInvalidArgument);

    std::string body;
    AppendVarint64(body, 1);
    body += EncodeMessage(Nack{1});
    CHECK(DecodePacket(PacketWithBody(body)).IsOk());
    CHECK_FALSE(DecodePacket(PacketWithBody(body + "z")).IsOk());  // trailing bytes
    auto ver = DecodePacket(PacketWithBody(body, 0));
    CHECK_FALSE(ver.IsOk());

    std::string zero_count;
    AppendVarint64(zero_count, 0);
    CHECK(DecodePacket(PacketWithBody(zero_count)).GetStatus().Message().find("count") != std::string::npos);
    std::string too_many;
    AppendVarint64(too_many, kMessagesPerPacketMax + 1);
    CHECK_FALSE(DecodePacket(PacketWithBody(too_many)).IsOk());

    std::string unknown;
    AppendVarint64(unknown, 1);
    unknown.push_back(static_cast<char>(kMessageTypeMax + 1));
    auto u = DecodePacket(PacketWithBody(unknown));
    CHECK(u.GetStatus().Message().find("unknown message type") != std::string::npos);
    std::string type_zero;
    AppendVarint64(type_zero, 1);
    type_zero.push_back('\0');
    CHECK_FALSE(DecodePacket(PacketWithBody(type_zero)).IsOk());

    // A name over its limit, an empty name, a port over 65535, a bad state, a bad join flag.
    Encoder long_name;
    long_name.PutVarint64(1);
    long_name.PutU8(static_cast<uint8_t>(MessageType::kLeave));
    long_name.PutBytes(std::string(kNodeNameBytesMax + 1, 'n'));
    long_name.PutVarint64(1);
    CHECK_FALSE(DecodePacket(PacketWithBody(long_name.Take())).IsOk());

    Encoder empty_name;
    empty_name.PutVarint64(1);
    empty_name.PutU8(static_cast<uint8_t>(MessageType::kLeave));
    empty_name.PutBytes("");
    empty_name.PutVarint64(1);
    CHECK(DecodePacket(PacketWithBody(empty_name.Take())).GetStatus().Message().find("empty") != std::string::npos);

    Encoder port;
    port.PutVarint64(1);
    port.PutU8(static_cast<uint8_t>(MessageType::kAlive));
    port.PutBytes("n");
    port.PutVarint64(1);
    port.PutBytes("10.0.0.1");
    port.PutVarint64(70000);
    for (int i = 0; i < 4; ++i) port.PutBytes("");
    CHECK(DecodePacket(PacketWithBody(port.Take())).GetStatus().Message().find("port") != std::string::npos);

    PushPull pp{false, "a", {PushPullEntry{"a", Addr("10.0.0.1", 1), {}, 0, MemberState::kAlive}}};
    std::string pp_body = EncodeMessage(pp);
    std::string bad_state = pp_body;
    bad_state.back() = static_cast<char>(kMemberStateMax + 1);
    std::string b1;
    AppendVarint64(b1, 1);
    CHECK(DecodePacket(PacketWithBody(b1 + bad_state)).GetStatus().Message().find("state") != std::string::npos);
    std::string bad_join = pp_body;
    bad_join[1] = 2;
    CHECK(DecodePacket(PacketWithBody(b1 + bad_join)).GetStatus().Message().find("join") != std::string::npos);

    // The refused flags are 0 or 1, nothing else.
    std::string bad_nack = EncodeMessage(Nack{1, true});
    bad_nack.back() = 2;
    CHECK(DecodePacket(PacketWithBody(b1 + bad_nack)).GetStatus().Message().find("nack refused") != std::string::npos);
    std::string bad_suspect = EncodeMessage(Suspect{"c", 1, "a", true});
    bad_suspect.back() = 7;
    CHECK(DecodePacket(PacketWithBody(b1 + bad_suspect)).GetStatus().Message().find("suspect refused") !=
          std::string::npos);
  }

  TEST_CASE("metadata over its limits is refused with the limit named") {
    Metadata ok{"server", "dc1", "10.0.0.1:8300", "v1", "10.0.0.1:8500"};
    CHECK(ValidateMetadata(ok).IsOk());
    Metadata field = ok;
    field.build = std::string(kMetaFieldBytesMax + 1, 'b');
    CHECK(ValidateMetadata(field).Message().find("kMetaFieldBytesMax") != std::string::npos);
    Metadata total{std::string(kMetaFieldBytesMax, 'r'), std::string(kMetaFieldBytesMax, 'd'),
                   std::string(kMetaFieldBytesMax, 'a'), std::string(kMetaFieldBytesMax, 'b'), ""};
    CHECK(ValidateMetadata(total).IsOk());  // 4 * 128 = 512 is exactly the limit
    total.http_address = "h";
    CHECK_FALSE(ValidateMetadata(total).IsOk());  // the fifth field counts toward it too
    total.http_address.clear();
    total.build.push_back('x');
    CHECK_FALSE(ValidateMetadata(total).IsOk());

    // A decoded alive whose metadata breaks a limit is rejected too.
    Encoder enc;
    enc.PutVarint64(1);
    enc.PutU8(static_cast<uint8_t>(MessageType::kAlive));
    enc.PutBytes("n");
    enc.PutVarint64(1);
    enc.PutBytes("10.0.0.1");
    enc.PutVarint64(1);
    enc.PutBytes(std::string(kMetaFieldBytesMax + 1, 'r'));
    for (int i = 0; i < 3; ++i) enc.PutBytes("");
    CHECK_FALSE(DecodePacket(PacketWithBody(enc.Take())).IsOk());
  }

  TEST_CASE("random garbage never decodes and never crashes") {
    Prng random(42);
    int accepted = 0;
    for (int i = 0; i < 20000; ++i) {
      std::string junk(random.Below(64), '\0');
      for (char& c : junk) c = static_cast<char>(random.Below(256));
      if (DecodePacket(junk).IsOk()) ++accepted;
    }
    CHECK(accepted == 0);
  }
}

}  // namespace cairn::gossip
