#include "agent/forward.h"

#include <httplib.h>

#include "common/env.h"

namespace cairn::agent {

namespace {
constexpr time_t kForwardTimeoutSeconds = 30;
}

Result<catalog::CommandResult> ForwardWrite(const std::string& leader_http, const catalog::Command& command) {
  CAIRN_ASSIGN_OR_RETURN(NetAddress leader, NetAddress::Parse(leader_http));
  httplib::Client client(leader.host, leader.port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(kForwardTimeoutSeconds, 0);
  client.set_write_timeout(kForwardTimeoutSeconds, 0);
  httplib::Result response = client.Put("/v1/internal/forward", EncodeCommand(command), "application/octet-stream");
  if (!response) {
    const httplib::Error error = response.error();
    if (error == httplib::Error::Read) {
      return Status::Timeout("the leader at " + leader_http +
                             " did not answer a forwarded write; its outcome is unknown");
    }
    return Status::Unavailable("cannot reach the leader at " + leader_http + ": " + httplib::to_string(error));
  }
  if (response->status != 200) {
    const StatusCode code = response->status == 500 ? StatusCode::kUnavailable : StatusCode::kInvalidArgument;
    return Status(code, response->body);
  }
  return catalog::DecodeCommandResult(response->body);
}

}  // namespace cairn::agent
