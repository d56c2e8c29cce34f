// daemonize: fork-exec a daemon; the calling Node process never forks-and-continues
// (a forked Node process loses its threads with their locks held: nodejs/node#28920).
//
// Everything is prepared before the first fork (pipe, /dev/null, the log, argv/envp, the fd
// limit); between fork and execve only async-signal-safe calls: no malloc, no C++, no JS.
//   parent:      fork; waitpid(middle); read the first record from the pipe; return it.
//   middle:      setsid; _Fork; _exit(0).
//   grandchild:  write "P<pid>\n"; dup2 the pipe to readyFd, /dev/null to 0, the log to 1 and 2;
//                close every other fd; default signal dispositions, empty mask; chdir; execve.
//
// The readiness pipe carries one-line text records:
//   "P<pid>\n"              first, from the daemon itself, so no record can come before it
//   "E<syscall> <errno>\n"  setsid/fork failed in the middle child (daemonize() throws it), or a
//                           call failed in the daemon before execve (e.g. "Eexecve 2"); then _exit(127)
// After a successful execve the pipe is the daemon's fd readyFd and the protocol is the caller's
// ("READY ..." / "ERROR ..." lines, then close); EOF means every write end is closed.
#include "errors.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

namespace srs {

namespace {

// What the children need, all of it allocated before the first fork.
struct Plan {
  const char* file;
  const char* cwd;
  char* const* argv;
  char* const* envp;
  int pipeW;    // write end of the readiness pipe, above readyFd
  int devnull;  // above readyFd
  int out;      // the log or /dev/null, above readyFd
  int readyFd;
  unsigned long maxFd;  // RLIMIT_NOFILE, for the close() loop when close_range is missing
};

// ---- async-signal-safe helpers (used between fork and execve) ----

void WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w == -1 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Appends the decimal digits of v at out; returns the number of chars written.
size_t FormatUint(char* out, unsigned long v) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  return n;
}

// "E<syscall> <errno>\n" to fd, then _exit(127).
[[noreturn]] void Fail(int fd, const char* syscall) {
  int err = errno;
  char rec[64];
  size_t n = 0;
  rec[n++] = 'E';
  for (const char* s = syscall; *s != '\0' && n < 40; s++) rec[n++] = *s;
  rec[n++] = ' ';
  n += FormatUint(rec + n, static_cast<unsigned long>(err));
  rec[n++] = '\n';
  WriteAll(fd, rec, n);
  _exit(127);
}

void CloseFrom(int lo, int hi, unsigned long maxFd) {
  if (lo > hi) return;
  if (close_range(static_cast<unsigned>(lo), static_cast<unsigned>(hi), 0) == 0) return;
  for (unsigned long fd = static_cast<unsigned long>(lo); fd <= static_cast<unsigned long>(hi) && fd < maxFd; fd++)
    close(static_cast<int>(fd));
}

[[noreturn]] void RunDaemon(const Plan& p) {
  char rec[32];
  size_t n = 0;
  rec[n++] = 'P';
  n += FormatUint(rec + n, static_cast<unsigned long>(getpid()));
  rec[n++] = '\n';
  WriteAll(p.pipeW, rec, n);

  if (dup2(p.pipeW, p.readyFd) == -1) Fail(p.pipeW, "dup2");  // dup2 clears FD_CLOEXEC
  if (dup2(p.devnull, 0) == -1) Fail(p.readyFd, "dup2");
  if (dup2(p.out, 1) == -1) Fail(p.readyFd, "dup2");
  if (dup2(p.out, 2) == -1) Fail(p.readyFd, "dup2");
  CloseFrom(3, p.readyFd - 1, p.maxFd);
  CloseFrom(p.readyFd + 1, ~0U >> 1, p.maxFd);

  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &sa, nullptr);  // EINVAL for glibc's own: ignore
  }
  sigset_t empty;
  sigemptyset(&empty);
  if (sigprocmask(SIG_SETMASK, &empty, nullptr) == -1) Fail(p.readyFd, "sigprocmask");

  if (chdir(p.cwd) == -1) Fail(p.readyFd, "chdir");
  execve(p.file, p.argv, p.envp);
  Fail(p.readyFd, "execve");
}

[[noreturn]] void RunMiddle(const Plan& p) {
  if (setsid() == -1) Fail(p.pipeW, "setsid");
  pid_t pid = _Fork();  // async-signal-safe fork: no atfork handlers
  if (pid == -1) Fail(p.pipeW, "fork");
  if (pid == 0) RunDaemon(p);
  _exit(0);
}

// ---- the parent side ----

// Closes the fds it holds when the scope ends.
struct Fds {
  std::vector<int> fds;
  int Keep(int fd) {
    fds.push_back(fd);
    return fd;
  }
  ~Fds() {
    for (int fd : fds) close(fd);
  }
};

// Moves fd above `floor` (so the children's dup2 targets never collide with it), keeping O_CLOEXEC.
int Above(Napi::Env env, Fds& fds, int fd, int floor, const std::string& what) {
  if (fd > floor) return fds.Keep(fd);
  int high = fcntl(fd, F_DUPFD_CLOEXEC, floor + 1);
  int err = errno;
  close(fd);
  if (high == -1) throw SysError(env, "fcntl", what, err);
  return fds.Keep(high);
}

