// Request bodies read the way Consul decodes them: object keys match case-insensitively and
// snake_case aliases match their CamelCase names ("service_id" is "ServiceID",
// "lock_delay" is "LockDelay"); a JSON null is the same as an absent key; a wrong type or an
// unknown key is a 400 that names the field.
#pragma once

#include <chrono>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "http/http_util.h"

namespace cairn::http {

// Parses a request body; kInvalidArgument "Request decode failed: ..." when it is not JSON.
Result<Json> ParseJsonBody(std::string_view body);

class JsonFields {
 public:
  // kInvalidArgument unless `value` is an object without two keys that mean the same field.
  // `value` must outlive the JsonFields.
  static Result<JsonFields> Of(const Json& value, std::string what);

  bool Has(std::string_view name) const;
  // The raw value (nullptr when absent or null); marks the key as used.
  const Json* Raw(std::string_view name);
  Result<std::optional<std::string>> String(std::string_view name);
  Result<std::optional<bool>> Bool(std::string_view name);
  Result<std::optional<uint64_t>> Uint(std::string_view name);
  Result<std::optional<std::vector<std::string>>> Strings(std::string_view name);
  Result<std::optional<catalog::StringMap>> Map(std::string_view name);
  // A Go duration string ("15s"), or a number counted in `number_unit` (Consul takes plain
  // numbers as nanoseconds in most places and as seconds for small lock delays).
  Result<std::optional<std::chrono::nanoseconds>> Duration(
      std::string_view name, std::chrono::nanoseconds number_unit = std::chrono::nanoseconds(1));
  // kInvalidArgument naming the first key that was neither read nor in `ignored` (fields of
  // Consul's API that Cairn accepts and does not act on).
  Status CheckAllUsed(const std::vector<std::string_view>& ignored = {}) const;

 private:
  struct Field {
    std::string original;
    const Json* value;
  };
  Status WrongType(std::string_view name, std::string_view expected) const;
  const Field* Find(std::string_view name) const;

  std::string what_;
  std::map<std::string, Field> fields_;  // by normalized key
  std::set<std::string> used_;
};

}  // namespace cairn::http
