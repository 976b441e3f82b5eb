// SPDX-License-Identifier: Apache-2.0
// One epoll thread of the native engine: its own listener socket per listener (SO_REUSEPORT
// when there are several workers), accept4, a non-blocking upstream connect, and forwarding
// both ways with edge-triggered readiness. Every connection it accepts lives and dies here.
//
// Failure containment: whatever a worker throws while it serves one connection (std::bad_alloc
// when memory runs out, any other exception) costs that connection only: both sides are reset,
// meshtap_bound_hit_total{bound="native-worker-error"} counts it, and the loop goes on. An
// exception never leaves the thread (it would terminate the whole process, every connection).
#pragma once

#include <memory>
#include <sys/epoll.h>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "busy-poll.h"
#include "connection.h"
#include "pipe-pool.h"
#include "engine-shared.h"
#include "unique-fd.h"

namespace meshtap {

class Worker {
 public:
  Worker(int index, EngineShared* shared);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Creates the epoll and wake descriptors and starts the thread; false + *err on failure.
  bool Start(std::string* err);
  // Hands over a listening socket (the worker owns it from now on). Thread-safe.
  void AddListener(std::shared_ptr<const ListenerSpec> spec, UniqueFd fd);
  // JS no longer follows connection `id` (opaque, gave up, upgraded). Thread-safe.
  void Unobserve(uint32_t id);
  // Closes every listener and connection and joins the thread. Idempotent.
  void Stop();

 private:
  struct Command {
    enum Kind { kAddListener, kUnobserve, kStop } kind;
    std::shared_ptr<const ListenerSpec> spec;
    UniqueFd fd;
    uint32_t id = 0;
  };
  struct Listener {
    std::shared_ptr<const ListenerSpec> spec;
    UniqueFd fd;
    Handle handle{Handle::kListener};
    bool needs_retry = false;  // accept hit EMFILE/ENFILE: retry on a timer
  };

  void Post(Command c);
  void Run();
  // One pass of the loop: wait, serve what is ready, ring, sweep. Exceptions are contained per event.
  void RunOnce(epoll_event* events, int* timeout, bool* stop);
  // The exception escaped while serving current_ (or no connection): drop it, count, go on.
  void OnServeError() noexcept;
  void RunCommands(bool* stop);
  void AcceptAll(int index);
  void StartConnection(const ListenerSpec& spec, UniqueFd fd, const sockaddr_storage& peer);
  void OnEvent(Handle* h, uint32_t events);
  void Service(Conn* c);
  bool Pump(Conn* c, bool from_client);
  // Observation of a read just forwarded (worker-observe.cc): deferred to the end of the pass,
  // so every connection ready in one epoll pass is forwarded before any of them is observed.
  void Observe(Conn* c, bool from_client, const uint8_t* p, size_t n, uint64_t now_ns);
  // Hands the deferred reads to their observers, in read order. Called before anything else asks
  // an observer (End, Close, Skippable, deadlines, commands) and at the end of every pass.
  void FlushObservations() noexcept;
  // splice(2) (worker-splice.cc): outcome of one socket -> pipe step.
  enum class SpliceIn { kMoved, kSocketEmpty, kEof, kFallback, kFailed };
  // How many of the next bytes that way may be spliced (0: read them).
  size_t SpliceLimit(Conn* c, bool from_client) const;
  SpliceIn SpliceFromSocket(Conn* c, bool from_client, size_t limit);
  // Pipe -> socket. False when the connection ended; *blocked when the socket is full.
  bool SpliceToSocket(Conn* c, bool from_client, bool* blocked);
  void ReleasePipes(Conn* c) noexcept;
  void OnConnected(Conn* c);
  void Fail(Conn* c, bool client_side, int err);
  void ConnectFailed(Conn* c, int err);
  void Finish(Conn* c, bool client_error, bool upstream_error, bool reset_client, bool reset_upstream) noexcept;
  // Deletes the connections finished during this pass (no Conn* is held across passes).
  void ReapDead() noexcept;
  // The close record, sent only if the connection's open was (Conn::is_announced).
  void RecordClose(Conn* c);
  void Count(RecordType type, uint8_t code, const std::string& what);
  void CloseAll();
  // Closes connections idle longer than the configured timeout; returns ms until the next sweep.
  int SweepIdle();

  const int index_;
  EngineShared* const shared_;
  UniqueFd epfd_;
  UniqueFd wakefd_;
  Handle wake_handle_{Handle::kWake};
  std::thread thread_;
  std::mutex mu_;
  std::vector<Command> commands_;
  bool is_stopped_ = false;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unordered_map<uint32_t, std::unique_ptr<Conn>> conns_;  // owns every connection, dead or alive
  Conn* dead_ = nullptr;     // finished this pass (linked through Conn::next_dead), erased by ReapDead
  Conn* current_ = nullptr;  // the connection being served: what an exception costs
  bool is_fault_injection_ = false;  // test builds only (MESHTAP_FAULT_INJECTION), see worker.cc
  uint32_t next_seq_ = 0;
  uint64_t next_sweep_ns_ = 0;
  DetectDeadlines detect_deadlines_;
  DetectDeadlines h2_deadlines_;  // HTTP/2 reset-grace deadlines (ObservationDriver::H2Deadline)
  std::unique_ptr<uint8_t[]> scratch_;
  // Reads forwarded this pass and not yet observed (worker-observe.cc): their bytes, bounded.
  struct DeferredRead {
    Conn* conn;
    bool from_client;
    size_t offset;
    size_t len;
    uint64_t read_ns;
  };
  std::vector<DeferredRead> deferred_;
  std::unique_ptr<uint8_t[]> deferred_bytes_;
  size_t deferred_fill_ = 0;
  bool is_flushing_ = false;
  PipePool pipes_;
  BusyPoll busy_poll_;
};

}  // namespace meshtap
