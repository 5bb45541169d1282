/* fileread.c: bounded, non-blocking whole-file reads (see fileread.h). */
#include "fileread.h"
#include "es_error.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Bytes asked of read() at a time when the size is not known in advance. */
#define READ_CHUNK ((size_t)65536)

const char *es_file_kind_name(enum es_file_kind k)
{
  switch(k) {
  case ES_FILE_REGULAR: return "regular file";
  case ES_FILE_DIRECTORY: return "directory";
  case ES_FILE_FIFO: return "FIFO";
  case ES_FILE_CHAR_DEVICE: return "character device";
  case ES_FILE_BLOCK_DEVICE: return "block device";
  case ES_FILE_SOCKET: return "socket";
  case ES_FILE_OTHER: break;
  }
  return "special file";
}

static enum es_file_kind kind_of(mode_t m)
{
  if(S_ISREG(m))
    return ES_FILE_REGULAR;
  if(S_ISDIR(m))
    return ES_FILE_DIRECTORY;
  if(S_ISFIFO(m))
    return ES_FILE_FIFO;
  if(S_ISCHR(m))
    return ES_FILE_CHAR_DEVICE;
  if(S_ISBLK(m))
    return ES_FILE_BLOCK_DEVICE;
  if(S_ISSOCK(m))
    return ES_FILE_SOCKET;
  return ES_FILE_OTHER;
}

/* Read fd to EOF into out, failing with ES_EFILETOOBIG past max_bytes. size_hint
   (st_size) sizes the first allocation; files that grow or lie about their
   size (procfs reports 0) still end at max_bytes. */
static int read_all(int fd, size_t max_bytes, size_t size_hint, struct es_buf *out, int *sys_errno)
{
  size_t want = size_hint < max_bytes ? size_hint + 1 : max_bytes + 1;
  int rc = es_buf_reserve_secret(out, want ? want : 1);
  if(rc)
    return rc;
  for(;;) {
    size_t room = out->cap - 1 - out->len;
    ssize_t n;
    if(room == 0) {
      /* One byte past the limit is enough to know the file is too big. */
      size_t grow = READ_CHUNK;
      if(out->len > max_bytes)
        return ES_EFILETOOBIG;
      if(grow > max_bytes + 1 - out->len)
        grow = max_bytes + 1 - out->len;
      rc = es_buf_reserve_secret(out, grow);
      if(rc)
        return rc;
      room = out->cap - 1 - out->len;
    }
    if(room > max_bytes + 1 - out->len)
      room = max_bytes + 1 - out->len;
    n = read(fd, out->data + out->len, room);
    if(n < 0) {
      if(errno == EINTR)
        continue;
      if(sys_errno)
        *sys_errno = errno;
      return ES_EIO;
    }
    if(n == 0)
      break;
    out->len += (size_t)n;
    out->data[out->len] = '\0';
    if(out->len > max_bytes)
      return ES_EFILETOOBIG;
  }
  return ES_OK;
}

int es_file_read(const char *path, size_t max_bytes, struct es_buf *out,
                 enum es_file_kind *kind, int *sys_errno)
{
  struct stat st;
  int fd, rc;
  if(kind)
    *kind = ES_FILE_REGULAR;
  if(sys_errno)
    *sys_errno = 0;
  if(!path || !out || out->data || max_bytes >= ES_FILE_READ_LIMIT)
    return ES_EINVAL;
  /* O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever;
     O_NOCTTY: a terminal device must not become our controlling terminal. */
  do
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  while(fd < 0 && errno == EINTR);
  if(fd < 0) {
    if(sys_errno)
      *sys_errno = errno;
    return (errno == ENOENT || errno == ENOTDIR) ? ES_ENOTFOUND : ES_EIO;
  }
  if(fstat(fd, &st) != 0) {
    if(sys_errno)
      *sys_errno = errno;
    close(fd);
    return ES_EIO;
  }
  /* The null device reads as an empty file: AWS_CONFIG_FILE=/dev/null is the
     usual way to say "no config file". Known by its device number (1, 3), so
     no other path or device slips through by name. */
  if(S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3) {
    close(fd);
    return es_buf_reserve_secret(out, 0);
  }
  if(!S_ISREG(st.st_mode)) {
    if(kind)
      *kind = kind_of(st.st_mode);
    close(fd);
    return ES_ENOTREG;
  }
  if(st.st_size > 0 && (unsigned long long)st.st_size > max_bytes) {
    close(fd);
    return ES_EFILETOOBIG;
  }
  rc = read_all(fd, max_bytes, st.st_size > 0 ? (size_t)st.st_size : 0, out, sys_errno);
  close(fd);
  if(rc)
    es_buf_wipe_free(out);
  return rc;
}
