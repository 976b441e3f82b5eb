// SPDX-License-Identifier: Apache-2.0
// libbpf loader for meshtap's BPF programs. The objects are embedded by their bpftool
// skeletons (native/gen/*.skel.h); each is opened with the scope's pin directory as
// pin_root_path, so the programs of one scope share their maps by pinned name.
// One path per program: open -> load -> attach -> pin link, with one cleanup path.
// Links are pinned because libbpf links vanish when the loader exits otherwise.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "addon.h"
#include "connect4.skel.h"
#include "connect6.skel.h"
#include "getpeername4.skel.h"
#include "getpeername6.skel.h"
#include "getsockopt.skel.h"
#include "sk-lookup.skel.h"
#include "sockops.skel.h"

namespace meshtap {
namespace {

enum class Scope { kCgroup, kNetns };

struct EmbeddedProgram {
  const char* name;
  const void* (*elf_bytes)(size_t* size);
  Scope scope;
};

const EmbeddedProgram kPrograms[] = {
    {"connect4", mt_connect4__elf_bytes, Scope::kCgroup},
    {"connect6", mt_connect6__elf_bytes, Scope::kCgroup},
    {"sockops", mt_sockops__elf_bytes, Scope::kCgroup},
    {"getsockopt", mt_getsockopt__elf_bytes, Scope::kCgroup},
    {"getpeername4", mt_getpeername4__elf_bytes, Scope::kCgroup},
    {"getpeername6", mt_getpeername6__elf_bytes, Scope::kCgroup},
    {"sk-lookup", mt_sk_lookup__elf_bytes, Scope::kNetns},
};

const EmbeddedProgram* FindProgram(const std::string& name) {
  for (const auto& p : kPrograms)
    if (name == p.name) return &p;
  return nullptr;
}

// Owns everything one attach touches; the destructor is the one cleanup path.
struct Attach {
  bpf_object* obj = nullptr;
  bpf_link* link = nullptr;
  int target_fd = -1;
  ~Attach() {
    if (link) bpf_link__destroy(link);  // closes our fd only: the pinned link stays
    if (obj) bpf_object__close(obj);
    if (target_fd >= 0) close(target_fd);
  }
};

// attach(pinDir, targetPath, programName): loads the named program with maps pinned
// under pinDir, attaches it to the cgroup or netns at targetPath and pins the link as
// <pinDir>/link-<programName>. Returns that pin path.
Napi::Value AttachProgram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsString() || !info[2].IsString())
    throw Napi::TypeError::New(env, "attachProgram(pinDir, targetPath, programName)");
  std::string pin_dir = info[0].As<Napi::String>();
  std::string target = info[1].As<Napi::String>();
  std::string name = info[2].As<Napi::String>();
  const EmbeddedProgram* program = FindProgram(name);
  if (!program) throw Napi::Error::New(env, "unknown BPF program '" + name + "'");

  TakeLibbpfLog();
  Attach a;
  size_t size = 0;
  const void* bytes = program->elf_bytes(&size);
  std::string object_name = "mt_" + name;
  for (auto& c : object_name)
    if (c == '-') c = '_';
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = object_name.c_str(), .pin_root_path = pin_dir.c_str());
  a.obj = bpf_object__open_mem(bytes, size, &opts);
  if (!a.obj) ThrowErrno(env, "bpf_object__open(" + name + ")", errno, TakeLibbpfLog());
  int err = bpf_object__load(a.obj);
  if (err) ThrowErrno(env, "bpf_object__load(" + name + ")", -err, TakeLibbpfLog());
  bpf_program* prog = bpf_object__next_program(a.obj, nullptr);
  if (!prog) throw Napi::Error::New(env, "BPF object " + name + " has no program");

  a.target_fd = open(target.c_str(), O_RDONLY | O_CLOEXEC);
  if (a.target_fd < 0) ThrowErrno(env, "open(" + target + ")", errno);
  a.link = program->scope == Scope::kCgroup ? bpf_program__attach_cgroup(prog, a.target_fd)
                                            : bpf_program__attach_netns(prog, a.target_fd);
  if (!a.link) ThrowErrno(env, "attach(" + name + " -> " + target + ")", errno, TakeLibbpfLog());
  std::string link_pin = pin_dir + "/link-" + name;
  err = bpf_link__pin(a.link, link_pin.c_str());
  if (err) ThrowErrno(env, "bpf_link__pin(" + link_pin + ")", -err, TakeLibbpfLog());
  return Napi::String::New(env, link_pin);
}

Napi::Value ProgramNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  for (const auto& p : kPrograms) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", p.name);
    o.Set("scope", p.scope == Scope::kCgroup ? "cgroup" : "netns");
    out.Set(i++, o);
  }
  return out;
}

}  // namespace

void InitBpfLoader(Napi::Env env, Napi::Object exports) {
  exports.Set("attachProgram", Napi::Function::New(env, AttachProgram, "attachProgram"));
  exports.Set("programNames", Napi::Function::New(env, ProgramNames, "programNames"));
}

}  // namespace meshtap
