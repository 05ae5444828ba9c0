// Relaying a request from a client agent to one of its servers.
//
// A client agent keeps no copy of the catalog. Like a Consul client, which sends every catalog,
// KV, health, session and status call to a server over RPC, it passes such requests on to a
// server's HTTP API unchanged and returns the server's answer (status, body and the
// X-Consul-* headers) unchanged. Blocking queries keep their ?index and ?wait, so the server
// does the waiting; the relay only holds the connection.
//
// Retries: a request that never reached a server (connection refused or timed out) is tried on
// the next server, up to kRelayAttemptsMax servers. A request that was sent but got no answer
// is retried only if it is a read (GET or HEAD), since a write may have been applied.
#pragma once

#include <chrono>
#include <string>

#include "http/backend.h"
#include "http/http_client.h"
#include "http/message.h"

namespace cairn::http {

inline constexpr int kRelayAttemptsMax = 3;
// A relayed blocking query may wait up to Consul's 10 minutes plus jitter at the server.
inline constexpr std::chrono::seconds kRelayReadTimeout{11 * 60};

// This thread's keep-alive client for the server at `server` ("host:port") with the given read
// timeout, made on first use. One connection per thread, server and timeout saves a TCP
// handshake (and an accept queue slot at the server) per request; after a failed request the
// client reconnects on the next one. Used by relays and by the agent's forwarding.
Result<HttpClient*> ThreadClient(const std::string& server, std::chrono::seconds read_timeout);

// True for the paths a client agent answers itself: /v1/agent/*.
bool AnsweredLocally(const std::string& path);

// Relays `req` to backend.RelayServer() and fills `res` with the answer, or with 500 naming
// why no server answered. Runs on an HTTP worker thread and blocks it until the answer.
void RelayRequest(Backend& backend, const Request& req, Response& res);

}  // namespace cairn::http
