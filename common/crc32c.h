// CRC-32C (Castagnoli polynomial 0x1EDC6F41, reflected 0x82F63B78), the checksum on every
// record Cairn writes to disk or sends between peers. Uses the SSE4.2 crc32 instruction when
// the CPU has it and a table-driven loop otherwise; both give identical results.
// Test vectors: RFC 3720 (iSCSI), appendix B.4.
#pragma once

#include <cstdint>
#include <string_view>

namespace cairn {

// Extends `crc` (the value returned for the bytes before `data`) over `data`.
uint32_t Crc32cExtend(uint32_t crc, std::string_view data);
inline uint32_t Crc32c(std::string_view data) { return Crc32cExtend(0, data); }

// Forces the portable table path (for testing that both paths agree).
uint32_t Crc32cExtendPortable(uint32_t crc, std::string_view data);

}  // namespace cairn
