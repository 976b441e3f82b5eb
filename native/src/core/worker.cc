// SPDX-License-Identifier: Apache-2.0
// The forwarding loop. Edge-triggered epoll: each socket is registered once for IN|OUT and
// the worker remembers readiness itself (is_readable until EAGAIN or a short read, see
// Peer::must_drain), so a connection costs no epoll_ctl after set-up. A read goes into one shared scratch buffer and is written on at
// once; only what the other side did not take is copied into the connection (PendingBytes),
// and while it waits nothing more is read from that side: the other peer's pace is the pace.
// Observation comes after forwarding, for the whole pass (worker-observe.cc): every connection
// that epoll reported ready is forwarded before any of them is observed.
#include "worker.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
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
void CloseWithReset(UniqueFd* fd) {
  if (!fd->IsOpen()) return;
  linger l{1, 0};
  setsockopt(fd->Get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
  fd->Reset();
}

#ifdef MESHTAP_FAULT_INJECTION
// Test builds only (scripts/native-sanitize.sh defines MESHTAP_FAULT_INJECTION; release builds
// have no such code): with MESHTAP_FAULT_INJECTION=1 in the environment, a client read that
// begins with this marker throws std::bad_alloc mid-forward, so a test can prove that a worker
// failure costs that one connection (test/native-worker-fault.test.ts).
constexpr char kFaultMarker[] = "MESHTAP-FAULT-BAD-ALLOC";
void MaybeInjectFault(bool is_enabled, const uint8_t* data, size_t len) {
  if (is_enabled && len >= sizeof kFaultMarker - 1 && memcmp(data, kFaultMarker, sizeof kFaultMarker - 1) == 0) throw std::bad_alloc();
}
#else
inline void MaybeInjectFault(bool, const uint8_t*, size_t) {}
#endif

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : "unknown";
}

}  // namespace

Worker::Worker(int index, EngineShared* shared)
    : index_(index), shared_(shared), scratch_(new uint8_t[kReadBytes]), pipes_(shared->config.max_pipes), busy_poll_(shared->config.busy_poll_max_ns) {
#ifdef MESHTAP_FAULT_INJECTION
  const char* fault = getenv("MESHTAP_FAULT_INJECTION");
  is_fault_injection_ = fault != nullptr && strcmp(fault, "1") == 0;
#endif
}

Worker::~Worker() { Stop(); }

bool Worker::Start(std::string* err) {
  epfd_.Reset(epoll_create1(EPOLL_CLOEXEC));
  wakefd_.Reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!epfd_.IsOpen() || !wakefd_.IsOpen()) {
    *err = std::string("epoll/eventfd: ") + strerror(errno);
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &wake_handle_;
  if (epoll_ctl(epfd_.Get(), EPOLL_CTL_ADD, wakefd_.Get(), &ev) != 0) {
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
  ssize_t n = write(wakefd_.Get(), &one, sizeof one);
  (void)n;
}

void Worker::AddListener(std::shared_ptr<const ListenerSpec> spec, UniqueFd fd) { Post({Command::kAddListener, std::move(spec), std::move(fd), 0}); }

void Worker::Unobserve(uint32_t id) { Post({Command::kUnobserve, nullptr, UniqueFd(), id}); }

void Worker::Stop() {
  if (is_stopped_ || !thread_.joinable()) return;
  is_stopped_ = true;
  Post({Command::kStop, nullptr, UniqueFd(), 0});
  thread_.join();
}

void Worker::RunCommands(bool* stop) {
  uint64_t drained;
  ssize_t n = read(wakefd_.Get(), &drained, sizeof drained);
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
        l->fd = std::move(cmd.fd);
        l->handle.listener = static_cast<int>(listeners_.size());
        listeners_.reserve(listeners_.size() + 1);  // push_back below cannot throw once registered
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLET;
        ev.data.ptr = &l->handle;
        if (epoll_ctl(epfd_.Get(), EPOLL_CTL_ADD, l->fd.Get(), &ev) != 0) break;  // l closes it
        listeners_.push_back(std::move(l));
        // Connections may already wait; accepted on the next pass (a failure here must not
        // cost the commands still queued behind this one, such as kStop).
        listeners_.back()->needs_retry = true;
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
    try {
      RunOnce(events, &timeout, &stop);
    } catch (...) {
      // Outside any one connection's service (the sweep, the doorbell): nothing to drop.
      FlushObservations();
      OnServeError();
      timeout = kAcceptRetryMs;
    }
    ReapDead();
  }
  CloseAll();
}

