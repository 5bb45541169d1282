/*
 * journal.c: the append-only line writer and its reader (see journal.h).
 */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "es_error.h"

struct es_journal {
  int fd;
  unsigned flags;
  int broken;                   /* a fragment may be on disk: no further appends */
  int last_errno;
  es_write_fn write_fn;
  char *path;
  struct es_buf line;           /* the line and its '\n', reused across appends */
};

/* ---- writing ------------------------------------------------------------- */

int es_write_all(int fd, const void *buf, size_t n, es_write_fn fn, size_t *written)
{
  const char *p = buf;
  size_t done = 0;
  if(!fn)
    fn = write;
  while(done < n) {
    ssize_t w = fn(fd, p + done, n - done);
    if(w < 0) {
      if(errno == EINTR)
        continue;
      break;
    }
    if(w == 0) {
      /* write() of a non-zero count returned 0: no progress, never loop on it. */
      errno = EIO;
      break;
    }
    done += (size_t)w;
  }
  if(written)
    *written = done;
  return done == n ? ES_OK : ES_EIO;
}

/* Classify a failed open or a non-regular file: ES_ENOTREG when the path
   exists and is not a regular file (a FIFO with no reader fails the
   non-blocking open with ENXIO; a directory with EISDIR). */
static int open_error(const char *path)
{
  struct stat st;
  if(stat(path, &st) == 0 && !S_ISREG(st.st_mode))
    return ES_ENOTREG;
  return ES_EIO;
}

/* Open a regular file without ever blocking on a FIFO or a device. */
static int open_regular(const char *path, int oflags, int *err, int *sys_errno)
{
  struct stat st;
  int fd, fl;
  do
    fd = open(path, oflags | O_NONBLOCK | O_CLOEXEC, 0600);
  while(fd < 0 && errno == EINTR);
  if(fd < 0) {
    *sys_errno = errno;
    *err = open_error(path);
    if(*err == ES_ENOTREG)
      *sys_errno = 0;
    return -1;
  }
  if(fstat(fd, &st) != 0) {
    *sys_errno = errno;
    *err = ES_EIO;
    close(fd);
    return -1;
  }
  if(!S_ISREG(st.st_mode)) {
    *sys_errno = 0;
    *err = ES_ENOTREG;
    close(fd);
    return -1;
  }
  /* Regular files never block; clear the flag so writes are plain writes. */
  fl = fcntl(fd, F_GETFL);
  if(fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
    *sys_errno = errno;
    *err = ES_EIO;
    close(fd);
    return -1;
  }
  return fd;
}

/* The message for a failed open or read of path. */
static int path_error(struct es_error_info *err, int rc, int e, const char *verb, const char *path)
{
  switch(rc) {
  case ES_ENOTREG:
    return es_error_set(err, rc, 0, "\"%s\" is not a regular file (a FIFO, a device or a directory)",
                        path);
  case ES_ELOCKED:
    return es_error_set(err, rc, 0, "\"%s\" is locked by another writer (in this or another "
                        "process)", path);
  case ES_EFILETOOBIG:
    return es_error_set(err, rc, 0, "\"%s\" is larger than the limit", path);
  case ES_ENOMEM:
    return es_error_set(err, rc, 0, "out of memory");
  case ES_EINVAL:
    return es_error_set(err, rc, 0, "no path given");
  default:
    return es_error_set(err, rc, e, "cannot %s \"%s\"", verb, path);
  }
}

/* Truncate fd back to just after its last '\n' (to 0 when there is none).
   Reads backwards in blocks; the file is held under an exclusive lock. */
static int cut_torn_tail(int fd, int *e)
{
  struct stat st;
  char buf[4096];
  off_t end, pos;
  if(fstat(fd, &st) != 0) {
    *e = errno;
    return -1;
  }
  end = st.st_size;
  pos = end;
  while(pos > 0) {
    size_t want = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
    ssize_t n;
    size_t i;
    pos -= (off_t)want;
    do {
      n = pread(fd, buf, want, pos);
    } while(n < 0 && errno == EINTR);
    if(n != (ssize_t)want) {
      *e = n < 0 ? errno : EIO;
      return -1;
    }
    for(i = want; i > 0; i--) {
      if(buf[i - 1] == '\n') {
        off_t keep = pos + (off_t)i;
        if(keep == end)
          return 0;
        if(ftruncate(fd, keep) != 0) {
          *e = errno;
          return -1;
        }
        return 0;
      }
    }
  }
  if(end > 0 && ftruncate(fd, 0) != 0) {
    *e = errno;
    return -1;
  }
  return 0;
}

