#include "agent/cli/api_client.h"

#include <httplib.h>

#include <cctype>
#include <cstdlib>

namespace cairn::cli {
namespace {

constexpr char kDefaultHttpAddress[] = "127.0.0.1:8500";
// Blocking queries (the lock verb waits up to 15 s per query) must not time out on the client.
constexpr time_t kReadTimeoutSeconds = 65;
constexpr time_t kConnectTimeoutSeconds = 5;
constexpr size_t kErrorBodyBytesMax = 512;

bool IsUnreserved(unsigned char c) { return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

Result<HttpReply> ToReply(const httplib::Result& result, const std::string& address) {
  if (!result) {
    return Status::Unavailable("error connecting to the agent at " + address + ": " +
                               httplib::to_string(result.error()));
  }
  HttpReply reply;
  reply.status = result->status;
  reply.body = result->body;
  std::string index = result->get_header_value("X-Consul-Index");
  if (!index.empty()) reply.consul_index = std::strtoull(index.c_str(), nullptr, 10);
  return reply;
}

}  // namespace

struct ApiClient::Impl {
  explicit Impl(const std::string& scheme_host_port) : client(scheme_host_port) {}
  httplib::Client client;
};

std::string PercentEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

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
  std::string scheme_host_port = address;
  if (address.find("://") == std::string::npos) scheme_host_port = "http://" + address;
  if (scheme_host_port.rfind("http://", 0) != 0 && scheme_host_port.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("unsupported scheme in HTTP address \"" + address + "\" (use http:// or https://)");
  }
  auto impl = std::make_unique<Impl>(scheme_host_port);
  if (!impl->client.is_valid()) return Status::InvalidArgument("invalid HTTP address \"" + address + "\"");
  impl->client.set_url_encode(false);  // paths arrive percent-encoded already
  impl->client.set_connection_timeout(kConnectTimeoutSeconds, 0);
  impl->client.set_read_timeout(kReadTimeoutSeconds, 0);
  impl->client.set_write_timeout(kReadTimeoutSeconds, 0);
  return ApiClient(address, std::move(impl));
}

ApiClient::ApiClient(std::string address, std::unique_ptr<Impl> impl)
    : address_(std::move(address)), impl_(std::move(impl)) {}
ApiClient::ApiClient(ApiClient&&) noexcept = default;
ApiClient& ApiClient::operator=(ApiClient&&) noexcept = default;
ApiClient::~ApiClient() = default;

Result<HttpReply> ApiClient::Get(const std::string& path_and_query) {
  return ToReply(impl_->client.Get(path_and_query), address_);
}

Result<HttpReply> ApiClient::Put(const std::string& path_and_query, const std::string& body) {
  return ToReply(impl_->client.Put(path_and_query, body, "application/octet-stream"), address_);
}

Result<HttpReply> ApiClient::Delete(const std::string& path_and_query) {
  return ToReply(impl_->client.Delete(path_and_query), address_);
}

Status UnexpectedReply(const HttpReply& reply) {
  std::string body = reply.body.substr(0, kErrorBodyBytesMax);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return Status::Unavailable("Unexpected response code: " + std::to_string(reply.status) + " (" + body + ")");
}

}  // namespace cairn::cli
