/*
 * test_process.c: helper processes with a deadline and an output cap
 * (csrc/core/process.c). Witnesses, not timings: every run must return (a
 * watchdog alarm fails the program otherwise), no child may be left unreaped
 * (waitpid(-1) finds none), a killed helper's own children must be gone, and
 * the child must not inherit our descriptors, ignored signals or signal mask.
 */
#include "es_error.h"
#include "process.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static int run_sh(const char *script, const struct es_proc_opts *o, struct es_proc_result *r)
{
  const char *argv[] = {"/bin/sh", "-c", script, NULL};
  char err[256];
  int rc;
  tap_watchdog(60);
  rc = es_proc_run(argv, o, r, err, sizeof(err));
  tap_watchdog(0);
  return rc;
}

/* No child of ours is left, running or zombie. */
static int no_children(void)
{
  int st;
  return waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD;
}

static void test_basics(void)
{
  struct es_proc_result r;
  int rc = run_sh("printf 'out'; printf 'err' >&2; exit 3", NULL, &r);
  ok(rc == ES_OK && r.exit_code == 3 && r.term_signal == 0, "exit status is reported");
  ok(rc == ES_OK && r.out_len == 3 && strcmp(r.out, "out") == 0, "stdout is captured");
  ok(rc == ES_OK && r.err_len == 3 && strcmp(r.err, "err") == 0, "stderr is captured apart");
  es_proc_result_free(&r);

  rc = run_sh("true", NULL, &r);
  ok(rc == ES_OK && r.out && r.out_len == 0 && r.err && r.err_len == 0, "no output gives empty strings");
  es_proc_result_free(&r);

  rc = run_sh("kill -KILL $$", NULL, &r);
  ok(rc == ES_OK && r.term_signal == SIGKILL, "a child killed by a signal reports it");
  es_proc_result_free(&r);

  /* cat would wait on an inherited terminal; the link names what stdin is
     (robust to a machine whose /dev/null was replaced by a regular file). */
  rc = run_sh("cat >/dev/null; readlink /proc/self/fd/0", NULL, &r);
  ok(rc == ES_OK && r.exit_code == 0 && strncmp(r.out, "/dev/null", 9) == 0,
     "stdin is /dev/null: cat ends at once");
  es_proc_result_free(&r);

  {
    struct es_proc_opts o;
    const char *envp[] = {"EKSEGRESS_TEST_VAR=given", NULL};
    memset(&o, 0, sizeof(o));
    o.envp = envp;
    rc = run_sh("printf '%s|%s' \"$EKSEGRESS_TEST_VAR\" \"${HOME:-unset}\"", &o, &r);
    ok(rc == ES_OK && strcmp(r.out, "given|unset") == 0, "envp replaces the environment");
    es_proc_result_free(&r);
  }
  {
    const char *argv[] = {"printf", "%s-%s", "a b", "c", NULL};
    struct es_proc_opts o;
    memset(&o, 0, sizeof(o));
    o.search_path = 1;
    rc = es_proc_run(argv, &o, &r, NULL, 0);
    ok(rc == ES_OK && strcmp(r.out, "a b-c") == 0, "argv runs without a shell, found through PATH");
    es_proc_result_free(&r);
  }
  {
    const char *argv[] = {"eksegress-no-such-program", NULL};
    struct es_proc_opts o;
    char err[256];
    memset(&o, 0, sizeof(o));
    o.search_path = 1;
    rc = es_proc_run(argv, &o, &r, err, sizeof(err));
    /* glibc reports the exec failure from posix_spawnp; where spawn is a plain
       fork (valgrind emulates CLONE_VFORK so), the child exits 127 instead. */
    if(rc == ES_OK) {
      ok(r.exit_code == 127, "a missing program exits 127 where spawn cannot report it");
      es_proc_result_free(&r);
    }
    else
      ok(rc == ES_ENOTFOUND && strstr(err, "eksegress-no-such-program") != NULL,
         "a missing program is ES_ENOTFOUND, named in the message");
  }
  ok(no_children(), "no child left after normal runs");
}

