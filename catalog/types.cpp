#include "catalog/types.h"

namespace cairn::catalog {

bool Node::SameAs(const Node& o) const {
  return name == o.name && id == o.id && address == o.address && datacenter == o.datacenter &&
         tagged_addresses == o.tagged_addresses && meta == o.meta;
}

bool Service::SameAs(const Service& o) const {
  return node == o.node && id == o.id && name == o.name && tags == o.tags && address == o.address && port == o.port &&
         meta == o.meta && weights == o.weights && enable_tag_override == o.enable_tag_override;
}

bool Check::SameAs(const Check& o) const {
  return node == o.node && check_id == o.check_id && name == o.name && status == o.status && notes == o.notes &&
         output == o.output && service_id == o.service_id && service_name == o.service_name;
}

std::string_view HealthStatusName(HealthStatus status) {
  switch (status) {
    case HealthStatus::kPassing: return "passing";
    case HealthStatus::kWarning: return "warning";
    case HealthStatus::kCritical: return "critical";
  }
  CAIRN_UNREACHABLE("unknown HealthStatus");
}

std::optional<HealthStatus> ParseHealthStatus(std::string_view name) {
  if (name == "passing") return HealthStatus::kPassing;
  if (name == "warning") return HealthStatus::kWarning;
  if (name == "critical") return HealthStatus::kCritical;
  return std::nullopt;
}

std::string_view OutcomeCodeName(OutcomeCode code) {
  switch (code) {
    case OutcomeCode::kOk: return "ok";
    case OutcomeCode::kRejected: return "rejected";
    case OutcomeCode::kInvalidSession: return "invalid session";
    case OutcomeCode::kLockDelay: return "lock delay";
    case OutcomeCode::kNotFound: return "not found";
    case OutcomeCode::kInvalidArgument: return "invalid argument";
  }
  CAIRN_UNREACHABLE("unknown OutcomeCode");
}

}  // namespace cairn::catalog
