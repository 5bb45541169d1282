/* term.c: terminal queries and signal counters for a command-line host. */
#include "term.h"

#include "es_error.h"

#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int es_term_isatty(int fd)
{
  return fd >= 0 && isatty(fd) ? 1 : 0;
}

int es_term_columns(int fd)
{
  struct winsize ws;
  if(!es_term_isatty(fd))
    return 0;
  memset(&ws, 0, sizeof(ws));
  if(ioctl(fd, TIOCGWINSZ, &ws) != 0)
    return 0;
  return (int)ws.ws_col;
}

/* The watched signals. Slots are fixed so the handler needs no lookup
   beyond a switch, and touches only sig_atomic_t objects. */
enum { SLOT_INT, SLOT_TERM, SLOT_HUP, SLOT_XFSZ, SLOTS };

static volatile sig_atomic_t counts[SLOTS];
static volatile sig_atomic_t limits[SLOTS];

static int slot_of(int signum)
{
  switch(signum) {
  case SIGINT: return SLOT_INT;
  case SIGTERM: return SLOT_TERM;
  case SIGHUP: return SLOT_HUP;
  case SIGXFSZ: return SLOT_XFSZ;
  default: return -1;
  }
}

static void on_signal(int signum)
{
  int s = slot_of(signum);
  if(s < 0)
    return;
  counts[s]++;
  if(limits[s] > 0 && counts[s] >= limits[s])
    _exit(128 + signum);       /* async-signal-safe; no atexit, no stdio flush */
}

int es_sigwatch_install(int signum, int exit_after)
{
  struct sigaction sa;
  int s = slot_of(signum);
  if(s < 0 || exit_after < 0)
    return ES_EINVAL;
  counts[s] = 0;
  limits[s] = exit_after;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;             /* no SA_RESTART: blocking calls see EINTR */
  if(sigaction(signum, &sa, NULL) != 0)
    return ES_EINVAL;
  return ES_OK;
}

int es_sigwatch_count(int signum)
{
  int s = slot_of(signum);
  return s < 0 ? 0 : (int)counts[s];
}

void es_sigwatch_reset(int signum)
{
  int s = slot_of(signum);
  if(s >= 0)
    counts[s] = 0;
}

void es_sigwatch_uninstall(int signum)
{
  int s = slot_of(signum);
  if(s < 0)
    return;
  signal(signum, SIG_DFL);
  counts[s] = 0;
  limits[s] = 0;
}
