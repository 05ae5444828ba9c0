// A running HttpApi over a TestBackend (real StateStore on disk) and a real HTTP client on
// 127.0.0.1, with short helpers for the requests the tests make.
#pragma once

#include <doctest/doctest.h>
#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "http/api_server.h"
#include "tests/catalog/catalog_test_util.h"
#include "tests/http/test_backend.h"

namespace cairn::http::testing {

using Json = nlohmann::json;

inline ApiOptions TestOptions() {
  ApiOptions options;
  options.worker_threads = 16;
  return options;
}

struct ApiFixture {
  explicit ApiFixture(ApiOptions options = TestOptions()) : api(backend, std::move(options)) {
    Status started = api.Start();
    REQUIRE_MESSAGE(started.IsOk(), started.ToString());
    REQUIRE(api.Port() != 0);
    client = NewClient();
  }

  std::unique_ptr<httplib::Client> NewClient() const {
    auto client = std::make_unique<httplib::Client>("127.0.0.1", api.Port());
    client->set_read_timeout(std::chrono::seconds(30));
    return client;
  }

  httplib::Response Get(const std::string& path) { return Check(client->Get(path.c_str()), path); }
  httplib::Response Put(const std::string& path, const std::string& body = "") {
    return Check(client->Put(path.c_str(), body, "application/json"), path);
  }
  httplib::Response PutJson(const std::string& path, const Json& body) { return Put(path, body.dump()); }
  httplib::Response Delete(const std::string& path) { return Check(client->Delete(path.c_str()), path); }

  static httplib::Response Check(const httplib::Result& result, const std::string& path) {
    REQUIRE_MESSAGE(result, "request to " << path << " failed: " << httplib::to_string(result.error()));
    return *result;
  }

  catalog::testing::TempDir dir;
  TestBackend backend{dir.path};
  HttpApi api;
  std::unique_ptr<httplib::Client> client;
};

inline Json BodyJson(const httplib::Response& res) { return Json::parse(res.body); }

inline uint64_t IndexHeader(const httplib::Response& res) {
  REQUIRE(res.has_header("X-Consul-Index"));
  return std::stoull(res.get_header_value("X-Consul-Index"));
}

}  // namespace cairn::http::testing
