// srs native addon: shared helpers. Every failed system call becomes a JS Error whose message
// names the call, its argument and the errno name: "flock(objs/srs.pid): EWOULDBLOCK", with
// .code (errno name), .errno (the positive system errno) and .syscall.
#ifndef SRS_NATIVE_ERRORS_H
#define SRS_NATIVE_ERRORS_H

#include <napi.h>
#include <string>

namespace srs {

// The errno name ("ENOENT"); EAGAIN is spelled EWOULDBLOCK for calls documented that way (flock).
const char* ErrnoName(int err, bool wouldblock = false);

// Builds the error for a failed call; throw it at once: `throw srs::SysError(env, "open", path, errno)`.
Napi::Error SysError(Napi::Env env, const char* syscall, const std::string& arg, int err,
                     bool wouldblock = false);

// Argument helpers: throw a TypeError naming the argument when it has the wrong type.
std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* name);
int FdArg(const Napi::CallbackInfo& info, size_t i, const char* name);

void InitDaemonize(Napi::Env env, Napi::Object exports);
void InitFd(Napi::Env env, Napi::Object exports);
void InitNotify(Napi::Env env, Napi::Object exports);
void InitInotify(Napi::Env env, Napi::Object exports);

}  // namespace srs

#endif
