// /v1/catalog/* and /v1/health/*.
#include "tests/http/http_fixture.h"

namespace cairn::http::testing {
namespace {

// Two nodes: n1 (rack a) with web/1 [v1, blue] passing, n2 (rack b) with web/2 [v2] critical
// and a db instance.
void Populate(ApiFixture& f) {
  auto register_one = [&](const Json& body) {
    auto res = f.PutJson("/v1/catalog/register", body);
    REQUIRE_MESSAGE(res.body == "true", res.body);
  };
  register_one(
      {{"Node", "n1"},
       {"Address", "10.0.0.1"},
       {"NodeMeta", {{"rack", "a"}}},
       {"Service", {{"ID", "web/1"}, {"Service", "web"}, {"Tags", {"v1", "blue"}}, {"Port", 80}}},
       {"Check", {{"CheckID", "web1-alive"}, {"Name", "alive"}, {"ServiceID", "web/1"}, {"Status", "passing"}}}});
  register_one(
      {{"Node", "n2"},
       {"Address", "10.0.0.2"},
       {"NodeMeta", {{"rack", "b"}}},
       {"Service", {{"ID", "web/2"}, {"Service", "web"}, {"Tags", {"v2"}}, {"Port", 81}}},
       {"Checks", {{{"CheckID", "web2-alive"}, {"ServiceID", "web/2"}, {"Status", "critical"}, {"Output", "down"}}}}});
  register_one({{"Node", "n2"},
                {"Address", "10.0.0.2"},
                {"NodeMeta", {{"rack", "b"}}},
                {"Service", {{"Service", "db"}, {"Port", 5432}}}});
}

std::vector<std::string> Field(const Json& items, const std::string& name) {
  std::vector<std::string> out;
  for (const Json& item : items) out.push_back(item[name]);
  return out;
}

TEST_SUITE("http.catalog") {
  TEST_CASE("registered nodes and services are listed with Consul's fields") {
    ApiFixture f;
    Populate(f);
    auto nodes = f.Get("/v1/catalog/nodes");
    CHECK(Field(BodyJson(nodes), "Node") == std::vector<std::string>{"n1", "n2", "node1"});
    CHECK(IndexHeader(nodes) >= 1);
    CHECK(Field(BodyJson(f.Get("/v1/catalog/nodes?node-meta=rack:b")), "Node") == std::vector<std::string>{"n2"});
    Json services = BodyJson(f.Get("/v1/catalog/services"));
    CHECK(services["web"] == Json({"blue", "v1", "v2"}));
    CHECK(services["db"] == Json::array());
    CHECK(BodyJson(f.Get("/v1/catalog/services?node-meta=rack:a")) == Json({{"web", {"blue", "v1"}}}));
    Json web = BodyJson(f.Get("/v1/catalog/service/web"));
    REQUIRE(web.size() == 2);
    CHECK(web[0]["ServiceID"] == "web/1");
    CHECK(web[0]["Address"] == "10.0.0.1");
    CHECK(web[0]["ServicePort"] == 80);
    CHECK(web[0]["NodeMeta"]["rack"] == "a");
    CHECK(web[0]["ServiceWeights"]["Passing"] == 1);
    CHECK(Field(BodyJson(f.Get("/v1/catalog/service/web?tag=v2")), "ServiceID") == std::vector<std::string>{"web/2"});
    CHECK(BodyJson(f.Get("/v1/catalog/service/web?tag=v1&tag=v2")).empty());
    CHECK(Field(BodyJson(f.Get("/v1/catalog/service/web?node-meta=rack:a")), "Node") == std::vector<std::string>{"n1"});
    CHECK(BodyJson(f.Get("/v1/catalog/service/none")).empty());
    Json node = BodyJson(f.Get("/v1/catalog/node/n2"));
    CHECK(node["Node"]["Address"] == "10.0.0.2");
    CHECK(node["Services"].size() == 2);
    CHECK(node["Services"]["db"]["Port"] == 5432);
    auto missing = f.Get("/v1/catalog/node/ghost");
    CHECK(missing.status == 200);
    CHECK(missing.body == "null");
    CHECK(BodyJson(f.Get("/v1/catalog/datacenters")) == Json({"dc1"}));
  }

  TEST_CASE("deregister removes a service, a check or a whole node") {
    ApiFixture f;
    Populate(f);
    CHECK(f.PutJson("/v1/catalog/deregister", {{"Node", "n2"}, {"ServiceID", "db"}}).body == "true");
    CHECK(BodyJson(f.Get("/v1/catalog/service/db")).empty());
    CHECK(f.PutJson("/v1/catalog/deregister", {{"Node", "n1"}, {"CheckID", "web1-alive"}}).body == "true");
    CHECK(BodyJson(f.Get("/v1/health/node/n1")).empty());
    CHECK(f.PutJson("/v1/catalog/deregister", {{"Node", "n2"}}).body == "true");
    CHECK(f.Get("/v1/catalog/node/n2").body == "null");
    CHECK(f.PutJson("/v1/catalog/deregister", {{"Node", "n2"}}).body == "true");  // already gone
  }

  TEST_CASE("snake_case and lower-case registration keys") {
    ApiFixture f;
    auto res = f.Put("/v1/catalog/register", R"({"node":"s1","address":"10.9.9.9","node_meta":{"k":"v"},
        "service":{"service":"api","id":"api-1","port":7000,"enable_tag_override":true},
        "check":{"check_id":"api-check","service_id":"api-1","status":"warning"}})");
    REQUIRE_MESSAGE(res.body == "true", res.body);
    Json api = BodyJson(f.Get("/v1/catalog/service/api"))[0];
    CHECK(api["ServiceEnableTagOverride"] == true);
    CHECK(api["NodeMeta"]["k"] == "v");
    CHECK(BodyJson(f.Get("/v1/health/checks/api"))[0]["Status"] == "warning");
  }

