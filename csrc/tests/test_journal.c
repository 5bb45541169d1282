/*
 * test_journal.c: the durable append-only journal (journal.h).
 *
 * Proves: lines round-trip; a line with '\n' is refused; two writers can never
 * share a file (exclusive lock, also within one process and across a fork);
 * shared writers coexist but keep an exclusive writer out; the write loop
 * survives EINTR and short writes and never spins on a zero-byte write; a
 * failed write leaves no fragment behind (truncated back, or the journal
 * refuses further appends); the reader reports a torn last line and honours
 * its size limit; FIFOs, devices and directories are refused at once; an
 * unwritable directory is IoError naming the path and the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "es_error.h"
#include "journal.h"
#include "tap.h"

static char dir[] = "/tmp/es_journal_XXXXXX";

static void path_in(char *buf, size_t n, const char *name)
{
  snprintf(buf, n, "%s/%s", dir, name);
}

static void write_file(const char *path, const char *data, size_t n)
{
  FILE *f = fopen(path, "wb");
  if(f) {
    if(n)
      fwrite(data, 1, n, f);
    fclose(f);
  }
}

static long file_size(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* ---- fake write(2)s ------------------------------------------------------- */

static int calls;

/* EINTR first, then one byte per call. */
static ssize_t write_eintr_then_bytewise(int fd, const void *buf, size_t n)
{
  if(calls++ == 0) {
    errno = EINTR;
    return -1;
  }
  return write(fd, buf, n > 0 ? 1 : 0);
}

/* Half the bytes, then ENOSPC. */
static ssize_t write_half_then_enospc(int fd, const void *buf, size_t n)
{
  if(calls++ == 0)
    return write(fd, buf, n / 2);
  errno = ENOSPC;
  return -1;
}

