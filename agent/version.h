// The version the agent reports (/v1/agent/self, gossip metadata, `cairn version`).
#pragma once

namespace cairn::agent {

inline constexpr const char* kVersion = "0.1.0";

}  // namespace cairn::agent
