// SPDX-License-Identifier: Apache-2.0
// The native HTTP/1 connection observer: proxy/http1/observer.ts in C++, state for state, so
// that both engines report the same exchanges (pipelining, Content-Length and chunked with
// trailers, 1xx skipped, HEAD/204/304, close-delimited responses, Upgrade/CONNECT → opaque,
// h2c → HTTP/2, ambiguous framing → give up). It reads views of bytes already forwarded and
// never fails the connection: anything it cannot follow ends its open exchanges with an error
// and stops observation (GiveUp), once; an exception inside costs that connection's
// observation only (`internal`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "h1-body.h"
#include "h1-exchange.h"
#include "h1-head.h"

namespace meshtap {

class H1Observer {
 public:
  H1Observer(H1ExchangeSink* sink, const ObserverLimits& limits);
  ~H1Observer();
  H1Observer(const H1Observer&) = delete;
  H1Observer& operator=(const H1Observer&) = delete;

  // Bytes forwarded client -> server / server -> client, read at now_ns.
  void ClientData(const uint8_t* p, size_t n, uint64_t now_ns);
  void ServerData(const uint8_t* p, size_t n, uint64_t now_ns);
  void ClientEnd(uint64_t now_ns);
  void ServerEnd(uint64_t now_ns);
  // Body bytes nobody captures that follow in that direction (BodyReader::Skippable), and the
  // report that `n` of them were forwarded without being shown (splice): the observer counts
  // them as if it had read them.
  uint64_t SkippableBytes(bool from_client) const;
  void Skipped(bool from_client, uint64_t n, uint64_t now_ns);
  // The connection is gone: open exchanges end with `error` (kConnectionClosed when null).
  void Close(const char* error, uint64_t now_ns);

  // Nothing more to follow (gave up, upgraded, switched to h2c, closed).
  bool IsDead() const { return is_dead_; }
  // After a 101 to h2c (SwitchedToH2c was called): the client bytes held while waiting for the
  // answer, and the offset in the last ServerData chunk where the server's HTTP/2 bytes begin.
  bool IsH2c() const { return is_h2c_; }
  std::string TakeH2cClientBytes();
  size_t H2cServerOffset() const { return h2c_server_from_; }

 private:
  enum class Side { kHead, kBody, kHeld, kEnded };
  struct Pending {
    H1Exchange ex;
    bool is_head = false;
    bool is_connect = false;
    bool may_upgrade = false;
    bool is_request_done = false;
    bool is_response_done = false;
    const char* request_error = nullptr;
    std::vector<std::string> upgrade;  // the request's Upgrade values (h2c check)
  };
  struct BodyTarget {
    H1Observer* self;
    Pending* p;
    bool is_request;
  };
  static void OnBody(void* ctx, const uint8_t* p, size_t n);

  void FeedClient(const uint8_t* p, size_t n);
  void FeedServer(const uint8_t* p, size_t n);
  void OnRequestHead();
  void RequestBodyDone(Pending* done);
  void Hold(const uint8_t* p, size_t n);
  void Unhold();
  void OnResponseHead();
  void ReportResponseHead(Pending* p, int status);
  void ResponseBodyDone();
  void SwitchProtocols(Pending* p, int status, const ResponseHead& rsp);
  void SwitchToH2c(Pending* p);
  void Finish(Pending* p);
  void EndWithError(Pending* p, const char* error);
  void EndAll(const char* error);
  void Release();
  void GiveUp(GiveUpReason reason);
  // Moves p out of the queue into the graveyard (alive until the entry point returns).
  void Bury(Pending* p);
  Pending* FirstAwaitingResponse();

  H1ExchangeSink* const sink_;
  const ObserverLimits limits_;
  bool is_dead_ = false;
  bool is_h2c_ = false;
  uint64_t now_ns_ = 0;
  std::vector<std::unique_ptr<Pending>> queue_;
  std::vector<std::unique_ptr<Pending>> graveyard_;
  uint32_t seq_ = 0;

  Side req_side_ = Side::kHead;
  HeadReader req_head_;
  BodyReader req_body_;
  Pending* req_current_ = nullptr;
  bool has_req_start_ = false;
  uint64_t req_start_ns_ = 0;
  Pending* held_by_ = nullptr;
  std::vector<std::string> held_;
  size_t held_bytes_ = 0;

  Side rsp_side_ = Side::kHead;
  HeadReader rsp_head_;
  BodyReader rsp_body_;
  Pending* rsp_current_ = nullptr;

  std::string h2c_client_bytes_;
  size_t h2c_server_from_ = 0;
};

}  // namespace meshtap
