// Request bodies into catalog records: Consul's node, service and check definitions as
// /v1/catalog/register, /v1/agent/service/register, /v1/agent/check/register and /v1/txn
// send them. Each parser checks types and unknown fields; the store checks the rules.
#pragma once

#include <string>

#include "catalog/types.h"
#include "http/backend.h"
#include "http/json_fields.h"

namespace cairn::http {

// A service object; `name_field` is "Service" in the catalog API and "Name" in the agent's.
// `also_known` are fields the caller reads itself from the same object (the agent's "Check").
Result<catalog::Service> ParseService(const Json& value, std::string_view name_field, std::string what,
                                      const std::vector<std::string_view>& also_known = {});
// A check as the catalog stores it (catalog register and txn Check ops).
Result<catalog::Check> ParseCatalogCheck(const Json& value, std::string what);
// A check definition the agent runs (TTL, HTTP or TCP). A check with neither a TTL nor an
// HTTP/TCP target with an interval is rejected, as Consul does. An absent ID stays empty: the
// caller picks Consul's default ("service:<id>" for a service's check, the name otherwise).
Result<LocalCheck> ParseLocalCheck(const Json& value, std::string what);
// A node object (txn Node ops): Node, ID, Address, Datacenter, TaggedAddresses, Meta.
Result<catalog::Node> ParseNode(const Json& value, std::string what);
// Go-style health names: passing, warning, critical.
Result<catalog::HealthStatus> ParseStatus(std::string_view name);

}  // namespace cairn::http
