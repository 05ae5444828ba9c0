// cairn_raft_bench_load: closed-loop load for cairn_raft_bench_server, and queries for tests.
//
//   cairn_raft_bench_load --target=127.0.0.1:7401[,...] --concurrency=256 --payload=128
//       --duration=10s [--warmup=1s] [--connections=8] [--count=N] [--record=FILE]
//     N proposers, each with one proposal in flight, spread over a few connections to the
//     leader (found through not-leader hints). Prints ops/s and latency percentiles of the
//     acknowledged proposals after the warm-up. --record writes every acknowledged payload.
//   cairn_raft_bench_load --target=... --status        one status line per target
//   cairn_raft_bench_load --target=... --check=FILE    are all payloads in FILE applied?
#include <algorithm>
#include <cinttypes>

#include "common/framing.h"
#include "common/uv_env.h"
#include "tests/bench/bench_flags.h"
#include "tests/bench/bench_protocol.h"

namespace cairn::bench {
namespace {

using namespace std::chrono_literals;

// Sends `requests` on one connection and waits for as many responses (or the timeout).
Result<std::vector<std::string>> Query(UvEnv& env, const NetAddress& to, const std::vector<std::string>& requests,
                                       Duration timeout) {
  std::unique_ptr<TcpStream> stream;
  Status failed;
  bool connect_done = false;
  env.ConnectTcp(to, [&](Result<std::unique_ptr<TcpStream>> s) {
    connect_done = true;
    if (s.IsOk()) {
      stream = std::move(s).Value();
    } else {
      failed = s.GetStatus();
    }
  });
  if (!env.RunUntil([&] { return connect_done; }, timeout) || !stream) {
    return failed.IsOk() ? Status::Timeout("connect to " + to.ToString()) : failed;
  }
  FrameDecoder decoder(64 << 20);
  std::vector<std::string> responses;
  bool closed = false;
  stream->Start(TcpStreamHandlers{[&](std::string_view data) {
                                    decoder.Feed(data);
                                    while (true) {
                                      auto frame = decoder.Next();
                                      if (!frame.IsOk() || !frame->has_value()) return;
                                      responses.push_back(std::move(**frame));
                                    }
                                  },
                                  [&](Status) { closed = true; }});
  std::string out;
  for (const std::string& r : requests) AppendFrame(out, r);
  CAIRN_RETURN_IF_ERROR(stream->Write(std::move(out)));
  env.RunUntil([&] { return closed || responses.size() == requests.size(); }, timeout);
  stream.reset();
  if (responses.size() != requests.size()) return Status::Timeout("no answer from " + to.ToString());
  return responses;
}

int StatusMode(UvEnv& env, const std::vector<NetAddress>& targets) {
  int rc = 0;
  for (const NetAddress& target : targets) {
    Encoder e;
    e.PutU8(static_cast<uint8_t>(Op::kStatus));
    e.PutVarint64(1);
    auto answers = Query(env, target, {e.Take()}, 2s);
    if (!answers.IsOk()) {
      std::printf("target=%s unreachable\n", target.ToString().c_str());
      rc = 1;
      continue;
    }
    Decoder d((*answers)[0], "status");
    d.ReadU8();
    d.ReadVarint64();
    d.ReadU8();
    std::printf("target=%s %s\n", target.ToString().c_str(), StatusLine(ReadStatus(d)).c_str());
  }
  return rc;
}

int CheckMode(UvEnv& env, const std::vector<NetAddress>& targets, const std::string& file) {
  auto contents = env.ReadFile(file);
  if (!contents.IsOk()) {
    std::fprintf(stderr, "%s\n", contents.GetStatus().ToString().c_str());
    return 2;
  }
  std::vector<std::string_view> payloads;
  std::string_view rest = *contents;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    if (!line.empty()) payloads.push_back(line);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  std::vector<std::string> requests;
  for (size_t i = 0; i < payloads.size(); i += kCheckBatchMax) {
    Encoder e;
    e.PutU8(static_cast<uint8_t>(Op::kCheck));
    e.PutVarint64(requests.size());
    const size_t n = std::min(kCheckBatchMax, payloads.size() - i);
    e.PutVarint64(n);
    for (size_t k = 0; k < n; ++k) e.PutBytes(payloads[i + k]);
    requests.push_back(e.Take());
  }
  int rc = 0;
  for (const NetAddress& target : targets) {
    auto answers = Query(env, target, requests, 10s);
    if (!answers.IsOk()) {
      std::printf("target=%s unreachable\n", target.ToString().c_str());
      rc = 1;
      continue;
    }
    uint64_t present = 0;
    uint64_t missing = 0;
    for (const std::string& a : *answers) {
      Decoder d(a, "check");
      d.ReadU8();
      d.ReadVarint64();
      d.ReadU8();
      present += d.ReadVarint64();
      missing += d.ReadVarint64();
    }
    std::printf("target=%s checked=%zu present=%" PRIu64 " missing=%" PRIu64 "\n", target.ToString().c_str(),
                payloads.size(), present, missing);
    if (missing != 0 || present != payloads.size()) rc = 1;
  }
  return rc;
}

}  // namespace

int LoadMode(UvEnv& env, const Flags& flags, std::vector<NetAddress> targets);

}  // namespace cairn::bench

int main(int argc, char** argv) {
  using namespace cairn;
  const bench::Flags flags(argc, argv);
  const std::vector<NetAddress> targets = bench::ParseTargets(flags.Get("target"));
  if (targets.empty()) {
    std::fprintf(stderr,
                 "usage: cairn_raft_bench_load --target=ip:port[,...] [--status | --check=FILE | "
                 "--concurrency=256 --payload=128 --duration=10s ...]\n");
    return 2;
  }
  UvEnv env;
  if (flags.Has("status")) return bench::StatusMode(env, targets);
  if (flags.Has("check")) return bench::CheckMode(env, targets, flags.Get("check"));
  return bench::LoadMode(env, flags, targets);
}
