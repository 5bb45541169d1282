/*
 * test_fileread.c: bounded, non-blocking file reads (csrc/core/fileread.c):
 * regular files at and past the limit, files that lie about their size,
 * missing paths, directories, devices and a FIFO with no writer (which must
 * come back at once: a watchdog alarm fails the test instead of hanging it).
 */
#include "es_buf.h"
#include "es_error.h"
#include "fileread.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static char dir[] = "/tmp/es-fileread-XXXXXX";

static void path_of(char *buf, size_t len, const char *name)
{
  snprintf(buf, len, "%s/%s", dir, name);
}

static int write_file(const char *name, const char *data, size_t len)
{
  char p[256];
  FILE *f;
  path_of(p, sizeof(p), name);
  f = fopen(p, "wb");
  if(!f)
    return -1;
  if(len && fwrite(data, 1, len, f) != len) {
    fclose(f);
    return -1;
  }
  return fclose(f);
}

/* Read name (relative to dir, or absolute) and return the code. */
static int read_path(const char *path, size_t max, struct es_buf *out, enum es_file_kind *kind)
{
  int e = 0;
  return es_file_read(path, max, out, kind, &e);
}

static int read_name(const char *name, size_t max, struct es_buf *out, enum es_file_kind *kind)
{
  char p[256];
  path_of(p, sizeof(p), name);
  return read_path(p, max, out, kind);
}

static void test_regular(void)
{
  struct es_buf b = ES_BUF_INIT;
  enum es_file_kind k;
  int rc;
  write_file("small", "hello\n", 6);
  rc = read_name("small", 100, &b, &k);
  ok(rc == ES_OK && b.len == 6 && memcmp(b.data, "hello\n", 6) == 0 && b.data[6] == '\0',
     "a small regular file is read whole and NUL-terminated");
  es_buf_wipe_free(&b);

  rc = read_name("small", 6, &b, &k);
  ok(rc == ES_OK && b.len == 6, "a file of exactly max_bytes is accepted");
  es_buf_wipe_free(&b);

  rc = read_name("small", 5, &b, &k);
  ok(rc == ES_EFILETOOBIG && b.data == NULL && b.len == 0, "one byte over max_bytes is ES_EFILETOOBIG, buffer released");

  write_file("empty", "", 0);
  rc = read_name("empty", 10, &b, &k);
  ok(rc == ES_OK && b.len == 0 && b.data && b.data[0] == '\0', "an empty file gives an empty string");
  es_buf_wipe_free(&b);

  {
    size_t n = 3u << 20, i;
    char *big = malloc(n);
    for(i = 0; i < n; i++)
      big[i] = (char)('a' + i % 26);
    write_file("big", big, n);
    rc = read_name("big", 4u << 20, &b, &k);
    ok(rc == ES_OK && b.len == n && memcmp(b.data, big, n) == 0, "a 3 MiB file is read exactly");
    es_buf_wipe_free(&b);
    rc = read_name("big", n - 1, &b, &k);
    ok(rc == ES_EFILETOOBIG, "a 3 MiB file over a 3 MiB - 1 limit is refused");
    free(big);
  }
}

static void test_size_lies(void)
{
  struct es_buf b = ES_BUF_INIT;
  enum es_file_kind k;
  int rc;
  /* procfs reports st_size 0 for files with content: the limit must still hold. */
  rc = read_path("/proc/self/status", 1u << 20, &b, &k);
  ok(rc == ES_OK && b.len > 0 && strstr(b.data, "Name:") != NULL,
     "a file reporting size 0 is still read to its end");
  es_buf_wipe_free(&b);
  rc = read_path("/proc/self/status", 16, &b, &k);
  ok(rc == ES_EFILETOOBIG && b.data == NULL, "a file reporting size 0 still stops at max_bytes");
}

/* Is path the null device (character device 1, 3)? */
static int is_null_device(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3;
}

