// The text the `cairn` verbs print, from canned Consul-format JSON, compared byte for byte.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "agent/cli/format.h"

namespace cairn::cli {
namespace {

TEST_SUITE("cli.format") {
  TEST_CASE("malformed base64 is rejected") {
    for (const char* bad : {"Zg=", "Z===", "Zm9v!A==", "=Zg=", "Zg==Zm8=", "Zm=v", "Zm 9"}) {
      CAPTURE(bad);
      CHECK_FALSE(Base64Decode(bad).IsOk());
    }
  }

  TEST_CASE("columns are padded to the widest cell, joined by two spaces, without trailing spaces") {
    CHECK(Columnize({{"Node", "ID", "DC"}, {"alpha-long", "1", "dc1"}, {"b", "", ""}}) ==
          "Node        ID  DC\n"
          "alpha-long  1   dc1\n"
          "b\n");
  }

  const char kPairs[] =
      R"([{"Key":"app/a","Flags":42,"Value":"aGVsbG8=","Session":"","CreateIndex":3,"ModifyIndex":9,"LockIndex":0},
          {"Key":"app/b","Flags":0,"Value":null,"Session":"s-1","CreateIndex":4,"ModifyIndex":4,"LockIndex":2}])";

  TEST_CASE("KV entries decode, and -detailed prints Consul's aligned fields") {
    std::vector<KvPair> pairs = ParseKvPairs(kPairs).Value();
    REQUIRE(pairs.size() == 2);
    CHECK(pairs[0].value == "hello");
    CHECK(pairs[1].value.empty());
    CHECK(FormatKvDetailed(pairs[0], false) ==
          "CreateIndex      3\n"
          "Flags            42\n"
          "Key              app/a\n"
          "LockIndex        0\n"
          "ModifyIndex      9\n"
          "Session          -\n"
          "Value            hello\n");
    CHECK(FormatKvDetailed(pairs[1], true).find("Session          s-1\n") != std::string::npos);
    CHECK(FormatKvDetailed(pairs[0], true).find("Value            aGVsbG8=\n") != std::string::npos);
  }

  TEST_CASE("-recurse prints key:value lines, or detailed blocks separated by a blank line") {
    std::vector<KvPair> pairs = ParseKvPairs(kPairs).Value();
    CHECK(FormatKvRecurse(pairs, false, false) == "app/a:hello\napp/b:\n");
    CHECK(FormatKvRecurse(pairs, false, true) == "app/a:aGVsbG8=\napp/b:\n");
    std::string detailed = FormatKvRecurse(pairs, true, false);
    CHECK(detailed == FormatKvDetailed(pairs[0], false) + "\n" + FormatKvDetailed(pairs[1], false));
  }

  TEST_CASE("a KV reply that is not an entry list is an error") {
    CHECK_FALSE(ParseKvPairs("{}").IsOk());
    CHECK_FALSE(ParseKvPairs("[{\"Flags\":1}]").IsOk());
    CHECK_FALSE(ParseKvPairs("[{\"Key\":\"a\",\"Value\":\"***\"}]").IsOk());
    CHECK_FALSE(ParseKvPairs("not json").IsOk());
    CHECK(ParseStringList(R"(["a/","a/b"])").Value() == std::vector<std::string>{"a/", "a/b"});
    CHECK_FALSE(ParseStringList("[1]").IsOk());
  }

  TEST_CASE("kv export writes Consul's tab-indented key/flags/value document") {
    std::vector<KvPair> pairs = ParseKvPairs(kPairs).Value();
    CHECK(FormatKvExport(pairs) ==
          "[\n"
          "\t{\n\t\t\"key\": \"app/a\",\n\t\t\"flags\": 42,\n\t\t\"value\": \"aGVsbG8=\"\n\t},\n"
          "\t{\n\t\t\"key\": \"app/b\",\n\t\t\"flags\": 0,\n\t\t\"value\": \"\"\n\t}\n"
          "]\n");
    CHECK(FormatKvExport({}) == "[]\n");
  }

  TEST_CASE("kv import reads back what export wrote, binary values included") {
    std::vector<KvPair> pairs(2);
    pairs[0].key = "x/bin";
    pairs[0].flags = 18446744073709551615ULL;
    pairs[0].value = std::string("\0\xff\x10quote\"\n", 10);
    pairs[1].key = "x/empty";
    std::vector<KvPair> back = ParseKvImport(FormatKvExport(pairs)).Value();
    REQUIRE(back.size() == 2);
    for (size_t i = 0; i < 2; ++i) {
      CHECK(back[i].key == pairs[i].key);
      CHECK(back[i].flags == pairs[i].flags);
      CHECK(back[i].value == pairs[i].value);
    }
  }

  TEST_CASE("kv import names the entry and field it cannot use") {
    CHECK(ParseKvImport("{}").GetStatus().Message() == "the import data is not a JSON array");
    CHECK(ParseKvImport(R"([{"key":"a"},{"key":"b","flags":-1}])").GetStatus().Message() ==
          "import entry 1: \"flags\" is not a non-negative integer");
    CHECK(ParseKvImport(R"([{"key":"a","value":"@@@@"}])").GetStatus().Message() ==
          "import entry 0: illegal base64 data at input byte 0");
    CHECK(ParseKvImport(R"([{"key":"a","value":7}])").GetStatus().Message() ==
          "import entry 0: \"value\" is not a base64 string");
    CHECK(ParseKvImport("[").GetStatus().Message() == "malformed JSON in the import data");
  }

