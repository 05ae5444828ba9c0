#include "catalog/catalog_limits.h"
#include "catalog/ops.h"

namespace cairn::catalog::ops {
namespace {

Outcome Invalid(std::string message) { return Outcome::Fail(OutcomeCode::kInvalidArgument, std::move(message)); }
Outcome NotFound(std::string message) { return Outcome::Fail(OutcomeCode::kNotFound, std::move(message)); }

Outcome ValidateName(std::string_view what, std::string_view name) {
  if (name.empty()) return Invalid(std::string(what) + " is missing");
  if (name.size() > limits::kNameBytesMax) {
    return Invalid(std::string(what) + " is longer than kNameBytesMax (" + std::to_string(limits::kNameBytesMax) + ")");
  }
  return Outcome::Success();
}

Outcome ValidateMap(std::string_view what, const StringMap& map) {
  if (map.size() > limits::kMetaPairsMax) return Invalid(std::string(what) + " has more than kMetaPairsMax pairs");
  for (const auto& [key, value] : map) {
    if (key.empty() || key.size() > limits::kNameBytesMax || value.size() > limits::kMetaValueBytesMax) {
      return Invalid(std::string(what) + " key '" + key + "' is empty or it or its value is too long");
    }
  }
  return Outcome::Success();
}

// Sessions that depend on a check die with it, or when it goes critical.
void InvalidateSessionsOfCheck(Mutation& m, const NodeScoped& check) {
  auto it = m.View().sessions_by_check.find(check);
  if (it == m.View().sessions_by_check.end()) return;
  const std::set<std::string> ids = it->second;
  for (const std::string& id : ids) {
    const Outcome gone = SessionInvalidate(m, id);
    CAIRN_ASSERT(gone.Ok(), "session index names a missing session: " + gone.message);
  }
}

std::vector<NodeScoped> KeysOnNode(const auto& map, const std::string& node) {
  std::vector<NodeScoped> keys;
  for (auto it = map.lower_bound(NodeScoped(node, "")); it != map.end() && it->first.first == node; ++it) {
    keys.push_back(it->first);
  }
  return keys;
}

}  // namespace

Outcome NodeSet(Mutation& m, Node node) {
  if (Outcome o = ValidateName("node name", node.name); !o.Ok()) return o;
  if (Outcome o = ValidateMap("node meta", node.meta); !o.Ok()) return o;
  if (Outcome o = ValidateMap("tagged addresses", node.tagged_addresses); !o.Ok()) return o;
  auto existing = m.View().nodes.find(node.name);
  if (existing != m.View().nodes.end()) {
    // An identical re-registration must not move indexes, or every anti-entropy pass would
    // wake every blocking query.
    if (existing->second.SameAs(node)) return Outcome::Success();
    node.create_index = existing->second.create_index;
  } else {
    node.create_index = m.Index();
  }
  node.modify_index = m.Index();
  m.PutNode(std::move(node));
  return Outcome::Success();
}

Outcome ServiceSet(Mutation& m, Service service) {
  if (service.id.empty()) service.id = service.name;  // Consul's default
  if (Outcome o = ValidateName("service name", service.name); !o.Ok()) return o;
  if (Outcome o = ValidateName("service id", service.id); !o.Ok()) return o;
  if (Outcome o = ValidateMap("service meta", service.meta); !o.Ok()) return o;
  if (service.tags.size() > limits::kTagsMax) return Invalid("service has more than kTagsMax tags");
  if (service.weights.passing < 0 || service.weights.warning < 0)
    return Invalid("service weights must not be negative");
  if (!m.View().nodes.contains(service.node)) return NotFound("missing node registration " + service.node);
  const NodeScoped key(service.node, service.id);
  const std::string node_name = service.node;
  const std::string service_id = service.id;
  auto existing = m.View().services.find(key);
  if (existing != m.View().services.end()) {
    if (existing->second.SameAs(service)) return Outcome::Success();
    service.create_index = existing->second.create_index;
  } else {
    service.create_index = m.Index();
  }
  service.modify_index = m.Index();
  const bool renamed = existing != m.View().services.end() && existing->second.name != service.name;
  const std::string name = service.name;
  m.PutService(std::move(service));
  // Checks carry their service's name for health queries; a renamed service takes them along.
  if (renamed) {
    for (const NodeScoped& key : KeysOnNode(m.View().checks, node_name)) {
      Check check = m.View().checks.at(key);
      if (check.service_id != service_id) continue;
      check.service_name = name;
      check.modify_index = m.Index();
      m.PutCheck(std::move(check));
    }
  }
  return Outcome::Success();
}

Outcome CheckSet(Mutation& m, Check check) {
  if (Outcome o = ValidateName("check id", check.check_id); !o.Ok()) return o;
  if (check.name.empty()) check.name = check.check_id;
  if (check.notes.size() > limits::kCheckTextBytesMax || check.output.size() > limits::kCheckTextBytesMax) {
    return Invalid("check notes or output exceed kCheckTextBytesMax");
  }
  if (!m.View().nodes.contains(check.node)) return NotFound("missing node registration " + check.node);
  check.service_name.clear();
  if (!check.service_id.empty()) {
    auto service = m.View().services.find(NodeScoped(check.node, check.service_id));
    if (service == m.View().services.end()) return NotFound("missing service " + check.service_id + " for check");
    check.service_name = service->second.name;
  }
  const NodeScoped key(check.node, check.check_id);
  auto existing = m.View().checks.find(key);
  if (existing != m.View().checks.end()) {
    if (existing->second.SameAs(check)) return Outcome::Success();
    check.create_index = existing->second.create_index;
  } else {
    check.create_index = m.Index();
  }
  check.modify_index = m.Index();
  const bool critical = check.status == HealthStatus::kCritical;
  m.PutCheck(std::move(check));
  if (critical) InvalidateSessionsOfCheck(m, key);
  return Outcome::Success();
}

Outcome CheckDelete(Mutation& m, const std::string& node, const std::string& check_id) {
  const NodeScoped key(node, check_id);
  if (!m.View().checks.contains(key)) return Outcome::Success();
  InvalidateSessionsOfCheck(m, key);
  m.EraseCheck(key);
  return Outcome::Success();
}

Outcome ServiceDelete(Mutation& m, const std::string& node, const std::string& service_id) {
  const NodeScoped key(node, service_id);
  if (!m.View().services.contains(key)) return Outcome::Success();
  for (const NodeScoped& check : KeysOnNode(m.View().checks, node)) {
    if (m.View().checks.at(check).service_id == service_id) {
      const Outcome gone = CheckDelete(m, check.first, check.second);
      CAIRN_ASSERT(gone.Ok(), gone.message);
    }
  }
  m.EraseService(key);
  return Outcome::Success();
}

Outcome NodeDelete(Mutation& m, const std::string& node) {
  if (!m.View().nodes.contains(node)) return Outcome::Success();
  if (auto it = m.View().sessions_by_node.find(node); it != m.View().sessions_by_node.end()) {
    const std::set<std::string> ids = it->second;
    for (const std::string& id : ids) {
      const Outcome gone = SessionInvalidate(m, id);
      CAIRN_ASSERT(gone.Ok(), gone.message);
    }
  }
  for (const NodeScoped& check : KeysOnNode(m.View().checks, node)) m.EraseCheck(check);
  for (const NodeScoped& service : KeysOnNode(m.View().services, node)) m.EraseService(service);
  m.EraseNode(node);
  return Outcome::Success();
}

}  // namespace cairn::catalog::ops
