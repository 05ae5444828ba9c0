#include "http/json_fields.h"

#include <cctype>

namespace cairn::http {
namespace {

// "ServiceID", "service_id" and "serviceid" are one field.
std::string Normalize(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '_' || c == '-') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

Result<Json> ParseJsonBody(std::string_view body) {
  try {
    return Json::parse(body);
  } catch (const Json::exception& error) {
    return Status::InvalidArgument(std::string("Request decode failed: ") + error.what());
  }
}

Result<JsonFields> JsonFields::Of(const Json& value, std::string what) {
  if (!value.is_object()) return Status::InvalidArgument("Request decode failed: " + what + " must be a JSON object");
  JsonFields fields;
  fields.what_ = std::move(what);
  for (auto it = value.begin(); it != value.end(); ++it) {
    const std::string key = Normalize(it.key());
    if (fields.fields_.contains(key)) {
      return Status::InvalidArgument("Request decode failed: " + fields.what_ + " has both \"" +
                                     fields.fields_[key].original + "\" and \"" + it.key() + "\"");
    }
    fields.fields_[key] = Field{it.key(), &it.value()};
  }
  return fields;
}

const JsonFields::Field* JsonFields::Find(std::string_view name) const {
  auto it = fields_.find(Normalize(name));
  return it == fields_.end() ? nullptr : &it->second;
}

bool JsonFields::Has(std::string_view name) const {
  const Field* field = Find(name);
  return field && !field->value->is_null();
}

const Json* JsonFields::Raw(std::string_view name) {
  const Field* field = Find(name);
  if (!field) return nullptr;
  used_.insert(Normalize(name));
  return field->value->is_null() ? nullptr : field->value;
}

Status JsonFields::WrongType(std::string_view name, std::string_view expected) const {
  return Status::InvalidArgument("Request decode failed: " + what_ + " field \"" + std::string(name) + "\" must be " +
                                 std::string(expected));
}

Result<std::optional<std::string>> JsonFields::String(std::string_view name) {
  const Json* value = Raw(name);
  if (!value) return std::optional<std::string>();
  if (!value->is_string()) return WrongType(name, "a string");
  return std::optional<std::string>(value->get<std::string>());
}

Result<std::optional<bool>> JsonFields::Bool(std::string_view name) {
  const Json* value = Raw(name);
  if (!value) return std::optional<bool>();
  if (!value->is_boolean()) return WrongType(name, "a boolean");
  return std::optional<bool>(value->get<bool>());
}

Result<std::optional<uint64_t>> JsonFields::Uint(std::string_view name) {
  const Json* value = Raw(name);
  if (!value) return std::optional<uint64_t>();
  if (!value->is_number_unsigned()) return WrongType(name, "a non-negative integer");
  return std::optional<uint64_t>(value->get<uint64_t>());
}

Result<std::optional<std::vector<std::string>>> JsonFields::Strings(std::string_view name) {
  const Json* value = Raw(name);
  if (!value) return std::optional<std::vector<std::string>>();
  if (!value->is_array()) return WrongType(name, "an array of strings");
  std::vector<std::string> out;
  for (const Json& item : *value) {
    if (!item.is_string()) return WrongType(name, "an array of strings");
    out.push_back(item.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::optional<catalog::StringMap>> JsonFields::Map(std::string_view name) {
  const Json* value = Raw(name);
  if (!value) return std::optional<catalog::StringMap>();
  if (!value->is_object()) return WrongType(name, "an object of strings");
  catalog::StringMap out;
  for (auto it = value->begin(); it != value->end(); ++it) {
    if (!it.value().is_string()) return WrongType(name, "an object of strings");
    out[it.key()] = it.value().get<std::string>();
  }
  return std::optional<catalog::StringMap>(std::move(out));
}

Result<std::optional<std::chrono::nanoseconds>> JsonFields::Duration(std::string_view name,
                                                                     std::chrono::nanoseconds number_unit) {
  using Out = std::optional<std::chrono::nanoseconds>;
  const Json* value = Raw(name);
  if (!value) return Out();
  if (value->is_number_unsigned()) return Out(value->get<uint64_t>() * number_unit);
  if (!value->is_string()) return WrongType(name, "a duration such as \"15s\"");
  const std::string text = value->get<std::string>();
  if (text.empty()) return Out();
  Result<std::chrono::nanoseconds> parsed = ParseDuration(text);
  if (!parsed.IsOk()) return WrongType(name, "a duration such as \"15s\", not \"" + text + "\"");
  return Out(*parsed);
}

Status JsonFields::CheckAllUsed(const std::vector<std::string_view>& ignored) const {
  for (const auto& [key, field] : fields_) {
    if (used_.contains(key)) continue;
    bool known = false;
    for (std::string_view name : ignored) known = known || Normalize(name) == key;
    if (!known) {
      return Status::InvalidArgument("Request decode failed: " + what_ + " has unknown field \"" + field.original +
                                     "\"");
    }
  }
  return OkStatus();
}

}  // namespace cairn::http
