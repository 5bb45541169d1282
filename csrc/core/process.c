/* process.c: run a helper with a deadline and an output cap (see process.h). */
#include "process.h"
#include "es_buf.h"
#include "es_error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Bytes asked of read() at a time. */
#define READ_CHUNK ((size_t)65536)
/* Longest sleep between two checks whether the child has ended. */
#define WAIT_STEP_MAX_MS 20L

static long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms)
{
  struct timespec ts;
  ts.tv_sec = (time_t)(ms / 1000);
  ts.tv_nsec = (ms % 1000) * 1000000L;
  while(nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

static void set_err(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *buf, size_t len, const char *fmt, ...)
{
  va_list ap;
  if(!buf || !len)
    return;
  va_start(ap, fmt);
  vsnprintf(buf, len, fmt, ap);
  va_end(ap);
}

static void close_fd(int *fd)
{
  if(*fd >= 0) {
    close(*fd);
    *fd = -1;
  }
}

/* Has the child ended? Asked without reaping it (WNOWAIT): until it is reaped
   its pid, and so its process group id, cannot be reused, which keeps a later
   kill(-pid, ...) aimed at our group only. ECHILD (SIGCHLD ignored, so the
   kernel reaped it) counts as ended. */
static int child_ended(pid_t pid)
{
  siginfo_t si;
  int rc;
  memset(&si, 0, sizeof(si));
  do
    rc = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
  while(rc < 0 && errno == EINTR);
  if(rc < 0)
    return 1;
  return si.si_pid == pid;
}

/* Wait until the child ends (1) or the deadline passes (0). */
static int wait_end(pid_t pid, long deadline)
{
  long step = 1;
  for(;;) {
    long left;
    if(child_ended(pid))
      return 1;
    left = deadline - now_ms();
    if(left <= 0)
      return 0;
    sleep_ms(step < left ? step : left);
    if(step < WAIT_STEP_MAX_MS)
      step *= 2;
  }
}

/* Collect the child's status: 0, or -1 when it cannot be had (ECHILD). */
static int reap(pid_t pid, int *status)
{
  pid_t w;
  do
    w = waitpid(pid, status, 0);
  while(w < 0 && errno == EINTR);
  return w == pid ? 0 : -1;
}

/* SIGTERM to the group, SIGKILL after the grace period (to the whole group
   even when the leader left: what it started may still run), then reap. */
static void kill_group_and_reap(pid_t pid, long grace_ms)
{
  int status;
  kill(-pid, SIGTERM);
  wait_end(pid, now_ms() + grace_ms);
  kill(-pid, SIGKILL);
  reap(pid, &status);
}

/* Start argv with stdout/stderr on the write ends out_w / err_w. */
static int spawn(const char *const *argv, const struct es_proc_opts *o, int out_w, int err_w,
                 pid_t *pid)
{
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t mask, def;
  char *const *av = (char *const *)argv;
  char *const *ev = o && o->envp ? (char *const *)o->envp : environ;
  int rc;

  if((rc = posix_spawn_file_actions_init(&fa)) != 0)
    return rc;
  if((rc = posix_spawnattr_init(&at)) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    return rc;
  }
  if(!(o && o->inherit_stdin))
    rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if(!rc)
    rc = posix_spawn_file_actions_adddup2(&fa, out_w, 1);
  if(!rc)
    rc = posix_spawn_file_actions_adddup2(&fa, err_w, 2);
#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 34)
  /* Descriptors other libraries opened without O_CLOEXEC stay ours. */
  if(!rc)
    rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
#endif
  sigemptyset(&mask);
  sigfillset(&def);
  sigdelset(&def, SIGKILL);
  sigdelset(&def, SIGSTOP);
  if(!rc)
    rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
  if(!rc)
    rc = posix_spawnattr_setpgroup(&at, 0);
  if(!rc)
    rc = posix_spawnattr_setsigmask(&at, &mask);
  if(!rc)
    rc = posix_spawnattr_setsigdefault(&at, &def);
  if(!rc) {
    if(o && o->search_path)
      rc = posix_spawnp(pid, argv[0], &fa, &at, av, ev);
    else
      rc = posix_spawn(pid, argv[0], &fa, &at, av, ev);
  }
  posix_spawnattr_destroy(&at);
  posix_spawn_file_actions_destroy(&fa);
  return rc;
}

/* One read from a readable pipe into b. Closes *fd at EOF. */
static int drain(int *fd, struct es_buf *b, size_t max_output, int *sys_errno)
{
  size_t want = max_output + 1 - b->len;
  ssize_t n;
  int rc;
  if(want > READ_CHUNK)
    want = READ_CHUNK;
  rc = es_buf_reserve_secret(b, want);
  if(rc)
    return rc;
  n = read(*fd, b->data + b->len, want);
  if(n < 0) {
    if(errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
      return ES_OK;
    *sys_errno = errno;
    return ES_EIO;
  }
  if(n == 0) {
    close_fd(fd);
    return ES_OK;
  }
  b->len += (size_t)n;
  b->data[b->len] = '\0';
  return b->len > max_output ? ES_ETOOBIG : ES_OK;
}

/* Drain both pipes until both close, the deadline passes or a cap is hit. */
static int collect(int fds[2], struct es_buf *bufs[2], size_t max_output, long deadline,
                   int *sys_errno)
{
  while(fds[0] >= 0 || fds[1] >= 0) {
    struct pollfd pf[2];
    int which[2];
    nfds_t n = 0, i;
    long left = deadline - now_ms();
    int pr;
    if(left <= 0)
      return ES_ETIMEOUT;
    for(i = 0; i < 2; i++) {
      if(fds[i] >= 0) {
        pf[n].fd = fds[i];
        pf[n].events = POLLIN;
        pf[n].revents = 0;
        which[n++] = (int)i;
      }
    }
    pr = poll(pf, n, left > INT_MAX ? INT_MAX : (int)left);
    if(pr < 0) {
      if(errno == EINTR)
        continue;
      *sys_errno = errno;
      return ES_EIO;
    }
    for(i = 0; i < n; i++) {
      if(pf[i].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
        int rc = drain(&fds[which[i]], bufs[which[i]], max_output, sys_errno);
        if(rc)
          return rc;
      }
    }
  }
  return ES_OK;
}

static int make_pipe(int p[2])
{
  int flags;
  if(pipe2(p, O_CLOEXEC) != 0)
    return -1;
  /* Non-blocking on our read end only: the write end becomes the child's
     stdout or stderr, and a helper expects blocking writes there. */
  flags = fcntl(p[0], F_GETFL);
  if(flags < 0 || fcntl(p[0], F_SETFL, flags | O_NONBLOCK) != 0) {
    close_fd(&p[0]);
    close_fd(&p[1]);
    return -1;
  }
  return 0;
}

int es_proc_run(const char *const *argv, const struct es_proc_opts *opts,
                struct es_proc_result *r, char *errbuf, size_t errlen)
{
  long timeout = opts && opts->timeout_ms ? opts->timeout_ms : ES_PROC_DEFAULT_TIMEOUT_MS;
  long grace = opts && opts->kill_grace_ms > 0 ? opts->kill_grace_ms : ES_PROC_DEFAULT_GRACE_MS;
  size_t max_output = opts && opts->max_output ? opts->max_output : ES_PROC_DEFAULT_MAX_OUTPUT;
  struct es_buf out = ES_BUF_INIT, err = ES_BUF_INIT;
  struct es_buf *bufs[2];
  int outp[2] = {-1, -1}, errp[2] = {-1, -1};
  int fds[2];
  int rc, sys_errno = 0, status = 0;
  long deadline;
  pid_t pid;

  if(errbuf && errlen)
    errbuf[0] = '\0';
  if(!argv || !argv[0] || !r || timeout < 0 || max_output >= (size_t)-1 / 2)
    return ES_EINVAL;
  memset(r, 0, sizeof(*r));
  deadline = now_ms() + timeout;

  if(make_pipe(outp) != 0 || make_pipe(errp) != 0) {
    set_err(errbuf, errlen, "cannot create a pipe: %s", strerror(errno));
    close_fd(&outp[0]);
    close_fd(&outp[1]);
    return ES_EIO;
  }
  rc = spawn(argv, opts, outp[1], errp[1], &pid);
  close_fd(&outp[1]);
  close_fd(&errp[1]);
  if(rc != 0) {
    close_fd(&outp[0]);
    close_fd(&errp[0]);
    set_err(errbuf, errlen, "cannot run %s: %s", argv[0], strerror(rc));
    return rc == ENOENT ? ES_ENOTFOUND : ES_EIO;
  }

  fds[0] = outp[0];
  fds[1] = errp[0];
  bufs[0] = &out;
  bufs[1] = &err;
  rc = collect(fds, bufs, max_output, deadline, &sys_errno);
  close_fd(&fds[0]);
  close_fd(&fds[1]);
  /* Both pipes closed: the child may still be running (it closed them, or
     handed them to nobody); it has until the deadline to end. */
  if(rc == ES_OK && !wait_end(pid, deadline))
    rc = ES_ETIMEOUT;
  if(rc != ES_OK) {
    const char *stream = out.len > max_output ? "stdout" : "stderr";
    kill_group_and_reap(pid, grace);
    es_buf_wipe_free(&out);
    es_buf_wipe_free(&err);
    if(rc == ES_ETIMEOUT)
      set_err(errbuf, errlen, "the process did not finish within %ld ms (killed)", timeout);
    else if(rc == ES_ETOOBIG)
      set_err(errbuf, errlen, "the process wrote more than %zu bytes to %s (killed)", max_output,
              stream);
    else if(rc == ES_EIO)
      set_err(errbuf, errlen, "reading the output of the process failed: %s", strerror(sys_errno));
    else
      set_err(errbuf, errlen, "running the process: %s", es_strerror(rc));
    return rc;
  }
  if(reap(pid, &status) != 0) {
    es_buf_wipe_free(&out);
    es_buf_wipe_free(&err);
    set_err(errbuf, errlen, "the exit status of the process is not available (is SIGCHLD ignored?)");
    return ES_EIO;
  }
  if(WIFSIGNALED(status))
    r->term_signal = WTERMSIG(status);
  else
    r->exit_code = WEXITSTATUS(status);
  /* An empty stream still yields a (NUL-terminated) string. */
  if((!out.data && es_buf_reserve_secret(&out, 0)) || (!err.data && es_buf_reserve_secret(&err, 0))) {
    es_buf_wipe_free(&out);
    es_buf_wipe_free(&err);
    return ES_ENOMEM;
  }
  r->out = out.data;
  r->out_len = out.len;
  r->err = err.data;
  r->err_len = err.len;
  return ES_OK;
}

void es_proc_result_free(struct es_proc_result *r)
{
  struct es_buf b = ES_BUF_INIT;
  if(!r)
    return;
  b.data = r->out;
  b.len = r->out_len;
  b.cap = r->out ? r->out_len + 1 : 0;
  es_buf_wipe_free(&b);
  b.data = r->err;
  b.len = r->err_len;
  b.cap = r->err ? r->err_len + 1 : 0;
  es_buf_wipe_free(&b);
  r->out = r->err = NULL;
  r->out_len = r->err_len = 0;
}