struct es_journal *es_journal_open(const char *path, unsigned flags, struct es_error_info *err)
{
  struct es_journal *j;
  int rc = ES_OK, e = 0, fd;

  es_error_set(err, ES_OK, 0, "%s", "");
  if(!path || !*path) {
    path_error(err, ES_EINVAL, 0, "open", "");
    return NULL;
  }
  fd = open_regular(path, O_RDWR | O_APPEND | O_CREAT, &rc, &e);
  if(fd < 0) {
    path_error(err, rc, e, "open", path);
    return NULL;
  }
  /* flock locks belong to the open file description: a second open of the
     same file, in this process or another, is a second writer. */
  if(flock(fd, ((flags & ES_JOURNAL_SHARED) ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    e = errno;
    close(fd);
    path_error(err, (e == EWOULDBLOCK || e == EAGAIN) ? ES_ELOCKED : ES_EIO, e, "lock", path);
    return NULL;
  }
  /* An exclusive writer owns the file: a torn last line (a crash or power
     loss mid-write) is cut off before anything is appended, or the next line
     would be glued to the fragment and both would be lost to readers. A
     shared writer cannot know whether another one is mid-write, so it leaves
     the file alone. */
  if(!(flags & ES_JOURNAL_SHARED) && cut_torn_tail(fd, &e) != 0) {
    close(fd);
    path_error(err, ES_EIO, e, "repair the torn last line of", path);
    return NULL;
  }
  j = calloc(1, sizeof(*j));
  if(j)
    j->path = strdup(path);
  if(!j || !j->path) {
    free(j);
    close(fd);
    path_error(err, ES_ENOMEM, 0, "open", path);
    return NULL;
  }
  j->fd = fd;
  j->flags = flags;
  return j;
}

static int fail_io(struct es_journal *j, int e)
{
  j->last_errno = e ? e : EIO;
  return ES_EIO;
}

int es_journal_append(struct es_journal *j, const char *line, size_t len)
{
  struct stat st;
  off_t before = -1;
  size_t written = 0;
  int rc;

  if(!j)
    return ES_EINVAL;
  if(j->fd < 0)
    return ES_ECLOSED;
  if(len && (!line || memchr(line, '\n', len)))
    return ES_EINVAL;
  if(j->broken)
    return fail_io(j, j->last_errno);
  /* The end of the file before this line, to cut a fragment off again. Only
     an exclusive writer knows nobody else appends after it. */
  if(!(j->flags & ES_JOURNAL_SHARED) && fstat(j->fd, &st) == 0)
    before = st.st_size;
  es_buf_reset(&j->line);
  if(es_buf_append(&j->line, line ? line : "", len) != ES_OK || es_buf_putc(&j->line, '\n') != ES_OK)
    return ES_ENOMEM;
  /* One write() for the whole line: O_APPEND puts it at the end in one piece. */
  rc = es_write_all(j->fd, j->line.data, j->line.len, j->write_fn, &written);
  if(rc != ES_OK) {
    int e = errno;
    if(written > 0 && (before < 0 || ftruncate(j->fd, before) != 0))
      j->broken = 1;
    return fail_io(j, e);
  }
  if((j->flags & ES_JOURNAL_SYNC) && fdatasync(j->fd) != 0)
    return fail_io(j, errno);
  return ES_OK;
}

int es_journal_sync(struct es_journal *j)
{
  if(!j)
    return ES_EINVAL;
  if(j->fd < 0)
    return ES_ECLOSED;
  if(fdatasync(j->fd) != 0)
    return fail_io(j, errno);
  return ES_OK;
}

int es_journal_errno(const struct es_journal *j)
{
  return j ? j->last_errno : 0;
}

const char *es_journal_path(const struct es_journal *j)
{
  return j ? j->path : NULL;
}

void es_journal_set_write_fn(struct es_journal *j, es_write_fn fn)
{
  if(j)
    j->write_fn = fn;
}

int es_journal_close(struct es_journal *j)
{
  int rc = ES_OK;
  if(!j)
    return ES_OK;
  if(j->fd >= 0) {
    /* close() releases the flock with the last descriptor of the file. */
    if(close(j->fd) != 0 && errno != EINTR)
      rc = ES_EIO;
  }
  es_buf_free(&j->line);
  free(j->path);
  free(j);
  return rc;
}

/* ---- reading ------------------------------------------------------------- */

int es_journal_parse(const char *data, size_t len, struct es_journal_contents *out)
{
  size_t n = 0, i, start = 0;
  const char *p;

  free(out->lines);
  out->lines = NULL;
  out->n_lines = 0;
  out->torn = 0;
  out->torn_bytes = 0;
  if(!data && len)
    return ES_EINVAL;
  for(p = data; len && (p = memchr(p, '\n', len - (size_t)(p - data))); p++)
    n++;
  if(n) {
    out->lines = malloc(n * sizeof(*out->lines));
    if(!out->lines)
      return ES_ENOMEM;
  }
  for(i = 0; i < len; i++) {
    if(data[i] != '\n')
      continue;
    out->lines[out->n_lines].off = start;
    out->lines[out->n_lines].len = i - start;
    out->n_lines++;
    start = i + 1;
  }
  if(start < len) {
    out->torn = 1;
    out->torn_bytes = len - start;
  }
  return ES_OK;
}

/* Read fd to its end, at most max bytes (0: no limit). */
static int read_all(int fd, size_t max, struct es_buf *b, int *sys_errno)
{
  for(;;) {
    ssize_t r;
    int rc = es_buf_reserve(b, 65536);
    if(rc)
      return rc;
    r = read(fd, b->data + b->len, b->cap - b->len - 1);
    if(r < 0) {
      if(errno == EINTR)
        continue;
      *sys_errno = errno;
      return ES_EIO;
    }
    if(r == 0)
      break;
    b->len += (size_t)r;
    b->data[b->len] = '\0';
    if(max && b->len > max)
      return ES_EFILETOOBIG;     /* it grew while we read */
  }
  return ES_OK;
}

int es_journal_read(const char *path, size_t max_bytes, struct es_journal_contents *out,
                    struct es_error_info *err)
{
  struct stat st;
  int rc = ES_OK, e = 0, fd;

  es_error_set(err, ES_OK, 0, "%s", "");
  if(!out)
    return path_error(err, ES_EINVAL, 0, "read", "");
  memset(out, 0, sizeof(*out));
  if(!path || !*path)
    return path_error(err, ES_EINVAL, 0, "read", "");
  fd = open_regular(path, O_RDONLY, &rc, &e);
  if(fd < 0) {
    if(rc == ES_EIO && e == ENOENT)
      rc = ES_ENOTFOUND;
    goto out;
  }
  if(fstat(fd, &st) != 0) {
    e = errno;
    rc = ES_EIO;
  }
  else if(max_bytes && (uintmax_t)st.st_size > (uintmax_t)max_bytes)
    rc = ES_EFILETOOBIG;
  else
    rc = read_all(fd, max_bytes, &out->data, &e);
  close(fd);
  if(rc == ES_OK)
    rc = es_journal_parse(out->data.data, out->data.len, out);
out:
  if(rc != ES_OK) {
    es_journal_contents_free(out);
    if(rc == ES_ENOTFOUND)
      return es_error_set(err, rc, 0, "\"%s\" does not exist", path);
    return path_error(err, rc, e, "read", path);
  }
  return ES_OK;
}

void es_journal_contents_free(struct es_journal_contents *c)
{
  if(!c)
    return;
  es_buf_free(&c->data);
  free(c->lines);
  c->lines = NULL;
  c->n_lines = 0;
  c->torn = 0;
  c->torn_bytes = 0;
}