static void test_deadline(void)
{
  struct es_proc_opts o;
  struct es_proc_result r;
  char pidfile[] = "/tmp/es-proc-pid-XXXXXX";
  char script[256];
  int fd, rc;
  memset(&o, 0, sizeof(o));
  o.timeout_ms = 300;

  rc = run_sh("sleep 30", &o, &r);
  ok(rc == ES_ETIMEOUT && r.out == NULL, "a hanging helper is ES_ETIMEOUT");
  ok(no_children(), "the timed-out child was reaped (no zombie)");

  rc = run_sh("printf '{\"Version\":1}'; exec sleep 30", &o, &r);
  ok(rc == ES_ETIMEOUT,
     "regression: a helper that prints credentials and keeps stdout open is a timeout");
  ok(no_children(), "and it was reaped");

  rc = run_sh("trap '' TERM; sleep 30", &o, &r);
  ok(rc == ES_ETIMEOUT && no_children(), "a helper ignoring SIGTERM is killed with SIGKILL and reaped");

  /* The helper leaves while a child it started keeps the pipe open: a timeout,
     and the whole process group goes. */
  fd = mkstemp(pidfile);
  close(fd);
  snprintf(script, sizeof(script), "printf x; sleep 30 & echo $! > %s; exit 0", pidfile);
  /* Long enough for the shell to start the grandchild and write its pid before
     the deadline on a loaded machine (at 300 ms the group could be killed
     first, leaving no pid to check). */
  o.timeout_ms = 2000;
  rc = run_sh(script, &o, &r);
  ok(rc == ES_ETIMEOUT && no_children(), "a grandchild holding stdout open makes a timeout");
  {
    FILE *f = fopen(pidfile, "r");
    long gpid = 0;
    int gone = 0, i;
    if(f) {
      if(fscanf(f, "%ld", &gpid) != 1)
        gpid = 0;
      fclose(f);
    }
    /* It was SIGKILLed; wait (a hang guard of 30 s) for init to reap it. */
    for(i = 0; i < 3000 && gpid > 0 && !gone; i++) {
      if(kill((pid_t)gpid, 0) != 0 && errno == ESRCH)
        gone = 1;
      else
        usleep(10000);
    }
    ok(gpid > 0 && gone, "the grandchild in the helper's process group was killed too");
  }
  unlink(pidfile);
}

static void test_output_cap(void)
{
  struct es_proc_opts o;
  struct es_proc_result r;
  char err[256];
  const char *yes_out[] = {"/bin/sh", "-c", "yes", NULL};
  const char *yes_err[] = {"/bin/sh", "-c", "yes >&2", NULL};
  int rc;
  memset(&o, 0, sizeof(o));
  o.max_output = 1000;
  tap_watchdog(60);
  rc = es_proc_run(yes_out, &o, &r, err, sizeof(err));
  ok(rc == ES_ETOOBIG && strstr(err, "stdout") && strstr(err, "1000"),
     "endless stdout is ES_ETOOBIG, naming the stream and the limit");
  rc = es_proc_run(yes_err, &o, &r, err, sizeof(err));
  ok(rc == ES_ETOOBIG && strstr(err, "stderr"), "endless stderr is ES_ETOOBIG");
  tap_watchdog(0);
  ok(no_children(), "the flooding children were reaped");

  rc = run_sh("head -c 1000 /dev/zero", &o, &r);
  ok(rc == ES_OK && r.out_len == 1000, "exactly max_output bytes is accepted");
  es_proc_result_free(&r);

  memset(&o, 0, sizeof(o));
  rc = run_sh("head -c 700000 /dev/zero | tr '\\0' a", &o, &r);
  ok(rc == ES_OK && r.out_len == 700000 && r.out[699999] == 'a', "700 kB under the default 1 MiB cap");
  es_proc_result_free(&r);
  rc = run_sh("head -c 1048577 /dev/zero", &o, &r);
  ok(rc == ES_ETOOBIG, "1 MiB + 1 byte exceeds the default cap");
}