std::vector<std::string> StringArray(Napi::Env env, Napi::Object opts, const char* name) {
  Napi::Value v = opts.Get(name);
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string("opts.") + name + " must be an array of strings");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsString()) throw Napi::TypeError::New(env, std::string("opts.") + name + " must be an array of strings");
    out.push_back(e.As<Napi::String>().Utf8Value());
    if (out.back().find('\0') != std::string::npos)
      throw Napi::TypeError::New(env, std::string("opts.") + name + " must not contain NUL");
  }
  return out;
}

std::string StringOpt(Napi::Env env, Napi::Object opts, const char* name) {
  Napi::Value v = opts.Get(name);
  if (!v.IsString()) throw Napi::TypeError::New(env, std::string("opts.") + name + " must be a string");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.empty() || s.find('\0') != std::string::npos)
    throw Napi::TypeError::New(env, std::string("opts.") + name + " must be a non-empty string without NUL");
  return s;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Reads one "...\n" record byte by byte, so what follows stays in the pipe for the caller.
std::string ReadRecord(int fd) {
  std::string rec;
  char c;
  while (rec.size() < 128) {
    ssize_t n = read(fd, &c, 1);
    if (n == -1 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    rec.push_back(c);
  }
  return rec;
}

}  // namespace

// daemonize({ file, argv, env, cwd, stdout, readyFd }) -> { pid, readFd }
static Napi::Value Daemonize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "opts must be an object");
  Napi::Object opts = info[0].As<Napi::Object>();
  std::string file = StringOpt(env, opts, "file");
  std::string cwd = StringOpt(env, opts, "cwd");
  std::vector<std::string> args = StringArray(env, opts, "argv");
  std::vector<std::string> envs = StringArray(env, opts, "env");
  if (args.empty()) throw Napi::TypeError::New(env, "opts.argv must hold argv[0]");
  Napi::Value stdoutOpt = opts.Get("stdout");
  if (!stdoutOpt.IsNull() && !stdoutOpt.IsString()) throw Napi::TypeError::New(env, "opts.stdout must be a string or null");
  std::string stdoutPath = stdoutOpt.IsString() ? stdoutOpt.As<Napi::String>().Utf8Value() : "";
  int readyFd = 3;
  Napi::Value readyOpt = opts.Get("readyFd");
  if (!readyOpt.IsUndefined()) {
    double d = readyOpt.IsNumber() ? readyOpt.As<Napi::Number>().DoubleValue() : -1;
    if (d != static_cast<int>(d) || d < 3) throw Napi::TypeError::New(env, "opts.readyFd must be an integer >= 3");
    readyFd = static_cast<int>(d);
  }
  std::vector<char*> argv = Pointers(args);
  std::vector<char*> envp = Pointers(envs);

  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == -1) throw SysError(env, "getrlimit", "RLIMIT_NOFILE", errno);
  unsigned long maxFd = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1UL << 20) ? (1UL << 20) : rl.rlim_cur;

  Fds fds;  // closed in the parent when this function returns or throws
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) == -1) throw SysError(env, "pipe2", "", errno);
  int readFd = pipefd[0];
  Fds readGuard;
  readGuard.Keep(readFd);
  int pipeW = Above(env, fds, pipefd[1], readyFd, "pipe");
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull == -1) throw SysError(env, "open", "/dev/null", errno);
  devnull = Above(env, fds, devnull, readyFd, "/dev/null");
  int out = devnull;
  if (!stdoutPath.empty()) {
    out = open(stdoutPath.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (out == -1) throw SysError(env, "open", stdoutPath, errno);
    out = Above(env, fds, out, readyFd, stdoutPath);
  }
  Plan plan = {file.c_str(), cwd.c_str(), argv.data(), envp.data(), pipeW, devnull, out, readyFd, maxFd};

  // Block every signal across fork so no handler of this process runs in the child before
  // the daemon resets dispositions; the parent's mask is restored right after.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t middle = fork();
  int forkErr = errno;
  if (middle == 0) RunMiddle(plan);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (middle == -1) throw SysError(env, "fork", "", forkErr);

  int status;
  pid_t w;
  do w = waitpid(middle, &status, 0);
  while (w == -1 && errno == EINTR);
  if (w == -1) throw SysError(env, "waitpid", std::to_string(middle), errno);
  for (int fd : fds.fds) close(fd);  // the write end must be closed for EOF to mean "all gone"
  fds.fds.clear();

  std::string rec = ReadRecord(readFd);
  if (rec.size() > 1 && rec[0] == 'P') {
    readGuard.fds.clear();  // the caller owns readFd now
    Napi::Object result = Napi::Object::New(env);
    result.Set("pid", Napi::Number::New(env, std::atoi(rec.c_str() + 1)));
    result.Set("readFd", Napi::Number::New(env, readFd));
    return result;
  }
  size_t sp = rec.find(' ');
  if (rec.size() > 1 && rec[0] == 'E' && sp != std::string::npos)
    throw SysError(env, rec.substr(1, sp - 1).c_str(), "", std::atoi(rec.c_str() + sp + 1));
  throw Napi::Error::New(env, "daemonize: no pid record from the daemon (got \"" + rec + "\")");
}

void InitDaemonize(Napi::Env env, Napi::Object exports) {
  exports.Set("daemonize", Napi::Function::New(env, Daemonize, "daemonize"));
}

}  // namespace srs
