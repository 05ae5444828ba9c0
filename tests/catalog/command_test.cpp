#include "catalog/command.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "catalog/catalog_limits.h"
#include "tests/catalog/catalog_test_util.h"

namespace cairn::catalog {
namespace {

using testing::OpenOrDie;
using testing::TempDir;

// Every field set to something other than its default, so a field the codec drops or mixes up
// changes the re-encoding.
Node FullNode() {
  Node n;
  n.name = "node-a";
  n.id = "11111111-2222-3333-4444-555555555555";
  n.address = "10.0.0.1";
  n.datacenter = "dc1";
  n.tagged_addresses = {{"lan", "10.0.0.1"}, {"wan", "1.2.3.4"}};
  n.meta = {{"rack", "r1"}};
  n.create_index = RaftIndex(3);
  n.modify_index = RaftIndex(4);
  return n;
}

Service FullService() {
  Service s;
  s.node = "node-a";
  s.id = "web-1";
  s.name = "web";
  s.tags = {"v1", "primary"};
  s.address = "10.0.0.2";
  s.port = 8080;
  s.meta = {{"version", "1.2"}};
  s.weights = {7, 2};
  s.enable_tag_override = true;
  s.create_index = RaftIndex(5);
  s.modify_index = RaftIndex(6);
  return s;
}

Check FullCheck() {
  Check c;
  c.node = "node-a";
  c.check_id = "web-alive";
  c.name = "alive";
  c.status = HealthStatus::kWarning;
  c.notes = "notes";
  c.output = "HTTP 200";
  c.service_id = "web-1";
  c.service_name = "web";
  c.create_index = RaftIndex(7);
  c.modify_index = RaftIndex(8);
  return c;
}

Session FullSession() {
  Session s;
  s.id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
  s.name = "leader-election";
  s.node = "node-a";
  s.checks = {"serfHealth", "web-alive"};
  s.lock_delay_millis = 2500;
  s.behavior = SessionBehavior::kDelete;
  s.ttl_millis = 30000;
  s.create_index = RaftIndex(9);
  s.modify_index = RaftIndex(10);
  return s;
}

KvOp FullKvOp(KvVerb verb) { return KvOp{verb, "app/config", std::string("v\0al", 4), 42, RaftIndex(11), "sess"}; }

std::vector<TxnOp> EveryTxnOp() {
  std::vector<TxnOp> ops;
  for (uint8_t v = 0; v <= static_cast<uint8_t>(KvVerb::kCheckNotExists); ++v) {
    ops.push_back(FullKvOp(static_cast<KvVerb>(v)));
  }
  for (uint8_t v = 0; v < 3; ++v) {
    ops.push_back(NodeTxnOp{static_cast<NodeTxnOp::Verb>(v), FullNode()});
    ops.push_back(ServiceTxnOp{static_cast<ServiceTxnOp::Verb>(v), FullService()});
    ops.push_back(CheckTxnOp{static_cast<CheckTxnOp::Verb>(v), FullCheck()});
  }
  return ops;
}

// One command of every kind (and the KV command with every verb).
std::vector<Command> EveryCommand() {
  std::vector<Command> commands;
  const int64_t now = 1'700'000'000'123;
  for (uint8_t v = 0; v <= static_cast<uint8_t>(KvVerb::kCheckNotExists); ++v) {
    commands.push_back({now, KvCommand{FullKvOp(static_cast<KvVerb>(v))}});
  }
  commands.push_back({now, SessionCreateCommand{FullSession()}});
  commands.push_back({now, SessionDestroyCommand{"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}});
  commands.push_back({now, RegisterCommand{Registration{FullNode(), FullService(), {FullCheck(), FullCheck()}}}});
  commands.push_back({now, RegisterCommand{Registration{FullNode(), std::nullopt, {}}}});
  commands.push_back({now, DeregisterCommand{"node-a", "web-1", "web-alive"}});
  commands.push_back({now, TxnCommand{EveryTxnOp()}});
  commands.push_back({-5, ReapCommand{RaftIndex(99)}});
  return commands;
}

CommandResult FullResult() {
  CommandResult r;
  r.index = RaftIndex(1234);
  r.outcome = Outcome::Fail(OutcomeCode::kRejected, "transaction rolled back");
  TxnResult txn;
  txn.results = {KvEntry{"k", "v", 1, RaftIndex(2), RaftIndex(3), 4, "s"}, FullNode(), FullService(), FullCheck()};
  txn.errors = {{3, "index mismatch"}, {5, "missing"}};
  r.txn = txn;
  r.session_id = "sess-1";
  return r;
}

Command MustDecode(const std::string& bytes) {
  Result<Command> decoded = DecodeCommand(bytes);
  REQUIRE_MESSAGE(decoded.IsOk(), decoded.GetStatus().ToString());
  return *decoded;
}

TEST_SUITE("catalog.command") {
  TEST_CASE("every command kind and every txn op survives a round trip unchanged") {
    for (const Command& command : EveryCommand()) {
      const std::string bytes = EncodeCommand(command);
      const Command decoded = MustDecode(bytes);
      CHECK(decoded.body.index() == command.body.index());
      CHECK(decoded.now_millis == command.now_millis);
      CHECK(EncodeCommand(decoded) == bytes);
    }
    // Spot checks that the fields land where they belong, not merely re-encode alike.
    const Command txn = MustDecode(EncodeCommand(Command{1, TxnCommand{EveryTxnOp()}}));
    const auto& ops = std::get<TxnCommand>(txn.body).ops;
    REQUIRE(ops.size() == EveryTxnOp().size());
    const auto& last_kv = std::get<KvOp>(ops[static_cast<size_t>(KvVerb::kCheckNotExists)]);
    CHECK(last_kv.verb == KvVerb::kCheckNotExists);
    CHECK(last_kv.value == std::string("v\0al", 4));
    CHECK(last_kv.index == RaftIndex(11));
    const auto& service_op = std::get<ServiceTxnOp>(ops[ops.size() - 2]);
    CHECK(service_op.verb == ServiceTxnOp::Verb::kDelete);
    CHECK(service_op.service.weights == Weights{7, 2});
    CHECK(service_op.service.tags == std::vector<std::string>{"v1", "primary"});
    const auto& check_op = std::get<CheckTxnOp>(ops.back());
    CHECK(check_op.check.status == HealthStatus::kWarning);

    const Command session = MustDecode(EncodeCommand(Command{1, SessionCreateCommand{FullSession()}}));
    const Session& s = std::get<SessionCreateCommand>(session.body).session;
    CHECK(s.behavior == SessionBehavior::kDelete);
    CHECK(s.ttl_millis == 30000);
    CHECK(s.checks.size() == 2);
    const Command reg = MustDecode(EncodeCommand(EveryCommand()[static_cast<size_t>(KvVerb::kCheckNotExists) + 3]));
    const Registration& r = std::get<RegisterCommand>(reg.body).registration;
    REQUIRE(r.service.has_value());
    CHECK(r.service->port == 8080);
    CHECK(r.checks.size() == 2);
    CHECK(r.node.tagged_addresses.at("wan") == "1.2.3.4");
  }

  TEST_CASE("every truncation of an encoding is refused as corruption") {
    for (const Command& command : EveryCommand()) {
      const std::string bytes = EncodeCommand(command);
      for (size_t len = 0; len < bytes.size(); ++len) {
        Result<Command> decoded = DecodeCommand(std::string_view(bytes).substr(0, len));
        REQUIRE_MESSAGE(!decoded.IsOk(), "a prefix of " << len << " of " << bytes.size() << " bytes decoded");
        CHECK(decoded.GetStatus().Code() == StatusCode::kCorruption);
      }
    }
  }

  TEST_CASE("unknown version or kind and trailing bytes are named") {
    const std::string bytes = EncodeCommand(Command{1, SessionDestroyCommand{"s"}});
    std::string bad_version = bytes;
    bad_version[0] = 9;
    Result<Command> v = DecodeCommand(bad_version);
    REQUIRE(!v.IsOk());
    CHECK(v.GetStatus().Code() == StatusCode::kCorruption);
    CHECK(v.GetStatus().Message().find("unknown command version 9") != std::string::npos);

    std::string bad_kind = bytes;
    bad_kind[1] = 0;
    Result<Command> k = DecodeCommand(bad_kind);
    REQUIRE(!k.IsOk());
    CHECK(k.GetStatus().Message().find("unknown command kind 0") != std::string::npos);
    bad_kind[1] = 8;
    CHECK(!DecodeCommand(bad_kind).IsOk());

    Result<Command> trailing = DecodeCommand(bytes + "x");
    REQUIRE(!trailing.IsOk());
    CHECK(trailing.GetStatus().Code() == StatusCode::kCorruption);
    CHECK(trailing.GetStatus().Message().find("1 ") != std::string::npos);
  }

  TEST_CASE("a value past a catalog limit is refused with the limit named") {
    Command big_key{1, KvCommand{KvOp{KvVerb::kSet, std::string(limits::kKvKeyBytesMax + 1, 'k'), "v", 0, {}, {}}}};
    Result<Command> key = DecodeCommand(EncodeCommand(big_key));
    REQUIRE(!key.IsOk());
    CHECK(key.GetStatus().Message().find("exceeds the limit of " + std::to_string(limits::kKvKeyBytesMax)) !=
          std::string::npos);

    TxnCommand txn;
    txn.ops.assign(limits::kTxnOpsMax + 1, FullKvOp(KvVerb::kSet));
    Result<Command> ops = DecodeCommand(EncodeCommand(Command{1, txn}));
    REQUIRE(!ops.IsOk());
    CHECK(ops.GetStatus().Message().find("txn op count") != std::string::npos);

    Service tagged = FullService();
    tagged.tags.assign(limits::kTagsMax + 1, "t");
    Result<Command> tags = DecodeCommand(EncodeCommand(Command{1, RegisterCommand{{FullNode(), tagged, {}}}}));
    REQUIRE(!tags.IsOk());
    CHECK(tags.GetStatus().Message().find("service tag count") != std::string::npos);
  }

  TEST_CASE("flipped bytes never crash the decoder, and whatever decodes re-encodes") {
    size_t decoded_ok = 0;
    size_t refused = 0;
    for (const Command& command : EveryCommand()) {
      const std::string bytes = EncodeCommand(command);
      for (size_t i = 0; i < bytes.size(); ++i) {
        for (const uint8_t mask : {0x01, 0x80, 0xFF}) {
          std::string flipped = bytes;
          flipped[i] = static_cast<char>(flipped[i] ^ mask);
          Result<Command> decoded = DecodeCommand(flipped);
          if (!decoded.IsOk()) {
            CHECK(decoded.GetStatus().Code() == StatusCode::kCorruption);
            ++refused;
            continue;
          }
          ++decoded_ok;
          CHECK(DecodeCommand(EncodeCommand(*decoded)).IsOk());
        }
      }
    }
    // Both paths ran: flips inside string bodies decode, flips in lengths and tags do not.
    CHECK(decoded_ok > 0);
    CHECK(refused > 0);
  }

  TEST_CASE("command results survive a round trip, and truncations are refused") {
    const CommandResult result = FullResult();
    const std::string bytes = EncodeCommandResult(result);
    Result<CommandResult> decoded = DecodeCommandResult(bytes);
    REQUIRE_MESSAGE(decoded.IsOk(), decoded.GetStatus().ToString());
    CHECK(decoded->index == RaftIndex(1234));
    CHECK(decoded->outcome.code == OutcomeCode::kRejected);
    CHECK(decoded->outcome.message == "transaction rolled back");
    CHECK(decoded->session_id == "sess-1");
    REQUIRE(decoded->txn.has_value());
    REQUIRE(decoded->txn->results.size() == 4);
    CHECK(std::get<KvEntry>(decoded->txn->results[0]).lock_index == 4);
    CHECK(std::get<Node>(decoded->txn->results[1]).meta.at("rack") == "r1");
    CHECK(std::get<Service>(decoded->txn->results[2]).enable_tag_override);
    CHECK(std::get<Check>(decoded->txn->results[3]).output == "HTTP 200");
    REQUIRE(decoded->txn->errors.size() == 2);
    CHECK(decoded->txn->errors[1].op_index == 5);
    CHECK(EncodeCommandResult(*decoded) == bytes);

    CommandResult plain;
    plain.index = RaftIndex(1);
    Result<CommandResult> plain_decoded = DecodeCommandResult(EncodeCommandResult(plain));
    REQUIRE(plain_decoded.IsOk());
    CHECK(!plain_decoded->txn.has_value());
    CHECK(plain_decoded->outcome.Ok());

    for (size_t len = 0; len < bytes.size(); ++len) {
      CHECK(!DecodeCommandResult(std::string_view(bytes).substr(0, len)).IsOk());
    }
    CHECK(!DecodeCommandResult(bytes + '\0').IsOk());
  }

  TEST_CASE("a node's registrations survive a round trip; truncations and a wrong version are refused") {
    NodeRegistrations full{FullNode(), {FullService(), FullService()}, {FullCheck()}};
    full.services[1].id = "web-2";
    const std::string bytes = EncodeNodeRegistrations(full);
    Result<NodeRegistrations> decoded = DecodeNodeRegistrations(bytes);
    REQUIRE_MESSAGE(decoded.IsOk(), decoded.GetStatus().ToString());
    REQUIRE(decoded->node.has_value());
    CHECK(decoded->node->SameAs(*full.node));
    REQUIRE(decoded->services.size() == 2);
    CHECK(decoded->services[1].SameAs(full.services[1]));
    REQUIRE(decoded->checks.size() == 1);
    CHECK(decoded->checks[0].SameAs(full.checks[0]));
    CHECK(EncodeNodeRegistrations(*decoded) == bytes);

    Result<NodeRegistrations> unknown = DecodeNodeRegistrations(EncodeNodeRegistrations(NodeRegistrations{}));
    REQUIRE(unknown.IsOk());
    CHECK(!unknown->node.has_value());
    CHECK(unknown->services.empty());

    for (size_t len = 0; len < bytes.size(); ++len) {
      CHECK(!DecodeNodeRegistrations(std::string_view(bytes).substr(0, len)).IsOk());
    }
    CHECK(!DecodeNodeRegistrations(bytes + '\0').IsOk());
    std::string other_version = bytes;
    other_version[0] = 2;
    CHECK(DecodeNodeRegistrations(other_version).GetStatus().Message().find("version 2") != std::string::npos);
  }

  TEST_CASE("ApplyCommand applies each kind and reports rejections as outcomes") {
    TempDir dir;
    auto store = OpenOrDie(dir.path);
    const int64_t now = 1'000'000;
    auto apply = [&](uint64_t index, CommandBody body) {
      Result<CommandResult> r = ApplyCommand(*store, RaftIndex(index), Command{now, std::move(body)});
      REQUIRE_MESSAGE(r.IsOk(), r.GetStatus().ToString());
      CHECK(r->index == RaftIndex(index));
      return *r;
    };
    CHECK(apply(1, KvCommand{KvOp{KvVerb::kSet, "a", "1", 0, {}, {}}}).outcome.Ok());
    const CommandResult cas = apply(2, KvCommand{KvOp{KvVerb::kCas, "a", "2", 0, RaftIndex(7), {}}});
    CHECK(cas.outcome.code == OutcomeCode::kRejected);
    CHECK(store->KvGet("a").value->value == "1");
    CHECK(store->AppliedIndex() == RaftIndex(2));  // a rejection still consumes its index

    CHECK(apply(3, RegisterCommand{Registration{FullNode(), FullService(), {}}}).outcome.Ok());
    Session session;
    session.id = "s-1";
    session.node = "node-a";
    session.checks = {};
    const CommandResult created = apply(4, SessionCreateCommand{session});
    CHECK(created.outcome.Ok());
    CHECK(created.session_id == "s-1");
    CHECK(apply(5, KvCommand{KvOp{KvVerb::kLock, "lock", "me", 0, {}, "s-1"}}).outcome.Ok());
    CHECK(apply(6, SessionDestroyCommand{"s-1"}).outcome.Ok());
    CHECK(store->KvGet("lock").value->session.empty());

    const CommandResult txn =
        apply(7, TxnCommand{{KvOp{KvVerb::kSet, "t", "x", 0, {}, {}}, KvOp{KvVerb::kGet, "a", {}, 0, {}, {}}}});
    CHECK(txn.outcome.Ok());
    REQUIRE(txn.txn.has_value());
    CHECK(txn.txn->Committed());
    REQUIRE(txn.txn->results.size() == 2);
    CHECK(std::get<KvEntry>(txn.txn->results[1]).value == "1");

    const CommandResult failed = apply(8, TxnCommand{{KvOp{KvVerb::kSet, "u", "x", 0, {}, {}},
                                                      KvOp{KvVerb::kCheckIndex, "a", {}, 0, RaftIndex(999), {}}}});
    CHECK(failed.outcome.code == OutcomeCode::kRejected);
    REQUIRE(failed.txn.has_value());
    REQUIRE(failed.txn->errors.size() == 1);
    CHECK(failed.txn->errors[0].op_index == 1);
    CHECK(!store->KvGet("u").value.has_value());

    CHECK(apply(9, DeregisterCommand{"node-a", "web-1", ""}).outcome.Ok());
    CHECK(store->NodeServices("node-a").value.empty());
    CHECK(apply(10, DeregisterCommand{"node-a", "", ""}).outcome.Ok());
    CHECK(!store->GetNode("node-a").value.has_value());
    CHECK(apply(11, KvCommand{KvOp{KvVerb::kDelete, "t", {}, 0, {}, {}}}).outcome.Ok());
    CHECK(apply(12, ReapCommand{RaftIndex(11)}).outcome.Ok());
    CHECK(apply(13, SessionDestroyCommand{"no-such"}).outcome.code != OutcomeCode::kOk);

    // A store failure (an index that does not advance) is an error, not an outcome.
    Result<CommandResult> stale = ApplyCommand(*store, RaftIndex(13), Command{now, ReapCommand{RaftIndex(1)}});
    CHECK(!stale.IsOk());
  }
}

}  // namespace
}  // namespace cairn::catalog
