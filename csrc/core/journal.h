/*
 * journal.h: a durable append-only file of lines (JSON lines in practice),
 * for the guard's audit log and the migration journal.
 *
 * Writer. es_journal_open() opens (creating, mode 0600) with O_WRONLY |
 * O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, refuses anything but a regular
 * file (a FIFO, a device or a directory is ES_ENOTREG at once: never a hang),
 * then clears O_NONBLOCK and takes a non-blocking flock(): exclusive by
 * default, so two writers, also two in one process, can never share a file
 * (the second gets ES_ELOCKED); shared with ES_JOURNAL_SHARED, for logs that
 * several processes append to (the audit log), which still keeps exclusive
 * writers out. es_journal_append() writes one line and its '\n' in one
 * write() (short writes and EINTR are continued), then fdatasync()s when the
 * journal was opened with ES_JOURNAL_SYNC. A line must not contain '\n'.
 *
 * A failed write can leave part of a line behind. An exclusive writer then
 * truncates the file back to where the line began; if it cannot (or a shared
 * writer, which must not cut other writers' lines), the journal is broken:
 * every later append fails with ES_EIO, so no line is ever glued onto a
 * fragment. Readers tolerate a torn last line.
 *
 * Reader. es_journal_read() returns the complete lines of a file and says
 * whether it ended in a torn line (bytes after the last '\n'), within a size
 * limit. It takes no lock: it may run while a writer appends.
 *
 * Errors: ES_EIO (open, write, sync, read or lock failure other than
 * contention; the message names the path and the system's reason),
 * ES_ELOCKED, ES_ENOTREG, ES_EFILETOOBIG (read over the limit), ES_ENOTFOUND
 * (read of a missing file), ES_EINVAL (a line with '\n', NULL arguments),
 * ES_ECLOSED, ES_ENOMEM.
 */
#ifndef ES_JOURNAL_H
#define ES_JOURNAL_H

#include <stddef.h>
#include <sys/types.h>

#include "es_buf.h"
#include "es_error.h"

#define ES_JOURNAL_SYNC   0x01u   /* fdatasync after every line */
#define ES_JOURNAL_SHARED 0x02u   /* shared lock: other shared writers may append too */

struct es_journal;

/* write(2)'s shape: the journal writes through one of these (tests inject
   failures, short writes and EINTR). */
typedef ssize_t (*es_write_fn)(int fd, const void *buf, size_t n);

/* Open path for appending. On failure returns NULL, with the code and a
   message naming the path in *err (when not NULL). */
struct es_journal *es_journal_open(const char *path, unsigned flags, struct es_error_info *err);

/* Append line[0..len) and '\n' (len may be 0). ES_OK, ES_EINVAL (a '\n' in
   the line), ES_EIO, ES_ECLOSED or ES_ENOMEM. */
int es_journal_append(struct es_journal *j, const char *line, size_t len);

/* fdatasync now (whatever ES_JOURNAL_SYNC says). ES_OK or ES_EIO. */
int es_journal_sync(struct es_journal *j);

/* The errno of the last failed append or sync (0 if none), for messages. */
int es_journal_errno(const struct es_journal *j);

/* The path given to es_journal_open (owned by the journal). */
const char *es_journal_path(const struct es_journal *j);

/* Unlock, close and free; NULL is accepted. Returns ES_OK, or ES_EIO when
   close() reported an error (the journal is freed all the same). */
int es_journal_close(struct es_journal *j);

/* Write all of buf[0..n) to fd with fn (NULL: write(2)), continuing after
   short writes and EINTR. Returns ES_OK, or ES_EIO with errno set; *written
   (optional) receives the bytes that did reach the file. */
int es_write_all(int fd, const void *buf, size_t n, es_write_fn fn, size_t *written);

/* Test seam: route this journal's writes through fn (NULL: write(2)). */
void es_journal_set_write_fn(struct es_journal *j, es_write_fn fn);

/* ---- reading ---------------------------------------------------------------- */

struct es_journal_line {
  size_t off;                   /* into es_journal_contents.data.data */
  size_t len;                   /* without the '\n' */
};

struct es_journal_contents {
  struct es_buf data;           /* the file's bytes (NUL-terminated buffer) */
  struct es_journal_line *lines;
  size_t n_lines;
  int torn;                     /* 1: the file ends with bytes after the last '\n' */
  size_t torn_bytes;            /* how many (they are not in lines) */
};

/* Read path (at most max_bytes; 0 means no limit) into *out. Returns ES_OK,
   ES_ENOTFOUND, ES_ENOTREG, ES_EFILETOOBIG, ES_EIO or ES_ENOMEM, with a
   message in *err (when not NULL). out is always safe to pass to
   es_journal_contents_free. */
int es_journal_read(const char *path, size_t max_bytes, struct es_journal_contents *out,
                    struct es_error_info *err);

/* Split data[0..len) into lines (the reader's parsing, for callers that hold
   the bytes already, and for the fuzzer). out->data is left empty. */
int es_journal_parse(const char *data, size_t len, struct es_journal_contents *out);

void es_journal_contents_free(struct es_journal_contents *c);

#endif
