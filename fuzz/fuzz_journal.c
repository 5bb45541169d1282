/* fuzz-sources: journal.c es_buf.c es_error.c */
/*
 * fuzz_journal.c: libFuzzer target for the journal reader.
 *
 * Input: byte 0 picks the size limit (0 mod 4: half the file, else none),
 * the rest is the file. The bytes go through es_journal_parse and, from a
 * memfd (a regular file that never touches a disk), through es_journal_read.
 * Oracle: the lines joined with '\n', plus the torn fragment, give back the
 * file exactly; no line holds a '\n'; torn iff the file is non-empty and does
 * not end in '\n'; both paths agree; over the limit is FileTooLarge and
 * nothing else. Any violation abort()s.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "es_error.h"
#include "journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(why) do { fprintf(stderr, "journal oracle violated: %s\n", why); abort(); } while(0)

static void check(const char *file, size_t n, const struct es_journal_contents *c, const char *base)
{
  size_t pos = 0;
  for(size_t i = 0; i < c->n_lines; i++) {
    const struct es_journal_line *l = &c->lines[i];
    if(l->off != pos || l->off + l->len >= n)
      FAIL("lines are not consecutive");
    if(memchr(base + l->off, '\n', l->len))
      FAIL("a line holds a newline");
    if(memcmp(base + l->off, file + pos, l->len) != 0 || file[pos + l->len] != '\n')
      FAIL("a line differs from the file");
    pos += l->len + 1;
  }
  if(c->torn != (n > 0 && file[n - 1] != '\n'))
    FAIL("torn is wrong");
  if(pos + c->torn_bytes != n || (c->torn && c->torn_bytes == 0) || (!c->torn && c->torn_bytes))
    FAIL("the lines and the torn bytes do not add up to the file");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct es_journal_contents p, r;
  struct es_error_info err;
  const char *file;
  size_t n, max;
  char path[64];
  int fd, rc;

  if(size < 1)
    return 0;
  file = (const char *)data + 1;
  n = size - 1;
  max = data[0] % 4 == 0 ? n / 2 : 0;

  memset(&p, 0, sizeof(p));
  if(es_journal_parse(n ? file : NULL, n, &p) != ES_OK)
    FAIL("parse failed");
  check(file, n, &p, file);

  fd = memfd_create("journal", MFD_CLOEXEC);
  if(fd < 0) {
    es_journal_contents_free(&p);
    return 0;
  }
  if(n && write(fd, file, n) != (ssize_t)n)
    abort();
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  rc = es_journal_read(path, max, &r, &err);
  if(max && n > max) {
    if(rc != ES_EFILETOOBIG || r.n_lines || r.data.data)
      FAIL("over the limit must be FileTooLarge with nothing returned");
  }
  else {
    if(rc != ES_OK)
      FAIL(err.message);
    if(r.data.len != n || (n && memcmp(r.data.data, file, n) != 0))
      FAIL("read returned other bytes");
    check(file, n, &r, r.data.data);
    if(r.n_lines != p.n_lines || r.torn_bytes != p.torn_bytes)
      FAIL("parse and read disagree");
  }
  es_journal_contents_free(&r);
  es_journal_contents_free(&p);
  close(fd);
  return 0;
}
