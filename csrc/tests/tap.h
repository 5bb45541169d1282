/*
 * tap.h: a minimal TAP producer for the C unit tests (header-only).
 * Each test binary prints "ok N - name" / "not ok N - name" lines and a plan
 * at the end; tools/run-suites counts them for the closing summary line.
 */
#ifndef ES_TAP_H
#define ES_TAP_H

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int tap_count;
static int tap_failed;

static int tap_okv(int cond, const char *fmt, va_list ap)
{
  tap_count++;
  if(!cond)
    tap_failed++;
  printf("%sok %d - ", cond ? "" : "not ", tap_count);
  vprintf(fmt, ap);
  printf("\n");
  fflush(stdout);
  return cond;
}

static int ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3), unused));
static int ok(int cond, const char *fmt, ...)
{
  va_list ap;
  int r;
  va_start(ap, fmt);
  r = tap_okv(cond, fmt, ap);
  va_end(ap);
  return r;
}

/* Compare two strings; on mismatch print both as TAP diagnostics. */
static int is_str(const char *got, const char *want, const char *fmt, ...)
  __attribute__((format(printf, 3, 4), unused));
static int is_str(const char *got, const char *want, const char *fmt, ...)
{
  va_list ap;
  int cond = got && want && strcmp(got, want) == 0;
  int r;
  va_start(ap, fmt);
  r = tap_okv(cond, fmt, ap);
  va_end(ap);
  if(!cond)
    printf("#   got:  '%s'\n#   want: '%s'\n", got ? got : "(null)", want ? want : "(null)");
  return r;
}

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static void diag(const char *fmt, ...)
{
  va_list ap;
  printf("# ");
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
}

/* A hang detector for tests of code that must never block: after `seconds`,
   SIGALRM prints a failing test line and ends the program (exit 1). Not a
   timing assertion: the bound is far beyond any honest run. arm 0 disarms. */
static void tap_watchdog_fired(int sig)
{
  static const char msg[] = "not ok - watchdog: the test blocked (hang)\n";
  (void)sig;
  if(write(1, msg, sizeof(msg) - 1) < 0)
    _exit(2);
  _exit(1);
}

static void tap_watchdog(unsigned seconds) __attribute__((unused));
static void tap_watchdog(unsigned seconds)
{
  signal(SIGALRM, tap_watchdog_fired);
  alarm(seconds);
}

/* Print the plan and return the process exit status. */
static int done_testing(void) __attribute__((unused));
static int done_testing(void)
{
  printf("1..%d\n", tap_count);
  return tap_failed ? 1 : 0;
}

#endif
