// SPDX-License-Identifier: Apache-2.0
// The forwarding loop. Edge-triggered epoll: each socket is registered once for IN|OUT and
// the worker remembers readiness itself (is_readable until EAGAIN), so a connection costs no
// epoll_ctl after set-up. A read goes into one shared scratch buffer and is written on at
// once; only what the other side did not take is copied into the connection (PendingBytes),
// and while it waits nothing more is read from that side: the other peer's pace is the pace.
#include "worker.h"

#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "addr.h"
#include "original-dst.h"

namespace meshtap {
namespace {

// One read: as much as Node reads per 'data' chunk, so both engines see similar batches.
constexpr size_t kReadBytes = 64 * 1024;
constexpr int kMaxEvents = 256;
constexpr int kAcceptRetryMs = 100;

// TCP_NODELAY and keepalive on every leg, as the js engine's sockets (setNoDelay, setKeepAlive).
void SetSocketOptions(int fd, int keepalive_idle_s) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &keepalive_idle_s, sizeof keepalive_idle_s);
}

// Closes with an RST (SO_LINGER 0), as the js engine's socket.resetAndDestroy().
void CloseWithReset(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : "unknown";
}

}  // namespace

Worker::Worker(int index, EngineShared* shared) : index_(index), shared_(shared), scratch_(new uint8_t[kReadBytes]) {}

Worker::~Worker() {
  Stop();
  if (epfd_ >= 0) close(epfd_);
  if (wakefd_ >= 0) close(wakefd_);
}

bool Worker::Start(std::string* err) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd_ < 0 || wakefd_ < 0) {
    *err = std::string("epoll/eventfd: ") + strerror(errno);
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &wake_handle_;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev) != 0) {
    *err = std::string("epoll_ctl: ") + strerror(errno);
    return false;
  }
  thread_ = std::thread([this] { Run(); });
  return true;
}

void Worker::Post(Command c) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    commands_.push_back(std::move(c));
  }
  uint64_t one = 1;
  ssize_t n = write(wakefd_, &one, sizeof one);
  (void)n;
}

void Worker::AddListener(std::shared_ptr<const ListenerSpec> spec, int fd) { Post({Command::kAddListener, std::move(spec), fd, 0}); }

void Worker::Unobserve(uint32_t id) { Post({Command::kUnobserve, nullptr, -1, id}); }

void Worker::Stop() {
  if (is_stopped_ || !thread_.joinable()) return;
  is_stopped_ = true;
  Post({Command::kStop, nullptr, -1, 0});
  thread_.join();
}

void Worker::RunCommands(bool* stop) {
  uint64_t drained;
  ssize_t n = read(wakefd_, &drained, sizeof drained);
  (void)n;
  std::vector<Command> cmds;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cmds.swap(commands_);
  }
  for (auto& cmd : cmds) {
    switch (cmd.kind) {
      case Command::kAddListener: {
        auto l = std::make_unique<Listener>();
        l->spec = std::move(cmd.spec);
        l->fd = cmd.fd;
        l->handle.listener = static_cast<int>(listeners_.size());
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLET;
        ev.data.ptr = &l->handle;
        if (epoll_ctl(epfd_, EPOLL_CTL_ADD, l->fd, &ev) != 0) {
          close(l->fd);
          break;
        }
        listeners_.push_back(std::move(l));
        AcceptAll(static_cast<int>(listeners_.size()) - 1);  // connections may already wait
        break;
      }
      case Command::kUnobserve: {
        auto it = conns_.find(cmd.id);
        if (it != conns_.end()) it->second->is_observed = false;
        break;
      }
      case Command::kStop:
        *stop = true;
        break;
    }
  }
}

