/*
 * term.h: what a command-line host needs from the terminal and from signals.
 *
 * The CLI decides between a table for people and JSON for programs by
 * whether stdout is a terminal, draws a progress line only when stderr is
 * one, and turns Ctrl-C into "stop starting new work, then exit 130".
 *
 * Signals are process-wide by nature, so the watch state here is the one
 * deliberate process global of the core: a counter per watched signal,
 * written only by the handler (sig_atomic_t) and read by the host's loop.
 * Nothing else in the core installs handlers; a library user that never
 * calls es_sigwatch_install() sees no change in signal behaviour.
 */
#ifndef ES_TERM_H
#define ES_TERM_H

/* 1 if fd refers to a terminal, else 0. */
int es_term_isatty(int fd);

/* Columns of the terminal on fd, or 0 when fd is not a terminal or the
   size is unknown. */
int es_term_columns(int fd);

/* Watch signum (SIGINT, SIGTERM, SIGHUP or SIGXFSZ; others are ES_EINVAL): each
   delivery increments its counter. When exit_after > 0, the exit_after-th
   delivery ends the process at once with _exit(128 + signum) (a second
   Ctrl-C must stop a tool that is draining in-flight work). The handler is
   installed without SA_RESTART so a blocking call returns EINTR and the host
   loop gets to look at the counter. Watching SIGXFSZ (exit_after 0) turns a
   write past RLIMIT_FSIZE from a silent kill into EFBIG, so a full journal
   is an error the tool reports. Returns ES_OK or ES_EINVAL. */
int es_sigwatch_install(int signum, int exit_after);

/* Deliveries of signum since it was installed or last reset. */
int es_sigwatch_count(int signum);

/* Zero the counter of signum. */
void es_sigwatch_reset(int signum);

/* Restore the default disposition of signum and forget its counter. */
void es_sigwatch_uninstall(int signum);

#endif
