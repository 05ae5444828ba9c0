#include "server/consensus.h"

#include "common/codec.h"

namespace cairn::consensus {

std::string EncodeMembershipChange(const MembershipChange& change) {
  Encoder enc;
  enc.PutU8(static_cast<uint8_t>(change.type));
  enc.PutVarint64(change.replica);
  return enc.Take();
}

Result<MembershipChange> DecodeMembershipChange(std::string_view bytes) {
  Decoder dec(bytes, "membership change");
  MembershipChange change;
  const uint8_t type = dec.ReadU8();
  if (type > static_cast<uint8_t>(MembershipChange::Type::kRemove)) dec.Fail("unknown change type");
  change.type = static_cast<MembershipChange::Type>(type);
  change.replica = dec.ReadVarint64();
  CAIRN_RETURN_IF_ERROR(dec.Finish());
  return change;
}

}  // namespace cairn::consensus