static ssize_t write_zero(int fd, const void *buf, size_t n)
{
  (void)fd;
  (void)buf;
  (void)n;
  calls++;
  return 0;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_roundtrip(void)
{
  char p[256];
  struct es_error_info err;
  struct es_journal_contents c;
  struct es_journal *j;
  path_in(p, sizeof(p), "round.jsonl");
  j = es_journal_open(p, ES_JOURNAL_SYNC, &err);
  if(!ok(j != NULL, "open creates the journal (%s)", err.message))
    return;
  ok(es_journal_append(j, "{\"a\":1}", 7) == ES_OK, "append a line");
  ok(es_journal_append(j, "", 0) == ES_OK, "append an empty line");
  ok(es_journal_append(j, "x\ny", 3) == ES_EINVAL, "a line with a newline is refused");
  ok(es_journal_append(j, "tail\n", 5) == ES_EINVAL, "...also a trailing one");
  ok(es_journal_append(j, "nul\0byte", 8) == ES_OK, "a NUL byte is data");
  ok(es_journal_sync(j) == ES_OK, "sync");
  is_str(es_journal_path(j), p, "path");
  ok(es_journal_close(j) == ES_OK, "close");
  ok(es_journal_close(NULL) == ES_OK, "close(NULL)");
  {
    struct stat st;
    ok(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600, "created with mode 0600");
  }
  ok(es_journal_read(p, 0, &c, &err) == ES_OK && c.n_lines == 3 && !c.torn && c.torn_bytes == 0,
     "read: three complete lines");
  if(c.n_lines == 3)
    ok(c.lines[0].len == 7 && memcmp(c.data.data + c.lines[0].off, "{\"a\":1}", 7) == 0 &&
         c.lines[1].len == 0 && c.lines[2].len == 8 && memcmp(c.data.data + c.lines[2].off, "nul\0byte", 8) == 0,
       "read: the lines as written, in order");
  es_journal_contents_free(&c);
  /* Reopen: appends go to the end. */
  j = es_journal_open(p, 0, NULL);
  ok(j && es_journal_append(j, "more", 4) == ES_OK, "reopen and append");
  es_journal_close(j);
  ok(es_journal_read(p, 0, &c, NULL) == ES_OK && c.n_lines == 4, "appended after the existing lines");
  es_journal_contents_free(&c);
  ok(es_journal_open(NULL, 0, &err) == NULL && err.code == ES_EINVAL &&
       es_journal_open("", 0, NULL) == NULL && es_journal_append(NULL, "x", 1) == ES_EINVAL &&
       es_journal_sync(NULL) == ES_EINVAL,
     "NULL and empty arguments");
}

static void test_locks(void)
{
  char p[256];
  struct es_error_info err;
  struct es_journal *a, *b, *s1, *s2;
  pid_t pid;
  int st;
  path_in(p, sizeof(p), "locked.jsonl");
  a = es_journal_open(p, 0, NULL);
  b = es_journal_open(p, 0, &err);
  ok(a && !b && err.code == ES_ELOCKED && strstr(err.message, p),
     "a second writer in the same process: JournalLocked (%s)", err.message);
  ok(es_errname(err.code) && strcmp(es_errname(ES_ELOCKED), "JournalLocked") == 0, "code name JournalLocked");
  s1 = es_journal_open(p, ES_JOURNAL_SHARED, &err);
  ok(!s1 && err.code == ES_ELOCKED, "a shared writer is kept out by the exclusive one");
  fflush(stdout);
  pid = fork();
  if(pid == 0) {
    struct es_journal *c = es_journal_open(p, 0, &err);
    /* The parent's copy of the descriptor keeps the lock; free ours (valgrind
       checks the child for leaks too). */
    es_journal_close(a);
    _exit(c == NULL && err.code == ES_ELOCKED ? 0 : 1);
  }
  ok(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
     "a writer in another process: JournalLocked");
  es_journal_close(a);
  b = es_journal_open(p, 0, NULL);
  ok(b != NULL, "after close the file can be taken again");
  es_journal_close(b);

  s1 = es_journal_open(p, ES_JOURNAL_SHARED, NULL);
  s2 = es_journal_open(p, ES_JOURNAL_SHARED, NULL);
  ok(s1 && s2, "two shared writers coexist");
  ok(es_journal_append(s1, "one", 3) == ES_OK && es_journal_append(s2, "two", 3) == ES_OK,
     "both append");
  a = es_journal_open(p, 0, &err);
  ok(!a && err.code == ES_ELOCKED, "an exclusive writer is kept out by shared ones");
  es_journal_close(s1);
  es_journal_close(s2);
}

static void test_write_loop(void)
{
  char p[256];
  const char *line = "a line long enough to be written in many pieces";
  struct es_journal_contents c;
  struct es_journal *j;
  size_t written = 0;
  int fd, rc;
  path_in(p, sizeof(p), "loop.jsonl");

  fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  calls = 0;
  rc = es_write_all(fd, line, strlen(line), write_eintr_then_bytewise, &written);
  ok(rc == ES_OK && written == strlen(line) && calls == (int)strlen(line) + 1,
     "es_write_all continues after EINTR and short writes (%d calls)", calls);
  calls = 0;
  errno = 0;
  ok(es_write_all(fd, line, 4, write_zero, &written) == ES_EIO && written == 0 && calls == 1 && errno == EIO,
     "a zero-byte write is an error, not a loop");
  close(fd);
  ok(file_size(p) == (long)strlen(line), "every byte reached the file");

  /* Exclusive writer: a failed write is cut off again. */
  unlink(p);
  j = es_journal_open(p, 0, NULL);
  es_journal_append(j, "first", 5);
  es_journal_set_write_fn(j, write_half_then_enospc);
  calls = 0;
  ok(es_journal_append(j, "second line", 11) == ES_EIO && es_journal_errno(j) == ENOSPC,
     "a write failing half-way: IoError with the system's reason");
  ok(file_size(p) == 6, "the fragment was truncated away (%ld bytes)", file_size(p));
  es_journal_set_write_fn(j, NULL);
  calls = 0;
  es_journal_set_write_fn(j, write_eintr_then_bytewise);
  ok(es_journal_append(j, "third", 5) == ES_OK, "later appends work (through EINTR and byte-wise writes)");
  es_journal_close(j);
  ok(es_journal_read(p, 0, &c, NULL) == ES_OK && c.n_lines == 2 && !c.torn &&
       c.lines[1].len == 5 && memcmp(c.data.data + c.lines[1].off, "third", 5) == 0,
     "the file holds whole lines only");
  es_journal_contents_free(&c);

  /* Shared writer: it must not cut other writers' lines, so it stops. */
  j = es_journal_open(p, ES_JOURNAL_SHARED, NULL);
  es_journal_set_write_fn(j, write_half_then_enospc);
  calls = 0;
  ok(es_journal_append(j, "fourth line", 11) == ES_EIO, "shared writer: the failed append is IoError");
  es_journal_set_write_fn(j, NULL);
  ok(es_journal_append(j, "fifth", 5) == ES_EIO, "...and every later append too: nothing glued to the fragment");
  es_journal_close(j);
  rc = es_journal_read(p, 0, &c, NULL);
  ok(rc == ES_OK && c.n_lines == 2 && c.torn && c.torn_bytes == 6,
     "the reader sees the fragment as a torn last line (%zu bytes)", c.torn_bytes);
  es_journal_contents_free(&c);
}

static void test_reader(void)
{
  char p[256];
  struct es_error_info err;
  struct es_journal_contents c;
  path_in(p, sizeof(p), "torn.jsonl");
  write_file(p, "{\"n\":1}\n{\"n\":2}\n{\"n\":", strlen("{\"n\":1}\n{\"n\":2}\n{\"n\":"));
  ok(es_journal_read(p, 0, &c, &err) == ES_OK && c.n_lines == 2 && c.torn && c.torn_bytes == 5,
     "a torn last line is reported, not returned");
  es_journal_contents_free(&c);
  write_file(p, "", 0);
  ok(es_journal_read(p, 0, &c, NULL) == ES_OK && c.n_lines == 0 && !c.torn, "an empty file: no lines");
  es_journal_contents_free(&c);
  write_file(p, "only", 4);
  ok(es_journal_read(p, 0, &c, NULL) == ES_OK && c.n_lines == 0 && c.torn && c.torn_bytes == 4,
     "a single torn line");
  es_journal_contents_free(&c);
  write_file(p, "\n\n", 2);
  ok(es_journal_read(p, 0, &c, NULL) == ES_OK && c.n_lines == 2 && c.lines[1].len == 0, "empty lines");
  es_journal_contents_free(&c);

  write_file(p, "0123456789\n", 11);
  ok(es_journal_read(p, 11, &c, NULL) == ES_OK && c.n_lines == 1, "a file of exactly max_bytes is read");
  es_journal_contents_free(&c);
  ok(es_journal_read(p, 10, &c, &err) == ES_EFILETOOBIG && c.n_lines == 0 && c.data.data == NULL &&
       strstr(err.message, p),
     "a larger file: FileTooLarge (%s)", err.message);
  es_journal_contents_free(&c);

  path_in(p, sizeof(p), "missing.jsonl");
  ok(es_journal_read(p, 0, &c, &err) == ES_ENOTFOUND && strstr(err.message, "does not exist"),
     "a missing file: NotFound");
  ok(es_journal_read(NULL, 0, &c, NULL) == ES_EINVAL && es_journal_read(p, 0, NULL, NULL) == ES_EINVAL,
     "NULL arguments");

  ok(es_journal_parse("a\nbc\nd", 6, &c) == ES_OK && c.n_lines == 2 && c.lines[1].off == 2 &&
       c.lines[1].len == 2 && c.torn_bytes == 1,
     "es_journal_parse on bytes held by the caller");
  es_journal_contents_free(&c);
}

/* Regression: a writer opening a journal whose last line was torn by a crash
   appended its first line to the fragment, and both were lost to readers. */
static void test_torn_tail_repair(void)
{
  char p[256];
  struct es_journal *j;
  struct es_journal_contents c;
  static const char torn[] = "{\"n\":1}\n{\"n\":2}\n{\"n\":";
  path_in(p, sizeof(p), "repair.jsonl");
  write_file(p, torn, strlen(torn));
  j = es_journal_open(p, 0, NULL);
  ok(j != NULL && es_journal_append(j, "{\"n\":3}", 7) == ES_OK, "append after a torn tail");
  es_journal_close(j);
  ok(es_journal_read(p, 0, &c, NULL) == ES_OK && c.n_lines == 3 && !c.torn &&
       memcmp(c.data.data + c.lines[2].off, "{\"n\":3}", 7) == 0,
     "regression: the torn fragment is cut, the new line stands alone");
  es_journal_contents_free(&c);

  write_file(p, "torn", 4);
  j = es_journal_open(p, 0, NULL);
  ok(j != NULL && es_journal_append(j, "x", 1) == ES_OK, "append after a file that is all fragment");
  es_journal_close(j);
  ok(file_size(p) == 2, "only the new line remains");

  write_file(p, torn, strlen(torn));
  j = es_journal_open(p, ES_JOURNAL_SHARED, NULL);
  ok(j != NULL && file_size(p) == (long)strlen(torn), "a shared writer leaves the file as it is");
  es_journal_close(j);
}

static void test_special_files(void)
{
  char p[256];
  struct es_error_info err;
  struct es_journal_contents c;
  struct es_journal *j;
  path_in(p, sizeof(p), "fifo");
  if(!ok(mkfifo(p, 0600) == 0, "mkfifo"))
    return;
  /* With nobody reading, a blocking open for writing would wait forever. */
  j = es_journal_open(p, 0, &err);
  ok(!j && err.code == ES_ENOTREG && strstr(err.message, p),
     "regression: a FIFO is refused at once, not waited on (%s)", err.message);
  ok(es_journal_read(p, 0, &c, &err) == ES_ENOTREG, "reading a FIFO: refused at once too");
  es_journal_contents_free(&c);
  unlink(p);
  /* Devices are only read here: opening one for writing with O_CREAT would
     make a regular file of it if it went missing meanwhile. */
  ok(es_journal_read("/dev/zero", 16, &c, &err) == ES_ENOTREG, "a device: NotARegularFile, never read");
  es_journal_contents_free(&c);
  j = es_journal_open(dir, 0, &err);
  ok(!j && err.code == ES_ENOTREG, "a directory: NotARegularFile");
  ok(es_journal_read(dir, 0, &c, &err) == ES_ENOTREG, "reading a directory: NotARegularFile");
  es_journal_contents_free(&c);
  j = es_journal_open("/dev/null/x.jsonl", 0, &err);
  ok(!j && err.code == ES_EIO && strstr(err.message, "/dev/null/x.jsonl") && strstr(err.message, "Not a directory"),
     "an impossible path: IoError naming it and the reason (%s)", err.message);
}

/* A directory the process may not write to. Root may write anywhere, so
   under root the check runs in a child that has dropped to "nobody". */
static void test_readonly_dir(void)
{
  char ro[256], p[300];
  pid_t pid;
  int st;
  path_in(ro, sizeof(ro), "readonly");
  snprintf(p, sizeof(p), "%s/j.jsonl", ro);
  if(!ok(mkdir(ro, 0555) == 0 && chmod(dir, 0755) == 0, "a read-only directory"))
    return;
  fflush(stdout);
  pid = fork();
  if(pid == 0) {
    struct es_error_info err;
    struct es_journal *j;
    if(geteuid() == 0) {
      struct passwd *pw = getpwnam("nobody");
      if(!pw || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
        _exit(3);
    }
    j = es_journal_open(p, 0, &err);
    _exit(!j && err.code == ES_EIO && strstr(err.message, p) && strstr(err.message, "Permission denied") ? 0 : 1);
  }
  st = -1;
  if(pid > 0)
    waitpid(pid, &st, 0);
  ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
     "a read-only directory: IoError naming the path and \"Permission denied\" (exit %d)",
     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  rmdir(ro);
}

int main(void)
{
  char cmd[300];
  if(!mkdtemp(dir)) {
    printf("not ok 1 - mkdtemp\n1..1\n");
    return 1;
  }
  test_roundtrip();
  test_locks();
  test_write_loop();
  test_reader();
  test_torn_tail_repair();
  test_special_files();
  test_readonly_dir();
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if(system(cmd) != 0)
    diag("could not remove %s", dir);
  return done_testing();
}
