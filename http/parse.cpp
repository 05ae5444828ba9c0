#include "http/parse.h"

namespace cairn::http {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

// Fields of Consul's API that Cairn accepts and does not act on (Enterprise tenancy, Connect,
// bookkeeping a client echoes back).
const std::vector<std::string_view> kIgnoredServiceFields = {
    "Kind",      "Proxy",      "Connect",     "TaggedAddresses", "Namespace",
    "Partition", "SocketPath", "CreateIndex", "ModifyIndex",     "LocallyRegisteredAsSidecar",
    "Locality",  "PeerName",   "ContentHash"};
const std::vector<std::string_view> kIgnoredCheckFields = {"Definition",  "Type",        "Namespace",   "Partition",
                                                           "CreateIndex", "ModifyIndex", "ExposedPort", "PeerName",
                                                           "ServiceTags", "Interval",    "Timeout",     "ServiceName"};
const std::vector<std::string_view> kIgnoredLocalCheckFields = {"Method",
                                                                "Header",
                                                                "Body",
                                                                "TLSSkipVerify",
                                                                "TLSServerName",
                                                                "Namespace",
                                                                "Partition",
                                                                "FailuresBeforeCritical",
                                                                "SuccessBeforePassing",
                                                                "FailuresBeforeWarning",
                                                                "OutputMaxSize",
                                                                "Type",
                                                                "ServiceName"};
const std::vector<std::string_view> kUnsupportedCheckKinds = {"Args", "ScriptArgs", "Shell",     "DockerContainerID",
                                                              "GRPC", "H2PING",     "AliasNode", "AliasService",
                                                              "UDP",  "OSService"};

Result<catalog::Weights> ParseWeights(JsonFields& fields) {
  catalog::Weights weights;
  const Json* raw = fields.Raw("Weights");
  if (!raw) return weights;
  CAIRN_ASSIGN_OR_RETURN(JsonFields w, JsonFields::Of(*raw, "Weights"));
  for (auto [name, target] : {std::pair{"Passing", &weights.passing}, std::pair{"Warning", &weights.warning}}) {
    const Json* value = w.Raw(name);
    if (!value) continue;
    if (!value->is_number_integer() || value->get<int64_t>() < 0 || value->get<int64_t>() > INT32_MAX) {
      return Status::InvalidArgument(std::string("Request decode failed: Weights.") + name +
                                     " must be a non-negative integer");
    }
    *target = static_cast<int32_t>(value->get<int64_t>());
  }
  CAIRN_RETURN_IF_ERROR(w.CheckAllUsed());
  return weights;
}

Status ReadPort(JsonFields& fields, uint16_t& port) {
  CAIRN_ASSIGN_OR_RETURN(std::optional<uint64_t> value, fields.Uint("Port"));
  if (value && *value > 65535) return Status::InvalidArgument("Request decode failed: Port must be at most 65535");
  port = static_cast<uint16_t>(value.value_or(0));
  return OkStatus();
}

// Reads an optional string field into `target`, leaving it as it is when absent.
Status ReadString(JsonFields& fields, std::string_view name, std::string& target) {
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> value, fields.String(name));
  if (value) target = std::move(*value);
  return OkStatus();
}

Status ReadMillis(JsonFields& fields, std::string_view name, milliseconds& target) {
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::chrono::nanoseconds> value, fields.Duration(name));
  if (value) target = duration_cast<milliseconds>(*value);
  return OkStatus();
}

Status ReadCheckStatus(JsonFields& fields, catalog::HealthStatus& target) {
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> status, fields.String("Status"));
  if (!status) return OkStatus();
  CAIRN_ASSIGN_OR_RETURN(target, ParseStatus(*status));
  return OkStatus();
}

}  // namespace

Result<catalog::HealthStatus> ParseStatus(std::string_view name) {
  std::optional<catalog::HealthStatus> status = catalog::ParseHealthStatus(name);
  if (!status) return Status::InvalidArgument("Invalid check status: \"" + std::string(name) + "\"");
  return *status;
}

Result<catalog::Service> ParseService(const Json& value, std::string_view name_field, std::string what,
                                      const std::vector<std::string_view>& also_known) {
  CAIRN_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, std::move(what)));
  catalog::Service service;
  CAIRN_RETURN_IF_ERROR(ReadString(fields, "ID", service.id));
  CAIRN_RETURN_IF_ERROR(ReadString(fields, name_field, service.name));
  CAIRN_RETURN_IF_ERROR(ReadString(fields, "Address", service.address));
  CAIRN_RETURN_IF_ERROR(ReadPort(fields, service.port));
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> tags, fields.Strings("Tags"));
  service.tags = tags.value_or(std::vector<std::string>{});
  CAIRN_ASSIGN_OR_RETURN(std::optional<catalog::StringMap> meta, fields.Map("Meta"));
  service.meta = meta.value_or(catalog::StringMap{});
  CAIRN_ASSIGN_OR_RETURN(service.weights, ParseWeights(fields));
  CAIRN_ASSIGN_OR_RETURN(std::optional<bool> override_tags, fields.Bool("EnableTagOverride"));
  service.enable_tag_override = override_tags.value_or(false);
  std::vector<std::string_view> known = kIgnoredServiceFields;
  known.insert(known.end(), also_known.begin(), also_known.end());
  CAIRN_RETURN_IF_ERROR(fields.CheckAllUsed(known));
  if (service.id.empty()) service.id = service.name;
  return service;
}

