// A small HTTP client for the agent's Consul-compatible /v1 API, used by every `cairn` verb.
// The HTTP client (http/http_client.h) stays behind this header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "http/message.h"

namespace cairn::cli {

struct HttpReply {
  int status = 0;
  std::string body;
  uint64_t consul_index = 0;  // X-Consul-Index, 0 when absent
};

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Percent-encoding for paths and query parameters ('/' kept for KV keys, which are paths).
using http::PercentEncode;
// `path` + "?" + encoded params; a param with an empty value is sent bare ("?recurse").
std::string WithQuery(const std::string& path, const QueryParams& params);

// The agent address to use: the -http-addr flag if given, else CAIRN_HTTP_ADDR, else
// CONSUL_HTTP_ADDR, else 127.0.0.1:8500.
std::string ResolveHttpAddress(const std::string& flag_value);

class ApiClient {
 public:
  // `address` is host:port or http(s)://host:port.
  static Result<ApiClient> Create(const std::string& address);
  ApiClient(ApiClient&&) noexcept;
  ApiClient& operator=(ApiClient&&) noexcept;
  ~ApiClient();

  // A transport failure is an error; any HTTP status is a reply for the caller to judge.
  Result<HttpReply> Get(const std::string& path_and_query);
  Result<HttpReply> Put(const std::string& path_and_query, const std::string& body);
  Result<HttpReply> Delete(const std::string& path_and_query);

  const std::string& Address() const { return address_; }

 private:
  struct Impl;
  ApiClient(std::string address, std::unique_ptr<Impl> impl);
  std::string address_;
  std::unique_ptr<Impl> impl_;
};

// An error for a non-2xx reply in Consul's words: "Unexpected response code: 500 (body)".
Status UnexpectedReply(const HttpReply& reply);

}  // namespace cairn::cli
