// flock/funlock and the close-on-exec flag of a descriptor.
#include "errors.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>

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

static void Funlock(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0, "fd");
  std::string label = StringArg(info, 1, "label");
  if (flock(fd, LOCK_UN) == -1) throw SysError(info.Env(), "flock", label, errno, true);
}

static void SetFdFlag(const Napi::CallbackInfo& info, bool cloexec) {
  int fd = FdArg(info, 0, "fd");
  int flags = fcntl(fd, F_GETFD);
  if (flags == -1) throw SysError(info.Env(), "fcntl", std::to_string(fd), errno);
  flags = cloexec ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
  if (fcntl(fd, F_SETFD, flags) == -1) throw SysError(info.Env(), "fcntl", std::to_string(fd), errno);
}

static void ClearCloexec(const Napi::CallbackInfo& info) { SetFdFlag(info, false); }
static void SetCloexec(const Napi::CallbackInfo& info) { SetFdFlag(info, true); }

void InitFd(Napi::Env env, Napi::Object exports) {
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("funlock", Napi::Function::New(env, Funlock, "funlock"));
  exports.Set("clearCloexec", Napi::Function::New(env, ClearCloexec, "clearCloexec"));
  exports.Set("setCloexec", Napi::Function::New(env, SetCloexec, "setCloexec"));
}

}  // namespace srs