void Worker::RunOnce(epoll_event* events, int* timeout, bool* stop) {
  int n = 0;
  if (*timeout != 0 && busy_poll_.IsEnabled()) {
    // Poll a little before blocking (busy-poll.h), and learn from how long the wait took.
    const uint64_t start = MonotonicNs();
    const uint64_t until = start + busy_poll_.WindowNs();
    bool polled = false;
    if (until > start) {
      uint64_t now;
      do {
        n = epoll_wait(epfd_.Get(), events, kMaxEvents, 0);
        now = MonotonicNs();
      } while (n == 0 && now < until);
      polled = n > 0;
      // What polling costs and what it catches, read at scrape (meshtap_native_busy_poll_*).
      EventCounters& c = shared_->counters;
      (polled ? c.busy_poll_caught_ns : c.busy_poll_missed_ns).fetch_add(now - start, std::memory_order_relaxed);
      (polled ? c.busy_polls_caught : c.busy_polls_missed).fetch_add(1, std::memory_order_relaxed);
    }
    if (n == 0) n = epoll_wait(epfd_.Get(), events, kMaxEvents, *timeout);
    busy_poll_.Update(MonotonicNs() - start, polled, n > 0);
  } else {
    n = epoll_wait(epfd_.Get(), events, kMaxEvents, *timeout);
  }
  if (n < 0 && errno != EINTR) {
    *stop = true;
    return;
  }
  for (int i = 0; i < n; i++) {
    auto* h = static_cast<Handle*>(events[i].data.ptr);
    current_ = nullptr;
    try {
      if (h->kind == Handle::kWake) {
        FlushObservations();  // a command may stop a connection's records: what came before goes first
        RunCommands(stop);
      } else {
        OnEvent(h, events[i].events);
      }
    } catch (...) {
      OnServeError();
      // An accept loop cut short leaves connections in the backlog with no new edge to come.
      if (h->kind == Handle::kListener) listeners_[h->listener]->needs_retry = true;
    }
    current_ = nullptr;
  }
  FlushObservations();
  ReapDead();
  *timeout = shared_->MaybeRing();
  const int sweep_ms = SweepIdle();
  if (sweep_ms >= 0 && (*timeout < 0 || sweep_ms < *timeout)) *timeout = sweep_ms;
  const uint64_t now = MonotonicNs();
  const int detect_ms = detect_deadlines_.Sweep(now, [this, now](uint32_t id) {
    auto it = conns_.find(id);
    if (it != conns_.end() && it->second->obs) it->second->obs->DetectDeadline(now);
  });
  if (detect_ms >= 0 && (*timeout < 0 || detect_ms < *timeout)) *timeout = detect_ms;
  // The C++ HTTP/2 observer's client-reset grace (h2-streams.h): one deadline per waiting batch.
  const int h2_ms = h2_deadlines_.Sweep(now, [this, now](uint32_t id) {
    auto it = conns_.find(id);
    if (it != conns_.end() && it->second->obs) it->second->obs->H2Deadline(now);
  });
  if (h2_ms >= 0 && (*timeout < 0 || h2_ms < *timeout)) *timeout = h2_ms;
  for (size_t i = 0; i < listeners_.size(); i++) {
    if (!listeners_[i]->needs_retry) continue;
    listeners_[i]->needs_retry = false;
    try {
      AcceptAll(static_cast<int>(i));
    } catch (...) {
      OnServeError();
      listeners_[i]->needs_retry = true;
    }
    current_ = nullptr;
    if (listeners_[i]->needs_retry && (*timeout < 0 || *timeout > kAcceptRetryMs)) *timeout = kAcceptRetryMs;
  }
  FlushObservations();  // a connection accepted above may have forwarded already
}

