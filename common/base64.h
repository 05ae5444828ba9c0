// Base64 with the standard alphabet and padding (RFC 4648 section 4), as Consul's JSON carries
// KV values.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace cairn {

std::string Base64Encode(std::string_view bytes);
// kInvalidArgument names the first byte that is not base64 ("illegal base64 data at input
// byte N", Go's wording, which Consul's clients see).
Result<std::string> Base64Decode(std::string_view text);

}  // namespace cairn