  const char kNodes[] = R"([
    {"ID":"1b662d97-8b5c-3cc2-0ac0-96f55ad423b5","Node":"worker-01","Address":"10.4.5.31","Datacenter":"dc1",
     "TaggedAddresses":{"wan":"1.2.3.4","lan":"10.4.5.31"},"Meta":{"rack":"r1"}},
    {"ID":"","Node":"w2","Address":"10.4.4.158","Datacenter":"dc1","TaggedAddresses":null,"Meta":{}}])";

  TEST_CASE("catalog nodes: short IDs by default, tagged addresses and meta when detailed") {
    CHECK(FormatCatalogNodes(kNodes, false).Value() ==
          "Node       ID        Address     DC\n"
          "worker-01  1b662d97  10.4.5.31   dc1\n"
          "w2                   10.4.4.158  dc1\n");
    CHECK(FormatCatalogNodes(kNodes, true).Value() ==
          "Node       ID                                    Address     DC   TaggedAddresses             Meta\n"
          "worker-01  1b662d97-8b5c-3cc2-0ac0-96f55ad423b5  10.4.5.31   dc1  lan=10.4.5.31, wan=1.2.3.4  rack=r1\n"
          "w2                                               10.4.4.158  dc1\n");
    CHECK_FALSE(FormatCatalogNodes("{}", false).IsOk());
  }

  TEST_CASE("catalog services: sorted names, with sorted tags on request") {
    const char services[] = R"({"web":["v2","primary"],"consul":[],"db":null})";
    CHECK(FormatCatalogServices(services, false).Value() == "consul\ndb\nweb\n");
    CHECK(FormatCatalogServices(services, true).Value() ==
          "consul\n"
          "db\n"
          "web     primary,v2\n");
    CHECK(FormatCatalogServices("{}", false).Value().empty());
    CHECK_FALSE(FormatCatalogServices("[]", false).IsOk());
  }

  const char kMembers[] = R"([
    {"Name":"node-b","Addr":"10.0.0.2","Port":8301,"Status":4,
     "Tags":{"role":"node","dc":"dc1","build":"0.1.0:abc","vsn":"2","segment":""}},
    {"Name":"node-a","Addr":"10.0.0.1","Port":8301,"Status":1,
     "Tags":{"role":"consul","dc":"dc1","build":"0.1.0:abc","vsn":"2","port":"8300"}},
    {"Name":"v6","Addr":"::1","Port":8301,"Status":3,"Tags":{"role":"node","dc":"dc2","build":"0.1.0","vsn":"2"}}])";

  TEST_CASE("members: sorted by name in Consul's columns") {
    CHECK(FormatMembers(kMembers, false, "").Value() ==
          "Node    Address        Status  Type    Build  Protocol  DC   Partition  Segment\n"
          "node-a  10.0.0.1:8301  alive   server  0.1.0  2         dc1  default    <all>\n"
          "node-b  10.0.0.2:8301  failed  client  0.1.0  2         dc1  default    <default>\n"
          "v6      [::1]:8301     left    client  0.1.0  2         dc2  default    <default>\n");
  }

  TEST_CASE("members -detailed prints sorted tags; -status filters by regular expression") {
    CHECK(FormatMembers(kMembers, true, "^alive$").Value() ==
          "Node    Address        Status  Tags\n"
          "node-a  10.0.0.1:8301  alive   build=0.1.0:abc,dc=dc1,port=8300,role=consul,vsn=2\n");
    CHECK(FormatMembers(kMembers, false, "fail|left").Value().find("node-a") == std::string::npos);
    CHECK(FormatMembers(kMembers, false, "nothing").Value().empty());
    CHECK(FormatMembers(kMembers, false, "(").GetStatus().Message().rfind("invalid -status pattern \"(\"", 0) == 0);
  }

  TEST_CASE("raft list-peers marks the leader and voters") {
    const char config[] = R"({"Servers":[
      {"ID":"id-1","Node":"alice","Address":"10.0.0.1:8300","Leader":false,"Voter":true,"ProtocolVersion":"3"},
      {"ID":"id-2","Node":"bob","Address":"10.0.0.2:8300","Leader":true,"Voter":true,"ProtocolVersion":"3"},
      {"ID":"id-3","Node":"carol","Address":"10.0.0.3:8300","Leader":false,"Voter":false}],"Index":12})";
    CHECK(FormatRaftPeers(config).Value() ==
          "Node   ID    Address        State     Voter  RaftProtocol\n"
          "alice  id-1  10.0.0.1:8300  follower  true   3\n"
          "bob    id-2  10.0.0.2:8300  leader    true   3\n"
          "carol  id-3  10.0.0.3:8300  follower  false  <=1\n");
    CHECK_FALSE(FormatRaftPeers("{}").IsOk());
  }

  TEST_CASE("info prints sorted sections of sorted key = value lines") {
    const char self[] = R"({"Config":{},"Stats":{
      "raft":{"state":"Leader","applied_index":"12"},"agent":{"services":"1","checks":"0"},"runtime":{"goroutines":3}}})";
    CHECK(FormatInfo(self).Value() ==
          "agent:\n\tchecks = 0\n\tservices = 1\n"
          "raft:\n\tapplied_index = 12\n\tstate = Leader\n"
          "runtime:\n\tgoroutines = 3\n");
    CHECK_FALSE(FormatInfo(R"({"Config":{}})").IsOk());
  }
}

}  // namespace
}  // namespace cairn::cli
