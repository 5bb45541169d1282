/* atomicfile.c: whole-file writes that are atomic and durable. */
#include "atomicfile.h"

#include "es_error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t len)
{
  while(len > 0) {
    ssize_t n = write(fd, p, len);
    if(n < 0) {
      if(errno == EINTR)
        continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* fsync the folder holding path, so the rename itself is durable. */
static int sync_dir(const char *path)
{
  char *dir = strdup(path);
  char *slash;
  int fd, rc;
  if(!dir)
    return -1;
  slash = strrchr(dir, '/');
  if(!slash)
    strcpy(dir, ".");
  else if(slash == dir)
    dir[1] = '\0';
  else
    *slash = '\0';
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(dir);
  if(fd < 0)
    return -1;
  rc = fsync(fd);
  close(fd);
  return rc;
}

int es_write_file_atomic(const char *path, const void *data, size_t len, int *errno_out)
{
  static unsigned counter;
  char *tmp;
  size_t plen;
  int fd, saved;
  if(errno_out)
    *errno_out = 0;
  if(!path || !*path || (!data && len))
    return ES_EINVAL;
  plen = strlen(path);
  tmp = malloc(plen + 64);
  if(!tmp)
    return ES_ENOMEM;
  snprintf(tmp, plen + 64, "%s.tmp.%ld.%u", path, (long)getpid(), counter++);
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if(fd < 0)
    goto fail_nofile;
  if(write_all(fd, data, len) != 0 || fsync(fd) != 0)
    goto fail;
  if(close(fd) != 0) {
    fd = -1;
    goto fail;
  }
  fd = -1;
  if(rename(tmp, path) != 0)
    goto fail;
  free(tmp);
  /* The content is in place; a folder that cannot be synced is reported
     but the file is not rolled back. */
  if(sync_dir(path) != 0) {
    if(errno_out)
      *errno_out = errno;
    return ES_EIO;
  }
  return ES_OK;

fail:
  saved = errno;
  if(fd >= 0)
    close(fd);
  unlink(tmp);
  errno = saved;
fail_nofile:
  if(errno_out)
    *errno_out = errno;
  free(tmp);
  return ES_EIO;
}
