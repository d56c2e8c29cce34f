// flock on the pid file, and dup2 so a reopened log takes over the daemon's fds 1 and 2.
#include "errors.h"

#include <errno.h>
#include <sys/file.h>
#include <unistd.h>

namespace srs {

// flock(fd, label, { exclusive, nonBlocking }): label is only for the error message.
static void Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0, "fd");
  std::string label = StringArg(info, 1, "label");
  if (!info[2].IsObject()) throw Napi::TypeError::New(env, "opts must be an object");
  Napi::Object opts = info[2].As<Napi::Object>();
  int op = opts.Get("exclusive").ToBoolean() ? LOCK_EX : LOCK_SH;
  if (opts.Get("nonBlocking").ToBoolean()) op |= LOCK_NB;
  int rc;
  do rc = flock(fd, op); while (rc == -1 && errno == EINTR);
  if (rc == -1) throw SysError(env, "flock", label, errno, true);
}

// dup2(oldFd, newFd): newFd now refers to oldFd's open file; the error names both, "dup2(7, 1)".
static void Dup2(const Napi::CallbackInfo& info) {
  int from = FdArg(info, 0, "oldFd");
  int to = FdArg(info, 1, "newFd");
  int rc;
  do rc = dup2(from, to); while (rc == -1 && errno == EINTR);
  if (rc == -1) throw SysError(info.Env(), "dup2", std::to_string(from) + ", " + std::to_string(to), errno);
}

void InitFd(Napi::Env env, Napi::Object exports) {
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("dup2", Napi::Function::New(env, Dup2, "dup2"));
}

}  // namespace srs