void Worker::Run() {
  epoll_event events[kMaxEvents];
  bool stop = false;
  int timeout = -1;
  while (!stop) {
    int n = epoll_wait(epfd_, events, kMaxEvents, timeout);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; i++) {
      auto* h = static_cast<Handle*>(events[i].data.ptr);
      if (h->kind == Handle::kWake) {
        RunCommands(&stop);
      } else {
        OnEvent(h, events[i].events);
      }
    }
    for (Conn* c : dead_) delete c;
    dead_.clear();
    timeout = shared_->MaybeRing();
    const int sweep_ms = SweepIdle();
    if (sweep_ms >= 0 && (timeout < 0 || sweep_ms < timeout)) timeout = sweep_ms;
    for (size_t i = 0; i < listeners_.size(); i++) {
      if (!listeners_[i]->needs_retry) continue;
      listeners_[i]->needs_retry = false;
      AcceptAll(static_cast<int>(i));
      if (listeners_[i]->needs_retry && (timeout < 0 || timeout > kAcceptRetryMs)) timeout = kAcceptRetryMs;
    }
  }
  CloseAll();
}

void Worker::CloseAll() {
  for (auto& l : listeners_) close(l->fd);
  listeners_.clear();
  std::vector<Conn*> open;
  for (auto& [id, c] : conns_) open.push_back(c);
  for (Conn* c : open) Finish(c, false, false, false, false);
  for (Conn* c : dead_) delete c;
  dead_.clear();
}

int Worker::SweepIdle() {
  const uint64_t idle = shared_->config.idle_timeout_ns;
  if (idle == 0 || conns_.empty()) return -1;
  // Swept at a tenth of the timeout (10 ms .. 1 s): close enough to the js engine's per-socket
  // timer, and one pass over the table instead of a timer per connection.
  uint64_t step = idle / 10;
  if (step < 10000000ull) step = 10000000ull;
  if (step > 1000000000ull) step = 1000000000ull;
  const uint64_t now = MonotonicNs();
  if (now >= next_sweep_ns_) {
    next_sweep_ns_ = now + step;
    std::vector<Conn*> expired;
    for (auto& [id, c] : conns_) {
      if (now - c->last_active_ns >= idle) expired.push_back(c);
    }
    for (Conn* c : expired) {
      // Closed like a FIN from both peers would be (graceful, not a reset), and counted.
      Count(kRecBoundHit, 0, "idle-timeout");
      if (c->abort == kAbortNone) c->abort = kAbortIdleTimeout;
      Finish(c, false, false, false, false);
    }
  }
  return static_cast<int>((next_sweep_ns_ - now + 999999) / 1000000);
}

void Worker::AcceptAll(int index) {
  Listener& l = *listeners_[index];
  for (;;) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int fd = accept4(l.fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        l.needs_retry = true;
        Count(kRecBoundHit, 0, "fd-limit");
      }
      return;
    }
    StartConnection(*l.spec, fd, peer);
  }
}

void Worker::Count(RecordType type, uint8_t code, const std::string& what) {
  if (type == kRecBoundHit) shared_->counters.Add("bound\t" + what);
  else shared_->counters.Add(std::string("connect\t") + (code == 0 ? "inbound\t" : "outbound\t") + what);
}

void Worker::Record(Conn* c, RecordType type, uint8_t code, const void* data, uint32_t len, bool is_control) {
  if (!c->is_observed) return;
  if (shared_->ring.Append(type, code, c->id, MonotonicNs(), data, len, is_control)) return;
  // The batch is full (JS is behind): this connection's observation stops, its bytes do not.
  c->is_observed = false;
  shared_->ring.Append(kRecLost, 0, c->id, MonotonicNs(), nullptr, 0, true);
}