void Worker::OnServeError() noexcept {
  shared_->counters.worker_errors.fetch_add(1, std::memory_order_relaxed);
  Conn* c = current_;
  current_ = nullptr;
  if (c == nullptr || c->is_dead) return;
  // Its state is unknown from here: both sides get an RST, as after any error on one side.
  if (c->abort == kAbortNone) c->abort = kAbortReset;
  Finish(c, true, true, true, true);
}

void Worker::CloseAll() {
  listeners_.clear();  // closes the listening sockets
  for (auto& [id, c] : conns_) Finish(c.get(), false, false, false, false);
  ReapDead();
}

void Worker::ReapDead() noexcept {
  while (dead_ != nullptr) {
    Conn* c = dead_;
    dead_ = c->next_dead;
    conns_.erase(c->id);  // deletes it (and closes whatever it still holds)
  }
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
      if (!c->is_dead && now - c->last_active_ns >= idle) expired.push_back(c.get());
    }
    for (Conn* c : expired) {
      current_ = c;
      // Closed like a FIN from both peers would be (graceful, not a reset), and counted.
      Count(kRecBoundHit, 0, "idle-timeout");
      if (c->abort == kAbortNone) c->abort = kAbortIdleTimeout;
      Finish(c, false, false, false, false);
    }
    current_ = nullptr;
  }
  return static_cast<int>((next_sweep_ns_ - now + 999999) / 1000000);
}

void Worker::AcceptAll(int index) {
  Listener& l = *listeners_[index];
  for (;;) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    UniqueFd fd(accept4(l.fd.Get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.IsOpen()) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        l.needs_retry = true;
        Count(kRecBoundHit, 0, "fd-limit");
      }
      return;
    }
    current_ = nullptr;
    StartConnection(*l.spec, std::move(fd), peer);
    current_ = nullptr;
  }
}

void Worker::Count(RecordType type, uint8_t code, const std::string& what) {
  if (type == kRecBoundHit) shared_->counters.Add("bound\t" + what);
  else shared_->counters.Add(std::string("connect\t") + (code == 0 ? "inbound\t" : "outbound\t") + what);
}

void Worker::RecordClose(Conn* c) {
  // Only for a connection JS knows of and still follows: an unannounced one cost JS nothing.
  if (!c->is_observed || !c->is_announced) return;
  if (shared_->ring.Append(kRecClose, c->abort, c->id, MonotonicNs(), nullptr, 0, true)) return;
  // The batch is full even for control records (JS is far behind): JS learns the loss instead.
  c->is_observed = false;
  shared_->counters.Add("bound\tnative-event-batch");
  shared_->ring.Append(kRecLost, 0, c->id, MonotonicNs(), nullptr, 0, true);
}