Result<catalog::Check> ParseCatalogCheck(const Json& value, std::string what) {
  CAIRN_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, std::move(what)));
  catalog::Check check;
  CAIRN_RETURN_IF_ERROR(ReadString(fields, "Node", check.node));
  CAIRN_RETURN_IF_ERROR(ReadString(fields, "CheckID", check.check_id));
  if (check.check_id.empty()) CAIRN_RETURN_IF_ERROR(ReadString(fields, "ID", check.check_id));
  CAIRN_RETURN_IF_ERROR(ReadString(fields, "Name", check.name));
  CAIRN_RETURN_IF_ERROR(ReadString(fields, "Notes", check.notes));
  CAIRN_RETURN_IF_ERROR(ReadString(fields, "Output", check.output));
  CAIRN_RETURN_IF_ERROR(ReadString(fields, "ServiceID", check.service_id));
  CAIRN_RETURN_IF_ERROR(ReadCheckStatus(fields, check.status));
  if (check.check_id.empty()) check.check_id = check.name;
  CAIRN_RETURN_IF_ERROR(fields.CheckAllUsed(kIgnoredCheckFields));
  return check;
}

Result<LocalCheck> ParseLocalCheck(const Json& value, std::string what) {
  CAIRN_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, what));
  for (std::string_view kind : kUnsupportedCheckKinds) {
    if (fields.Has(kind)) return Status::InvalidArgument(what + ": " + std::string(kind) + " checks are not supported");
  }
  LocalCheck local;
  catalog::Check& check = local.check;
  CAIRN_RETURN_IF_ERROR(ReadString(fields, "ID", check.check_id));
  if (check.check_id.empty()) CAIRN_RETURN_IF_ERROR(ReadString(fields, "CheckID", check.check_id));
  CAIRN_RETURN_IF_ERROR(ReadString(fields, "Name", check.name));
  CAIRN_RETURN_IF_ERROR(ReadString(fields, "Notes", check.notes));
  CAIRN_RETURN_IF_ERROR(ReadString(fields, "ServiceID", check.service_id));
  CAIRN_RETURN_IF_ERROR(ReadCheckStatus(fields, check.status));
  CAIRN_RETURN_IF_ERROR(ReadString(fields, "HTTP", local.http));
  CAIRN_RETURN_IF_ERROR(ReadString(fields, "TCP", local.tcp));
  CAIRN_RETURN_IF_ERROR(ReadMillis(fields, "TTL", local.ttl));
  CAIRN_RETURN_IF_ERROR(ReadMillis(fields, "Interval", local.interval));
  CAIRN_RETURN_IF_ERROR(ReadMillis(fields, "Timeout", local.timeout));
  CAIRN_RETURN_IF_ERROR(ReadMillis(fields, "DeregisterCriticalServiceAfter", local.deregister_critical_service_after));
  CAIRN_RETURN_IF_ERROR(fields.CheckAllUsed(kIgnoredLocalCheckFields));
  const bool probe = !local.http.empty() || !local.tcp.empty();
  if (local.ttl.count() == 0 && !(probe && local.interval.count() > 0)) {
    return Status::InvalidArgument(what + ": must provide TTL or HTTP/TCP and Interval");
  }
  if (local.ttl.count() > 0 && probe)
    return Status::InvalidArgument(what + ": TTL checks cannot also have HTTP or TCP");
  return local;
}

Result<catalog::Node> ParseNode(const Json& value, std::string what) {
  CAIRN_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, std::move(what)));
  catalog::Node node;
  CAIRN_RETURN_IF_ERROR(ReadString(fields, "Node", node.name));
  CAIRN_RETURN_IF_ERROR(ReadString(fields, "ID", node.id));
  CAIRN_RETURN_IF_ERROR(ReadString(fields, "Address", node.address));
  CAIRN_RETURN_IF_ERROR(ReadString(fields, "Datacenter", node.datacenter));
  CAIRN_ASSIGN_OR_RETURN(std::optional<catalog::StringMap> tagged, fields.Map("TaggedAddresses"));
  node.tagged_addresses = tagged.value_or(catalog::StringMap{});
  CAIRN_ASSIGN_OR_RETURN(std::optional<catalog::StringMap> meta, fields.Map("Meta"));
  node.meta = meta.value_or(catalog::StringMap{});
  CAIRN_RETURN_IF_ERROR(fields.CheckAllUsed({"CreateIndex", "ModifyIndex", "Partition", "PeerName"}));
  return node;
}

}  // namespace cairn::http