void Worker::StartConnection(const ListenerSpec& spec, int fd, const sockaddr_storage& peer) {
  sockaddr_storage target{};
  std::string dst;
  if (spec.kind == ListenerKind::kForward) {
    target = spec.target;
    dst = spec.dst_text;
  } else if (spec.kind == ListenerKind::kInbound) {
    // sk_lookup handed us a connection for the pod's port: that port is the original destination.
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
    const uint16_t port = PortOf(local);
    if (port == spec.own_port) {
      Count(kRecBoundHit, 0, "inbound-loop");
      CloseWithReset(fd);
      return;
    }
    target = spec.app;
    SetPort(&target, port);
    dst = FormatAddr(local);
  } else {
    int err = 0;
    if (LookupOriginalDst(fd, &target, &err) != OriginalDstResult::kFound) {
      Count(kRecConnectError, 1, "no-original-dst");
      CloseWithReset(fd);
      return;
    }
    dst = FormatAddr(target);
  }

  auto* c = new Conn();
  c->id = ++next_seq_ * static_cast<uint32_t>(shared_->config.threads) + static_cast<uint32_t>(index_);
  c->inbound = spec.inbound;
  c->is_observed = shared_->config.observe;
  c->client_handle.conn = c;
  c->upstream_handle.conn = c;
  c->client.fd = fd;
  c->last_active_ns = MonotonicNs();
  bool hit = false;
  c->src = shared_->tcp.Get(spec.inbound, false, dst, &hit);
  c->dst = shared_->tcp.Get(spec.inbound, true, dst, &hit);
  if (hit) Count(kRecBoundHit, 0, "metric-targets");
  c->src->opened.fetch_add(1, std::memory_order_relaxed);
  c->src->open.fetch_add(1, std::memory_order_relaxed);
  conns_[c->id] = c;
  SetSocketOptions(fd, shared_->config.keepalive_idle_s);
  if (c->is_observed) {
    std::string text = FormatAddr(peer) + "\n" + dst;
    Record(c, kRecOpen, spec.inbound ? 0 : 1, text.data(), static_cast<uint32_t>(text.size()), true);
  }

  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
  ev.data.ptr = &c->client_handle;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);

  int ufd = socket(target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (ufd < 0) return ConnectFailed(c, errno);
  c->upstream.fd = ufd;
  SetSocketOptions(ufd, shared_->config.keepalive_idle_s);
  ev.data.ptr = &c->upstream_handle;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, ufd, &ev);
  if (connect(ufd, reinterpret_cast<const sockaddr*>(&target), AddrLen(target)) == 0) {
    OnConnected(c);
    Service(c);
  } else if (errno != EINPROGRESS) {
    ConnectFailed(c, errno);
  }
}

void Worker::OnConnected(Conn* c) {
  c->is_connected = true;
  c->upstream.is_writable = true;
  c->dst->opened.fetch_add(1, std::memory_order_relaxed);
  c->dst->open.fetch_add(1, std::memory_order_relaxed);
}

void Worker::OnEvent(Handle* h, uint32_t events) {
  if (h->kind == Handle::kListener) return AcceptAll(h->listener);
  Conn* c = h->conn;
  if (c->is_dead) return;
  const bool is_error = (events & (EPOLLERR | EPOLLHUP)) != 0;
  if (h->kind == Handle::kUpstream && !c->is_connected) {
    if ((events & EPOLLOUT) == 0 && !is_error) return;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->upstream.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return ConnectFailed(c, err);
    OnConnected(c);
  }
  Peer& p = h->kind == Handle::kClient ? c->client : c->upstream;
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) p.is_readable = true;
  if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) p.is_writable = true;
  Service(c);
}

void Worker::Service(Conn* c) {
  if (!Pump(c, true)) return;
  if (!Pump(c, false)) return;
  const bool c2u_done = c->client.has_eof && c->to_upstream.IsEmpty() && c->upstream.is_shut;
  const bool u2c_done = c->upstream.has_eof && c->to_client.IsEmpty() && c->client.is_shut;
  if (c2u_done && u2c_done) Finish(c, false, false, false, false);
}

