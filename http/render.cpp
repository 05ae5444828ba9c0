#include "http/render.h"

namespace cairn::http {
namespace {

Json Strings(const std::vector<std::string>& items) {
  Json out = Json::array();
  for (const std::string& item : items) out.push_back(item);
  return out;
}

Json Map(const catalog::StringMap& map) {
  Json out = Json::object();
  for (const auto& [key, value] : map) out[key] = value;
  return out;
}

Json Weights(const catalog::Weights& weights) { return {{"Passing", weights.passing}, {"Warning", weights.warning}}; }

}  // namespace

Json RenderKv(const catalog::KvEntry& entry) {
  Json out = {{"LockIndex", entry.lock_index},
              {"Key", entry.key},
              {"Flags", entry.flags},
              {"Value", entry.value.empty() ? Json(nullptr) : Json(Base64Encode(entry.value))},
              {"CreateIndex", entry.create_index.value},
              {"ModifyIndex", entry.modify_index.value}};
  if (!entry.session.empty()) out["Session"] = entry.session;
  return out;
}

Json RenderNode(const catalog::Node& node) {
  return {{"ID", node.id},
          {"Node", node.name},
          {"Address", node.address},
          {"Datacenter", node.datacenter},
          {"TaggedAddresses", Map(node.tagged_addresses)},
          {"Meta", Map(node.meta)},
          {"CreateIndex", node.create_index.value},
          {"ModifyIndex", node.modify_index.value}};
}

Json RenderService(const catalog::Service& service) {
  return {{"ID", service.id},
          {"Service", service.name},
          {"Tags", Strings(service.tags)},
          {"Address", service.address},
          {"Meta", Map(service.meta)},
          {"Port", service.port},
          {"Weights", Weights(service.weights)},
          {"EnableTagOverride", service.enable_tag_override},
          {"CreateIndex", service.create_index.value},
          {"ModifyIndex", service.modify_index.value}};
}

Json RenderCheck(const catalog::Check& check) {
  return {{"Node", check.node},
          {"CheckID", check.check_id},
          {"Name", check.name},
          {"Status", std::string(catalog::HealthStatusName(check.status))},
          {"Notes", check.notes},
          {"Output", check.output},
          {"ServiceID", check.service_id},
          {"ServiceName", check.service_name},
          {"CreateIndex", check.create_index.value},
          {"ModifyIndex", check.modify_index.value}};
}

Json RenderServiceInstance(const catalog::ServiceInstance& instance) {
  const catalog::Node& node = instance.node;
  const catalog::Service& service = instance.service;
  return {{"ID", node.id},
          {"Node", node.name},
          {"Address", node.address},
          {"Datacenter", node.datacenter},
          {"TaggedAddresses", Map(node.tagged_addresses)},
          {"NodeMeta", Map(node.meta)},
          {"ServiceID", service.id},
          {"ServiceName", service.name},
          {"ServiceTags", Strings(service.tags)},
          {"ServiceAddress", service.address},
          {"ServicePort", service.port},
          {"ServiceMeta", Map(service.meta)},
          {"ServiceWeights", Weights(service.weights)},
          {"ServiceEnableTagOverride", service.enable_tag_override},
          {"CreateIndex", service.create_index.value},
          {"ModifyIndex", service.modify_index.value}};
}

Json RenderServiceHealth(const catalog::ServiceHealth& health) {
  Json checks = Json::array();
  for (const catalog::Check& check : health.checks) checks.push_back(RenderCheck(check));
  return {{"Node", RenderNode(health.node)}, {"Service", RenderService(health.service)}, {"Checks", checks}};
}

Json RenderSession(const catalog::Session& session) {
  const auto ttl = std::chrono::milliseconds(session.ttl_millis);
  return {{"ID", session.id},
          {"Name", session.name},
          {"Node", session.node},
          {"Checks", Strings(session.checks)},
          {"NodeChecks", Strings(session.checks)},
          {"LockDelay", session.lock_delay_millis * 1'000'000},  // nanoseconds, as Consul
          {"Behavior", session.behavior == catalog::SessionBehavior::kDelete ? "delete" : "release"},
          {"TTL", session.ttl_millis == 0 ? std::string() : FormatDuration(ttl)},
          {"CreateIndex", session.create_index.value},
          {"ModifyIndex", session.modify_index.value}};
}

Json RenderTxnItem(const catalog::TxnResultItem& item) {
  if (const auto* kv = std::get_if<catalog::KvEntry>(&item)) return {{"KV", RenderKv(*kv)}};
  if (const auto* node = std::get_if<catalog::Node>(&item)) return {{"Node", RenderNode(*node)}};
  if (const auto* service = std::get_if<catalog::Service>(&item)) return {{"Service", RenderService(*service)}};
  return {{"Check", RenderCheck(std::get<catalog::Check>(item))}};
}

Json RenderLocalCheck(const LocalCheck& local) {
  Json out = RenderCheck(local.check);
  const auto text = [](std::chrono::milliseconds d) { return d.count() == 0 ? std::string() : FormatDuration(d); };
  out["Type"] = local.ttl.count() > 0 ? "ttl" : !local.http.empty() ? "http" : !local.tcp.empty() ? "tcp" : "";
  out["Definition"] = {{"HTTP", local.http},
                       {"TCP", local.tcp},
                       {"TTL", text(local.ttl)},
                       {"Interval", text(local.interval)},
                       {"Timeout", text(local.timeout)},
                       {"DeregisterCriticalServiceAfter", text(local.deregister_critical_service_after)}};
  return out;
}

}  // namespace cairn::http
