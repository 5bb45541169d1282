/*
 * process.h: run a helper program with a deadline and an output cap.
 *
 * For credential_process and similar helpers: a program that hangs, or prints
 * credentials and keeps its stdout open, must not stop the caller forever, and
 * one that prints hundreds of megabytes must not exhaust memory.
 *
 * The child is started with posix_spawn in a process group of its own, stdin
 * from /dev/null (or inherited), stdout and stderr on pipes, every other
 * descriptor closed (close-on-exec on ours; closefrom in the child where libc
 * has it), and default signal dispositions and an empty signal mask (a parent
 * that ignores SIGPIPE does not pass that on). Both pipes are drained with
 * poll() against a monotonic deadline. When the deadline passes, or a stream
 * exceeds its cap, the whole process group gets SIGTERM, then SIGKILL after a
 * grace period, and the child is always reaped: no zombie is left behind.
 * A child that exits while something it started still holds a pipe open is
 * waited for until both pipes close or the deadline passes.
 *
 * Every system call is retried on EINTR; no signal handler is installed.
 * The caller's thread blocks for at most timeout_ms + kill_grace_ms (plus the
 * time the kernel needs to deliver SIGKILL).
 */
#ifndef ES_PROCESS_H
#define ES_PROCESS_H

#include <stddef.h>

#define ES_PROC_DEFAULT_TIMEOUT_MS 60000L
#define ES_PROC_DEFAULT_MAX_OUTPUT ((size_t)1 << 20)
#define ES_PROC_DEFAULT_GRACE_MS 250L

struct es_proc_opts {
  long timeout_ms;          /* whole run, > 0 (0: ES_PROC_DEFAULT_TIMEOUT_MS) */
  size_t max_output;        /* per stream, stdout and stderr each (0: default 1 MiB) */
  long kill_grace_ms;       /* SIGTERM to SIGKILL (0: ES_PROC_DEFAULT_GRACE_MS) */
  const char *const *envp;  /* "NAME=value" list ending in NULL; NULL: inherit */
  int search_path;          /* 1: argv[0] is looked up in PATH (posix_spawnp) */
  int inherit_stdin;        /* 1: the child shares our stdin; 0: /dev/null */
};

struct es_proc_result {
  int exit_code;      /* when term_signal == 0 */
  int term_signal;    /* the signal that ended the child, else 0 */
  char *out;          /* stdout, NUL-terminated; free with es_proc_result_free */
  size_t out_len;
  char *err;          /* stderr, NUL-terminated */
  size_t err_len;
};

/*
 * Run argv (argv[0] the program; NULL-terminated) to completion.
 * Returns ES_OK when the child ran and ended by itself (whatever its status; see
 * r->exit_code and r->term_signal), or:
 *   ES_ETIMEOUT  the deadline passed (the group was killed and the child reaped);
 *   ES_ETOOBIG   stdout or stderr exceeded max_output (likewise killed);
 *   ES_ENOTFOUND the program does not exist (search_path or an absolute path);
 *   ES_EIO       pipe, spawn, poll or wait failed (errbuf says which, with strerror);
 *   ES_ENOMEM    out of memory (the child, if started, is killed and reaped);
 *   ES_EINVAL    argv empty, r NULL, timeout_ms < 0.
 * On failure r holds no memory. errbuf (may be NULL) receives a one-line message
 * that never quotes the child's output (stdout may carry credentials).
 * Output buffers are zeroed before release (es_proc_result_free).
 */
int es_proc_run(const char *const *argv, const struct es_proc_opts *opts,
                struct es_proc_result *r, char *errbuf, size_t errlen);

/* Zero and release the output buffers; the struct may be reused. */
void es_proc_result_free(struct es_proc_result *r);

#endif