static void test_refused(void)
{
  struct es_buf b = ES_BUF_INIT;
  enum es_file_kind k = ES_FILE_REGULAR;
  char fifo[256], link[256], target[256];
  int rc;

  rc = read_name("does-not-exist", 10, &b, &k);
  ok(rc == ES_ENOTFOUND, "a missing file is ES_ENOTFOUND");
  rc = read_name("small/below-a-file", 10, &b, &k);
  ok(rc == ES_ENOTFOUND, "a path through a regular file is ES_ENOTFOUND");

  rc = read_path(dir, 10, &b, &k);
  ok(rc == ES_ENOTREG && k == ES_FILE_DIRECTORY, "a directory is refused (ES_ENOTREG, directory)");
  is_str(es_file_kind_name(k), "directory", "kind name of a directory");

  rc = read_path("/dev/zero", 10, &b, &k);
  ok(rc == ES_ENOTREG && k == ES_FILE_CHAR_DEVICE, "/dev/zero is refused, not read forever");
  is_str(es_file_kind_name(k), "character device", "kind name of a character device");
  if(is_null_device("/dev/null")) {
    rc = read_path("/dev/null", 10, &b, &k);
    ok(rc == ES_OK && b.len == 0 && b.data && b.data[0] == '\0',
       "/dev/null reads as an empty file (AWS_CONFIG_FILE=/dev/null means no file)");
    es_buf_wipe_free(&b);
  }
  else
    ok(1, "# SKIP /dev/null on this machine is not the null device (something replaced it)");
  rc = read_path("/dev/full", 10, &b, &k);
  ok(rc == ES_ENOTREG && k == ES_FILE_CHAR_DEVICE, "another character device (/dev/full) is refused");

  path_of(fifo, sizeof(fifo), "fifo");
  if(mkfifo(fifo, 0600) != 0) {
    ok(0, "mkfifo");
    return;
  }
  /* A FIFO without a writer blocks a plain open() forever. The witness is
     that this call returns at all: the watchdog fails the run otherwise. */
  tap_watchdog(20);
  rc = read_path(fifo, 10, &b, &k);
  tap_watchdog(0);
  ok(rc == ES_ENOTREG && k == ES_FILE_FIFO && b.data == NULL,
     "regression: a FIFO with no writer is refused at once (ES_ENOTREG, FIFO), never a hang");
  is_str(es_file_kind_name(k), "FIFO", "kind name of a FIFO");

  path_of(link, sizeof(link), "link-to-zero");
  ok(symlink("/dev/zero", link) == 0, "symlink created");
  rc = read_path(link, 10, &b, &k);
  ok(rc == ES_ENOTREG && k == ES_FILE_CHAR_DEVICE, "a symlink to /dev/zero is refused by what it names");
  path_of(link, sizeof(link), "link-to-small");
  path_of(target, sizeof(target), "small");
  ok(symlink(target, link) == 0, "symlink created");
  rc = read_path(link, 10, &b, &k);
  ok(rc == ES_OK && b.len == 6, "a symlink to a regular file is read");
  es_buf_wipe_free(&b);
}

static void test_misuse(void)
{
  struct es_buf b = ES_BUF_INIT;
  struct es_buf used = ES_BUF_INIT;
  ok(es_file_read(NULL, 10, &b, NULL, NULL) == ES_EINVAL, "NULL path is ES_EINVAL");
  ok(es_file_read("/etc/hostname", 10, NULL, NULL, NULL) == ES_EINVAL, "NULL out is ES_EINVAL");
  ok(es_file_read("/etc/hostname", ES_FILE_READ_LIMIT, &b, NULL, NULL) == ES_EINVAL,
     "max_bytes at the reader's limit is ES_EINVAL");
  es_buf_puts(&used, "x");
  ok(es_file_read("/etc/hostname", 10, &used, NULL, NULL) == ES_EINVAL, "a non-empty buffer is ES_EINVAL");
  es_buf_free(&used);
  is_str(es_errname(ES_ENOTREG), "NotARegularFile", "ES_ENOTREG has a name");
  is_str(es_errname(ES_EIO), "IoError", "ES_EIO has a name");
}

int main(void)
{
  char cmd[300];
  if(!mkdtemp(dir)) {
    ok(0, "mkdtemp");
    return done_testing();
  }
  test_regular();
  test_size_lies();
  test_refused();
  test_misuse();
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if(system(cmd) != 0)
    diag("could not remove %s", dir);
  return done_testing();
}