  TEST_CASE("bad registrations are 400 and change nothing") {
    ApiFixture f;
    Populate(f);
    const size_t writes = f.backend.Writes();
    const std::string before = f.Get("/v1/catalog/service/web").body;
    CHECK(f.PutJson("/v1/catalog/register", {{"Address", "10.0.0.1"}}).body == "Must provide node");
    CHECK(f.PutJson("/v1/catalog/register", {{"Node", "x"}}).status == 400);
    CHECK(f.PutJson("/v1/catalog/register",
                    {{"Node", "n1"}, {"Address", "1.1.1.1"}, {"Service", {{"Service", "web"}, {"Port", "80"}}}})
              .status == 400);
    CHECK(f.PutJson("/v1/catalog/register",
                    {{"Node", "n1"}, {"Address", "1.1.1.1"}, {"Service", {{"Service", "web"}, {"Port", 70000}}}})
              .status == 400);
    auto unknown = f.PutJson("/v1/catalog/register", {{"Node", "n1"}, {"Address", "1.1.1.1"}, {"Nonsense", 1}});
    CHECK(unknown.status == 400);
    CHECK(unknown.body.find("Nonsense") != std::string::npos);
    CHECK(f.PutJson("/v1/catalog/register",
                    {{"Node", "n1"}, {"Address", "1.1.1.1"}, {"Check", {{"CheckID", "c"}, {"Status", "sad"}}}})
              .status == 400);
    CHECK(f.PutJson("/v1/catalog/register", {{"Node", "n1"}, {"address", "1.1.1.1"}, {"Address", "2.2.2.2"}}).status ==
          400);
    CHECK(f.Put("/v1/catalog/register", "[1,2").status == 400);
    CHECK(f.PutJson("/v1/catalog/deregister", {{"ServiceID", "web/1"}}).status == 400);
    CHECK(f.backend.Writes() == writes);
    CHECK(f.Get("/v1/catalog/service/web").body == before);
  }
}

TEST_SUITE("http.health") {
  TEST_CASE("node, service checks, service health and state") {
    ApiFixture f;
    Populate(f);
    Json n2 = BodyJson(f.Get("/v1/health/node/n2"));
    REQUIRE(n2.size() == 1);
    CHECK(n2[0]["CheckID"] == "web2-alive");
    CHECK(n2[0]["Output"] == "down");
    CHECK(n2[0]["ServiceName"] == "web");
    CHECK(Field(BodyJson(f.Get("/v1/health/checks/web")), "CheckID") ==
          std::vector<std::string>{"web1-alive", "web2-alive"});
    Json all = BodyJson(f.Get("/v1/health/service/web"));
    REQUIRE(all.size() == 2);
    CHECK(all[0]["Node"]["Node"] == "n1");
    CHECK(all[0]["Service"]["ID"] == "web/1");
    CHECK(all[0]["Checks"][0]["Status"] == "passing");
    Json passing = BodyJson(f.Get("/v1/health/service/web?passing"));
    REQUIRE(passing.size() == 1);
    CHECK(passing[0]["Service"]["ID"] == "web/1");
    CHECK(BodyJson(f.Get("/v1/health/service/web?passing=false")).size() == 2);
    CHECK(BodyJson(f.Get("/v1/health/service/web?tag=v2")).size() == 1);
    CHECK(BodyJson(f.Get("/v1/health/service/web?node-meta=rack:b"))[0]["Node"]["Node"] == "n2");
    CHECK(Field(BodyJson(f.Get("/v1/health/state/critical")), "CheckID") == std::vector<std::string>{"web2-alive"});
    CHECK(Field(BodyJson(f.Get("/v1/health/state/passing")), "CheckID") == std::vector<std::string>{"web1-alive"});
    CHECK(BodyJson(f.Get("/v1/health/state/any")).size() == 2);
    CHECK(BodyJson(f.Get("/v1/health/state/warning")).empty());
    auto bad = f.Get("/v1/health/state/sideways");
    CHECK(bad.status == 400);
    CHECK(f.Get("/v1/health/service/web?node-meta=nocolon").status == 400);
    CHECK(IndexHeader(f.Get("/v1/health/state/any")) >= 1);
  }
}

}  // namespace
}  // namespace cairn::http::testing
