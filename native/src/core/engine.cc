// SPDX-License-Identifier: Apache-2.0
#include "engine.h"

#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <unistd.h>

#include "addr.h"

namespace meshtap {
namespace {

constexpr int kBacklog = 1024;  // as the js engine's listeners

UniqueFd OpenListener(const sockaddr_storage& at, bool reuse_port, std::string* err) {
  UniqueFd owned(socket(at.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const int fd = owned.Get();
  if (fd < 0) {
    *err = std::string("socket: ") + strerrorname_np(errno);
    return owned;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // SO_REUSEPORT only with several workers: with one, a second sidecar on the same port must
  // fail with EADDRINUSE (as the js engine does) rather than silently share connections.
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&at), AddrLen(at)) != 0 || listen(fd, kBacklog) != 0) {
    *err = std::string(strerrorname_np(errno));
    owned.Reset();
  }
  return owned;
}

}  // namespace

Engine::Engine(const EngineConfig& config) : shared_(std::make_unique<EngineShared>(config)) {}

Engine::~Engine() { Stop(); }

bool Engine::Start(std::function<void()> doorbell, std::string* err) {
  shared_->doorbell = std::move(doorbell);
  const int n = shared_->config.threads < 1 ? 1 : shared_->config.threads;
  for (int i = 0; i < n; i++) {
    auto w = std::make_unique<Worker>(i, shared_.get());
    if (!w->Start(err)) return false;
    workers_.push_back(std::move(w));
  }
  return true;
}

std::string Engine::Listen(ListenerSpec spec, const sockaddr_storage& at, std::string* err) {
  const bool reuse_port = workers_.size() > 1;
  std::vector<UniqueFd> fds;  // closed on every early return
  sockaddr_storage bound = at;
  for (size_t i = 0; i < workers_.size(); i++) {
    UniqueFd fd = OpenListener(bound, reuse_port, err);
    if (!fd.IsOpen()) return "";
    if (i == 0) {
      // Port 0: every other worker's socket joins the port the first one got.
      socklen_t len = sizeof bound;
      getsockname(fd.Get(), reinterpret_cast<sockaddr*>(&bound), &len);
    }
    fds.push_back(std::move(fd));
  }
  spec.id = next_listener_++;
  if (spec.kind == ListenerKind::kInbound) spec.own_port = PortOf(bound);
  auto shared = std::make_shared<const ListenerSpec>(spec);
  for (size_t i = 0; i < workers_.size(); i++) workers_[i]->AddListener(shared, std::move(fds[i]));
  return FormatAddr(bound);
}

void Engine::Unobserve(uint32_t id) {
  if (workers_.empty()) return;
  workers_[id % workers_.size()]->Unobserve(id);
}

void Engine::Stop() {
  if (is_stopped_) return;
  is_stopped_ = true;
  for (auto& w : workers_) w->Stop();
}

}  // namespace meshtap
