// Forwarding a write from a follower server to the leader, over the leader's HTTP API.
//
// The command travels in its replicated encoding (catalog/command.h) to
// PUT /v1/internal/forward, and the leader answers with the encoded CommandResult. The
// leader never forwards again (Backend::ForwardedWrite).
#pragma once

#include <string>

#include "catalog/command.h"
#include "common/status.h"

namespace cairn::agent {

// `leader_http` is "host:port". kUnavailable when the leader cannot be reached (the write did
// not happen), kTimeout when it did not answer in time (the outcome is unknown).
Result<catalog::CommandResult> ForwardWrite(const std::string& leader_http, const catalog::Command& command);

}  // namespace cairn::agent
