#include "agent/cli/api_client.h"

#include <cstdlib>

#include "http/http_client.h"

namespace cairn::cli {
namespace {

constexpr char kDefaultHttpAddress[] = "127.0.0.1:8500";
// Blocking queries (the lock verb waits up to 15 s per query) must not time out on the client.
constexpr std::chrono::seconds kReadTimeout{65};
constexpr std::chrono::seconds kConnectTimeout{5};
constexpr size_t kErrorBodyBytesMax = 512;

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// "host:port", "[v6]:port", or a host alone (port 80, as for any http:// URL without one).
Result<HostPort> ParseHostPort(std::string_view text) {
  HostPort out;
  size_t colon = text.rfind(':');
  if (text.starts_with("[")) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("unterminated [");
    out.host = std::string(text.substr(1, close - 1));
    colon = close + 1 < text.size() && text[close + 1] == ':' ? close + 1 : std::string_view::npos;
  } else {
    out.host = std::string(text.substr(0, colon));
  }
  if (out.host.empty()) return Status::InvalidArgument("no host");
  out.port = 80;
  if (colon == std::string_view::npos) return out;
  const std::optional<uint64_t> port = http::ParseDecimal(text.substr(colon + 1));
  if (!port || *port == 0 || *port > 65535) return Status::InvalidArgument("invalid port");
  out.port = static_cast<uint16_t>(*port);
  return out;
}

Result<HttpReply> ToReply(const Result<http::Response>& result, const std::string& address) {
  if (!result.IsOk()) {
    return Status::Unavailable("error connecting to the agent at " + address + ": " + result.GetStatus().Message());
  }
  HttpReply reply;
  reply.status = result->status;
  reply.body = result->body;
  std::string index = result->HeaderValue("X-Consul-Index");
  if (!index.empty()) reply.consul_index = std::strtoull(index.c_str(), nullptr, 10);
  return reply;
}

}  // namespace

struct ApiClient::Impl {
  Impl(std::string host, uint16_t port, http::HttpClientOptions options) : client(std::move(host), port, options) {}
  http::HttpClient client;
};

std::string WithQuery(const std::string& path, const QueryParams& params) {
  std::string out = path;
  char separator = '?';
  for (const auto& [name, value] : params) {
    out += separator + PercentEncode(name, false);
    if (!value.empty()) out += "=" + PercentEncode(value, false);
    separator = '&';
  }
  return out;
}

std::string ResolveHttpAddress(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  for (const char* name : {"CAIRN_HTTP_ADDR", "CONSUL_HTTP_ADDR"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  return kDefaultHttpAddress;
}

Result<ApiClient> ApiClient::Create(const std::string& address) {
  std::string_view host_port = address;
  if (host_port.starts_with("https://")) {
    return Status::InvalidArgument("HTTPS is not supported in HTTP address \"" + address + "\" (use http://)");
  }
  if (address.find("://") != std::string::npos && !host_port.starts_with("http://")) {
    return Status::InvalidArgument("unsupported scheme in HTTP address \"" + address + "\" (use http://)");
  }
  if (host_port.starts_with("http://")) host_port.remove_prefix(std::string_view("http://").size());
  if (host_port.ends_with("/")) host_port.remove_suffix(1);
  Result<HostPort> parsed = ParseHostPort(host_port);
  if (!parsed.IsOk()) return Status::InvalidArgument("invalid HTTP address \"" + address + "\"");
  http::HttpClientOptions options;
  options.connect_timeout = kConnectTimeout;
  options.read_timeout = kReadTimeout;
  options.write_timeout = kReadTimeout;
  return ApiClient(address, std::make_unique<Impl>(parsed->host, parsed->port, options));
}

ApiClient::ApiClient(std::string address, std::unique_ptr<Impl> impl)
    : address_(std::move(address)), impl_(std::move(impl)) {}
ApiClient::ApiClient(ApiClient&&) noexcept = default;
ApiClient& ApiClient::operator=(ApiClient&&) noexcept = default;
ApiClient::~ApiClient() = default;

Result<HttpReply> ApiClient::Get(const std::string& path_and_query) {
  return ToReply(impl_->client.Send("GET", path_and_query), address_);
}

Result<HttpReply> ApiClient::Put(const std::string& path_and_query, const std::string& body) {
  return ToReply(impl_->client.Send("PUT", path_and_query, body, "application/octet-stream"), address_);
}

Result<HttpReply> ApiClient::Delete(const std::string& path_and_query) {
  return ToReply(impl_->client.Send("DELETE", path_and_query), address_);
}

Status UnexpectedReply(const HttpReply& reply) {
  std::string body = reply.body.substr(0, kErrorBodyBytesMax);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return Status::Unavailable("Unexpected response code: " + std::to_string(reply.status) + " (" + body + ")");
}

}  // namespace cairn::cli