static void test_isolation(void)
{
  struct es_proc_result r;
  char script[128];
  int fd = open("/dev/null", O_RDONLY);   /* deliberately without O_CLOEXEC */
  int rc;
  snprintf(script, sizeof(script), "if [ -e /proc/self/fd/%d ]; then echo open; else echo closed; fi", fd);
  rc = run_sh(script, NULL, &r);
#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 34)
  ok(rc == ES_OK && strcmp(r.out, "closed\n") == 0, "a descriptor opened without O_CLOEXEC is not inherited");
#else
  ok(rc == ES_OK, "descriptor check skipped (libc without closefrom)");
#endif
#else
  ok(rc == ES_OK, "descriptor check skipped (libc without closefrom)");
#endif
  es_proc_result_free(&r);
  close(fd);

  /* A parent ignoring SIGPIPE must not hand that to the helper. */
  signal(SIGPIPE, SIG_IGN);
  {
    const char *argv[] = {"/bin/cat", "/proc/self/status", NULL};
    const char *line;
    unsigned long long ign = ~0ULL;
    tap_watchdog(60);
    rc = es_proc_run(argv, NULL, &r, NULL, 0);
    tap_watchdog(0);
    line = rc == ES_OK ? strstr(r.out, "SigIgn:") : NULL;
    if(line)
      ign = strtoull(line + 7, NULL, 16);
    ok(line && (ign & (1ULL << (SIGPIPE - 1))) == 0, "the child gets SIGPIPE's default disposition");
    line = rc == ES_OK ? strstr(r.out, "SigBlk:") : NULL;
    ok(line && strtoull(line + 7, NULL, 16) == 0, "the child starts with an empty signal mask");
    es_proc_result_free(&r);
  }
  signal(SIGPIPE, SIG_DFL);
}

static volatile sig_atomic_t ticks;
static volatile int stop_ticking;
static pthread_t main_thread;

static void tick(int sig)
{
  (void)sig;
  ticks++;
}

/* Interrupt the main thread with SIGUSR1 every 5 ms until told to stop. */
static void *ticker(void *arg)
{
  struct timespec ts = {0, 5000000L};
  (void)arg;
  while(!stop_ticking) {
    pthread_kill(main_thread, SIGUSR1);
    nanosleep(&ts, NULL);
  }
  return NULL;
}

static void test_signals(void)
{
  struct sigaction sa;
  struct es_proc_result r;
  pthread_t t;
  int rc;
  /* A signal interrupting the waits (no SA_RESTART): poll, nanosleep and
     waitid fail with EINTR again and again. */
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = tick;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  main_thread = pthread_self();
  stop_ticking = 0;
  if(pthread_create(&t, NULL, ticker, NULL) != 0) {
    ok(0, "pthread_create");
    return;
  }
  rc = run_sh("sleep 0.3; printf done", NULL, &r);
  stop_ticking = 1;
  pthread_join(t, NULL);
  signal(SIGUSR1, SIG_DFL);
  ok(rc == ES_OK && r.out && strcmp(r.out, "done") == 0 && ticks > 0,
     "EINTR from a signal every 5 ms does not break the run (%d signals)", (int)ticks);
  es_proc_result_free(&r);

  /* With SIGCHLD ignored the kernel reaps the child itself: a clear error, no hang. */
  signal(SIGCHLD, SIG_IGN);
  rc = run_sh("printf x", NULL, &r);
  ok(rc == ES_EIO || rc == ES_OK, "SIGCHLD ignored: the run still returns (rc=%d)", rc);
  if(rc == ES_OK)
    es_proc_result_free(&r);
  signal(SIGCHLD, SIG_DFL);
}

static void test_misuse(void)
{
  struct es_proc_result r;
  const char *empty[] = {NULL};
  const char *argv[] = {"/bin/true", NULL};
  struct es_proc_opts o;
  memset(&o, 0, sizeof(o));
  o.timeout_ms = -1;
  ok(es_proc_run(NULL, NULL, &r, NULL, 0) == ES_EINVAL, "NULL argv is ES_EINVAL");
  ok(es_proc_run(empty, NULL, &r, NULL, 0) == ES_EINVAL, "empty argv is ES_EINVAL");
  ok(es_proc_run(argv, NULL, NULL, NULL, 0) == ES_EINVAL, "NULL result is ES_EINVAL");
  ok(es_proc_run(argv, &o, &r, NULL, 0) == ES_EINVAL, "a negative timeout is ES_EINVAL");
  es_proc_result_free(NULL);
  ok(1, "es_proc_result_free(NULL) is a no-op");
}

int main(void)
{
  test_basics();
  test_deadline();
  test_output_cap();
  test_isolation();
  test_signals();
  test_misuse();
  ok(no_children(), "no child of the test is left at the end");
  return done_testing();
}
