#include "common/sealed_record.h"

#include "common/codec.h"
#include "common/crc32c.h"

namespace cairn {

std::string SealRecord(std::string_view key, std::string body) {
  Encoder crc;
  crc.PutFixed32(Crc32cExtend(Crc32c(key), body));
  body.append(crc.View());
  return body;
}

Result<std::string_view> UnsealRecord(std::string_view key, std::string_view value, std::string_view what) {
  if (value.size() < 4) return Status::Corruption(std::string(what) + " is shorter than its checksum");
  const std::string_view body = value.substr(0, value.size() - 4);
  Decoder crc_reader(value.substr(value.size() - 4));
  if (crc_reader.ReadFixed32() != Crc32cExtend(Crc32c(key), body)) {
    return Status::Corruption(std::string(what) + " failed its checksum");
  }
  return body;
}

}  // namespace cairn