// Moves bytes one way until neither side can go on. False when the connection ended.
bool Worker::Pump(Conn* c, bool from_client) {
  Peer& from = from_client ? c->client : c->upstream;
  Peer& to = from_client ? c->upstream : c->client;
  PendingBytes& pending = from_client ? c->to_upstream : c->to_client;
  TcpCounters* read_stats = from_client ? c->src : c->dst;
  TcpCounters* write_stats = from_client ? c->dst : c->src;
  const bool can_write_to = from_client ? c->is_connected : true;
  for (;;) {
    if (!pending.IsEmpty()) {
      if (!can_write_to || !to.is_writable) return true;
      ssize_t w = send(to.fd, pending.Data(), pending.Size(), MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
          to.is_writable = false;
          return true;
        }
        Fail(c, !from_client, errno);
        return false;
      }
      pending.Consume(static_cast<size_t>(w));
      continue;
    }
    if (from.has_eof) {
      if (!to.is_shut && can_write_to) {
        shutdown(to.fd, SHUT_WR);
        to.is_shut = true;
      }
      return true;
    }
    if (!from.is_readable) return true;
    ssize_t n = recv(from.fd, scratch_.get(), kReadBytes, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        from.is_readable = false;
        return true;
      }
      Fail(c, from_client, errno);
      return false;
    }
    if (n == 0) {
      from.has_eof = true;
      Record(c, from_client ? kRecClientEnd : kRecServerEnd, 0, nullptr, 0, true);
      continue;
    }
    const size_t got = static_cast<size_t>(n);
    c->last_active_ns = MonotonicNs();
    read_stats->read_bytes.fetch_add(got, std::memory_order_relaxed);
    write_stats->write_bytes.fetch_add(got, std::memory_order_relaxed);
    size_t sent = 0;
    if (can_write_to && to.is_writable) {
      ssize_t w = send(to.fd, scratch_.get(), got, MSG_NOSIGNAL);
      if (w >= 0) {
        sent = static_cast<size_t>(w);
      } else if (errno == EAGAIN) {
        to.is_writable = false;
      } else if (errno != EINTR) {
        Record(c, from_client ? kRecClientData : kRecServerData, 0, scratch_.get(), static_cast<uint32_t>(got), false);
        Fail(c, !from_client, errno);
        return false;
      }
    }
    if (sent < got && !pending.Assign(scratch_.get() + sent, got - sent)) {
      Fail(c, from_client, ENOMEM);
      return false;
    }
    // Forwarded first, observed second.
    Record(c, from_client ? kRecClientData : kRecServerData, 0, scratch_.get(), static_cast<uint32_t>(got), false);
  }
}

void Worker::Fail(Conn* c, bool client_side, int err) {
  if (c->abort == kAbortNone) {
    c->abort = err == ECONNRESET ? kAbortReset
               : client_side     ? kAbortClientError
               : c->is_connected ? kAbortUpstreamError
                                 : kAbortConnectFailed;
  }
  // The side that failed is gone; the other one gets an RST (resets are mirrored).
  Finish(c, client_side, !client_side, !client_side, client_side);
}

void Worker::ConnectFailed(Conn* c, int err) {
  Count(kRecConnectError, c->inbound ? 0 : 1, ErrnoName(err));
  if (c->abort == kAbortNone) c->abort = err == ECONNRESET ? kAbortReset : kAbortConnectFailed;
  Finish(c, false, false, true, false);
}

// The one close path of a connection: counters, sockets, the record that ends observation.
void Worker::Finish(Conn* c, bool client_error, bool upstream_error, bool reset_client, bool reset_upstream) {
  if (c->is_dead) return;
  c->is_dead = true;
  if (c->client.fd >= 0) {
    if (reset_client) CloseWithReset(c->client.fd);
    else close(c->client.fd);
    c->client.fd = -1;
    c->src->open.fetch_sub(1, std::memory_order_relaxed);
    c->src->closed.fetch_add(1, std::memory_order_relaxed);
    if (client_error) c->src->closed_with_error.fetch_add(1, std::memory_order_relaxed);
  }
  if (c->upstream.fd >= 0) {
    if (reset_upstream) CloseWithReset(c->upstream.fd);
    else close(c->upstream.fd);
    c->upstream.fd = -1;
    if (c->is_connected) {
      c->dst->open.fetch_sub(1, std::memory_order_relaxed);
      c->dst->closed.fetch_add(1, std::memory_order_relaxed);
      if (upstream_error) c->dst->closed_with_error.fetch_add(1, std::memory_order_relaxed);
    }
  }
  Record(c, kRecClose, c->abort, nullptr, 0, true);
  conns_.erase(c->id);
  dead_.push_back(c);
}

}  // namespace meshtap
