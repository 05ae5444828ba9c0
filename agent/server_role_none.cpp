// The ServerRole of `cairn-client`, the client-only agent: there is none. The binary is built
// without the server (Raft's log store and RocksDB), so that a client agent maps less code.
#include "agent/server_role.h"

namespace cairn::agent {

Result<std::unique_ptr<ServerRole>> OpenServerRole(Env&, Logger&, server::CatalogServerOptions) {
  return Status::FailedPrecondition(
      "this binary (cairn-client) runs client agents only; run `cairn agent` for -server or -dev");
}

}  // namespace cairn::agent
