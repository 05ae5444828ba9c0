// Consul's JSON shapes for the catalog's records.
#pragma once

#include "catalog/state_store.h"
#include "catalog/types.h"
#include "http/backend.h"
#include "http/http_util.h"

namespace cairn::http {

// /v1/kv: Value is base64, or null for an empty value; Session only when the key is locked.
Json RenderKv(const catalog::KvEntry& entry);
Json RenderNode(const catalog::Node& node);
// A service as /v1/agent/services and /v1/health/service report it.
Json RenderService(const catalog::Service& service);
Json RenderCheck(const catalog::Check& check);
// /v1/catalog/service/<name>: the node's fields and the service's, flattened.
Json RenderServiceInstance(const catalog::ServiceInstance& instance);
Json RenderServiceHealth(const catalog::ServiceHealth& health);
Json RenderSession(const catalog::Session& session);
Json RenderTxnItem(const catalog::TxnResultItem& item);
Json RenderLocalCheck(const LocalCheck& check);

}  // namespace cairn::http
