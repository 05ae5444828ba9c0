// PUT /v1/internal/forward: a write a follower server forwarded to this one (agent/forward.h).
// The body is the command in its replicated encoding; the answer is the encoded result.
#include "catalog/command.h"
#include "http/routes.h"

namespace cairn::http {
namespace {

void Forward(ApiContext& ctx, const httplib::Request& req, httplib::Response& res) {
  // A command that does not decode strictly is refused before it can reach the log.
  Result<catalog::Command> command = catalog::DecodeCommand(req.body);
  if (!command.IsOk()) return ReplyText(res, 400, "Invalid forwarded command: " + command.GetStatus().Message());
  Result<catalog::CommandResult> result = ctx.backend.ForwardedWrite(std::move(command).Value());
  if (Failed(res, result)) return;
  res.status = 200;
  res.set_content(catalog::EncodeCommandResult(*result), "application/octet-stream");
}

}  // namespace

void AddInternalRoutes(std::vector<Route>& routes) { routes.push_back({"PUT", "/v1/internal/forward", Forward}); }

}  // namespace cairn::http