void Worker::StartConnection(const ListenerSpec& spec, UniqueFd fd, const sockaddr_storage& peer) {
  sockaddr_storage target{};
  std::string dst;
  if (spec.kind == ListenerKind::kForward) {
    target = spec.target;
    dst = spec.dst_text;
  } else if (spec.kind == ListenerKind::kInbound) {
    // sk_lookup handed us a connection for the pod's port: that port is the original destination.
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    getsockname(fd.Get(), reinterpret_cast<sockaddr*>(&local), &len);
    const uint16_t port = PortOf(local);
    if (port == spec.own_port) {
      Count(kRecBoundHit, 0, "inbound-loop");
      CloseWithReset(&fd);
      return;
    }
    target = spec.app;
    SetPort(&target, port);
    dst = FormatAddr(local);
  } else {
    int err = 0;
    if (LookupOriginalDst(fd.Get(), &target, &err) != OriginalDstResult::kFound) {
      CloseWithReset(&fd);
      Count(kRecConnectError, 1, "no-original-dst");
      return;
    }
    dst = FormatAddr(target);
  }

  bool hit = false;
  TcpCounters* src = shared_->tcp.Get(spec.inbound, false, dst, &hit);
  TcpCounters* dst_stats = shared_->tcp.Get(spec.inbound, true, dst, &hit);
  if (hit) Count(kRecBoundHit, 0, "metric-targets");
  auto owned = std::make_unique<Conn>();
  Conn* c = owned.get();
  c->id = ++next_seq_ * static_cast<uint32_t>(shared_->config.threads) + static_cast<uint32_t>(index_);
  c->inbound = spec.inbound;
  c->is_observed = shared_->config.observe;
  c->client_handle.conn = c;
  c->upstream_handle.conn = c;
  c->client.fd = std::move(fd);
  c->last_active_ns = MonotonicNs();
  c->src = src;
  c->dst = dst_stats;
  conns_.emplace(c->id, std::move(owned));  // may throw: then `owned` still closes the socket
  // From here on the table owns it, and an exception costs it through OnServeError -> Finish.
  current_ = c;
  c->src->opened.fetch_add(1, std::memory_order_relaxed);
  c->src->open.fetch_add(1, std::memory_order_relaxed);
  SetSocketOptions(c->client.fd.Get(), shared_->config.keepalive_idle_s);
  if (c->is_observed) {
    // JS hears of it only when it must (ObservationDriver::Announce), or at once when tracing.
    c->obs = std::make_unique<ObservationDriver>(shared_, c, FormatAddr(peer) + "\n" + dst, &h2_deadlines_);
    if (shared_->config.announce_connections) c->obs->Announce(c->last_active_ns);
    detect_deadlines_.Add(c->id, c->last_active_ns + shared_->config.detect_timeout_ns);
  }

  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET;
  ev.data.ptr = &c->client_handle;
  epoll_ctl(epfd_.Get(), EPOLL_CTL_ADD, c->client.fd.Get(), &ev);

  c->upstream.fd.Reset(socket(target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!c->upstream.fd.IsOpen()) return ConnectFailed(c, errno);
  const int ufd = c->upstream.fd.Get();
  SetSocketOptions(ufd, shared_->config.keepalive_idle_s);
  if (spec.source.ss_family != 0) {
    // A local sidecar connects from its own loopback address (proxy/sidecar.ts), so that the
    // callee's inbound side can name its caller. The port is chosen at connect, not here
    // (IP_BIND_ADDRESS_NO_PORT), so each destination still has the whole ephemeral range.
    int one = 1;
    setsockopt(ufd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(ufd, reinterpret_cast<const sockaddr*>(&spec.source), AddrLen(spec.source)) != 0) return ConnectFailed(c, errno);
  }
  ev.data.ptr = &c->upstream_handle;
  epoll_ctl(epfd_.Get(), EPOLL_CTL_ADD, ufd, &ev);
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
  current_ = c;
  const bool is_error = (events & (EPOLLERR | EPOLLHUP)) != 0;
  if (h->kind == Handle::kUpstream && !c->is_connected) {
    if ((events & EPOLLOUT) == 0 && !is_error) return;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->upstream.fd.Get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return ConnectFailed(c, err);
    OnConnected(c);
  }
  Peer& p = h->kind == Handle::kClient ? c->client : c->upstream;
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP | EPOLLPRI)) p.is_readable = true;
  if (events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP | EPOLLPRI)) p.must_drain = true;
  if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) p.is_writable = true;
  Service(c);
  if (c->is_dead || (events & EPOLLERR) == 0) return;
  // The socket failed (an RST) but Service could not read it to find out: its bytes wait for the
  // other side (backpressure). Mirror the reset now rather than when the other side drains, which
  // may be never (a peer that stopped reading would pin this connection, its buffers and pipe).
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(p.fd.Get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) Fail(c, h->kind == Handle::kClient, err);
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
  const int dir = from_client ? 0 : 1;
  for (;;) {
    if (!pending.IsEmpty()) {
      if (!can_write_to || !to.is_writable) return true;
      ssize_t w = send(to.fd.Get(), pending.Data(), pending.Size(), MSG_NOSIGNAL);
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
    if (c->pipe_fill[dir] > 0) {
      if (!can_write_to || !to.is_writable) return true;
      bool blocked = false;
      if (!SpliceToSocket(c, from_client, &blocked)) return false;
      if (blocked) return true;
      continue;
    }
    if (from.has_eof) {
      if (!to.is_shut && can_write_to) {
        shutdown(to.fd.Get(), SHUT_WR);
        to.is_shut = true;
      }
      return true;
    }
    if (!from.is_readable) return true;
    if (c->deferred_reads > 0) FlushObservations();  // Skippable answers after what was observed
    if (const size_t limit = SpliceLimit(c, from_client); limit > 0) {
      const SpliceIn r = SpliceFromSocket(c, from_client, limit);
      if (r == SpliceIn::kFailed) return false;
      if (r == SpliceIn::kSocketEmpty) return true;
      if (r != SpliceIn::kFallback) continue;
    }
    ssize_t n = recv(from.fd.Get(), scratch_.get(), kReadBytes, 0);
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
      if (c->obs) {
        FlushObservations();
        c->obs->End(from_client, MonotonicNs());
      }
      continue;
    }
    const size_t got = static_cast<size_t>(n);
    if (from_client) MaybeInjectFault(is_fault_injection_, scratch_.get(), got);
    // A read that fills the whole buffer: more is likely waiting, a stream worth splicing. A
    // shorter one emptied the socket: no second recv just to hear EAGAIN (a third of the
    // syscalls of a small request), unless the edge said more than "bytes" (Peer::must_drain).
    if (got == kReadBytes) c->is_streaming[dir] = true;
    else if (!from.must_drain) from.is_readable = false;
    c->last_active_ns = MonotonicNs();
    read_stats->read_bytes.fetch_add(got, std::memory_order_relaxed);
    write_stats->write_bytes.fetch_add(got, std::memory_order_relaxed);
    size_t sent = 0;
    if (can_write_to && to.is_writable) {
      ssize_t w = send(to.fd.Get(), scratch_.get(), got, MSG_NOSIGNAL);
      if (w >= 0) {
        sent = static_cast<size_t>(w);
      } else if (errno == EAGAIN) {
        to.is_writable = false;
      } else if (errno != EINTR) {
        const int err = errno;
        if (c->obs) {
          FlushObservations();
          c->obs->Data(from_client, scratch_.get(), got, c->last_active_ns);
        }
        Fail(c, !from_client, err);
        return false;
      }
    }
    if (sent < got && !pending.Assign(scratch_.get() + sent, got - sent)) {
      Fail(c, from_client, ENOMEM);
      return false;
    }
    // Forwarded first, observed second (at the end of the pass).
    if (c->obs) Observe(c, from_client, scratch_.get(), got, c->last_active_ns);
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
void Worker::Finish(Conn* c, bool client_error, bool upstream_error, bool reset_client, bool reset_upstream) noexcept {
  if (c->is_dead) return;
  c->is_dead = true;
  if (c->client.fd.IsOpen()) {
    if (reset_client) CloseWithReset(&c->client.fd);
    else c->client.fd.Reset();
    c->src->open.fetch_sub(1, std::memory_order_relaxed);
    c->src->closed.fetch_add(1, std::memory_order_relaxed);
    if (client_error) c->src->closed_with_error.fetch_add(1, std::memory_order_relaxed);
  }
  if (c->upstream.fd.IsOpen()) {
    if (reset_upstream) CloseWithReset(&c->upstream.fd);
    else c->upstream.fd.Reset();
    if (c->is_connected) {
      c->dst->open.fetch_sub(1, std::memory_order_relaxed);
      c->dst->closed.fetch_add(1, std::memory_order_relaxed);
      if (upstream_error) c->dst->closed_with_error.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (c->obs) {
    FlushObservations();
    c->obs->Close(c->abort, MonotonicNs());
  }
  ReleasePipes(c);
  RecordClose(c);
  c->next_dead = dead_;
  dead_ = c;
}

}  // namespace meshtap
