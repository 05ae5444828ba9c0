#include "common/env.h"

#include <charconv>

namespace cairn {
namespace {

bool ParseDecimal(std::string_view text, uint32_t max, uint32_t& out) {
  if (text.empty() || text.size() > 5) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && out <= max;
}

bool IsDottedQuad(std::string_view host) {
  int parts = 0;
  while (true) {
    const size_t dot = host.find('.');
    const std::string_view part = host.substr(0, dot);
    uint32_t value = 0;
    if (part.size() > 3 || !ParseDecimal(part, 255, value)) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    host.remove_prefix(dot + 1);
  }
  return parts == 4;
}

}  // namespace

Result<NetAddress> NetAddress::Parse(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return Status::InvalidArgument("address '" + std::string(text) + "' has no ':port'");
  }
  const std::string_view host = text.substr(0, colon);
  if (!IsDottedQuad(host)) {
    return Status::InvalidArgument("address '" + std::string(text) + "' needs an IPv4 host like 127.0.0.1");
  }
  uint32_t port = 0;
  if (!ParseDecimal(text.substr(colon + 1), 65535, port)) {
    return Status::InvalidArgument("address '" + std::string(text) + "' has a port outside 0..65535");
  }
  return NetAddress{std::string(host), static_cast<uint16_t>(port)};
}

std::string NetAddress::ToString() const { return host + ":" + std::to_string(port); }

std::string JoinPath(std::string_view directory, std::string_view name) {
  std::string out(directory);
  if (!out.empty() && out.back() != '/') out += '/';
  out += name;
  return out;
}

std::string ParentDir(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

Status WriteFileAtomically(Env& env, const std::string& path, std::string_view contents) {
  const std::string temporary = path + ".tmp";
  CAIRN_ASSIGN_OR_RETURN(auto file, env.NewWritableFile(temporary));
  CAIRN_RETURN_IF_ERROR(file->Append(contents));
  CAIRN_RETURN_IF_ERROR(file->Sync());
  CAIRN_RETURN_IF_ERROR(file->Close());
  CAIRN_RETURN_IF_ERROR(env.RenameFile(temporary, path));
  return env.SyncDir(ParentDir(path));
}

}  // namespace cairn
