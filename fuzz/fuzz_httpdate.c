/* fuzz-sources: httpdate.c es_error.c */
/*
 * fuzz_httpdate.c: libFuzzer target for the HTTP date parser (csrc/core/httpdate.c).
 *
 * The engine learns its clock offset from the Date header of a skew error, so
 * a server (or anything posing as one) chooses these bytes.
 *
 * Checked for every input:
 *   - a parse either fails (ES_EPARSE, *out untouched) or gives a time whose
 *     IMF-fixdate, formatted by es_httpdate_format, parses back to the same
 *     time (leap second :60 aside, which reads as :59);
 *   - the accepted input is one of the three forms: its trimmed length is 24
 *     (asctime), 29 (IMF-fixdate) or 30..33 (RFC 850, long weekday names);
 *   - independently, the first 8 bytes taken as a time in 0000..9999 are
 *     formatted and must parse back exactly (the writer and the reader agree).
 * Any violation aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "es_error.h"
#include "httpdate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(why) do { fprintf(stderr, "httpdate oracle violated: %s\n", why); abort(); } while(0)

/* -62167219200 is 0000-01-01T00:00:00Z, 253402300799 is 9999-12-31T23:59:59Z. */
#define FIRST_TIME (-62167219200LL)
#define LAST_TIME 253402300799LL

static size_t trimmed_len(const char *s, size_t n)
{
  size_t a = 0;
  while(a < n && (s[a] == ' ' || s[a] == '\t'))
    a++;
  while(n > a && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
    n--;
  return n - a;
}

static void roundtrip(time_t t)
{
  char buf[30];
  time_t back = 1;
  es_httpdate_format(t, buf);
  if(strlen(buf) != 29)
    FAIL("format did not give 29 characters");
  if(es_httpdate_parse(buf, 29, &back) != ES_OK)
    FAIL("a formatted date does not parse");
  if(back != t)
    FAIL("format then parse changed the time");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const time_t sentinel = (time_t)0x5eed;
  time_t t = sentinel;
  int rc = es_httpdate_parse((const char *)data, size, &t);

  if(rc != ES_OK && rc != ES_EPARSE)
    FAIL("unexpected return code");
  if(rc == ES_EPARSE && t != sentinel)
    FAIL("a failed parse wrote the result");
  if(rc == ES_OK) {
    size_t n = trimmed_len((const char *)data, size);
    char buf[30];
    time_t back = 0;
    if(n != 24 && n != 29 && (n < 30 || n > 33))
      FAIL("accepted a date of impossible length");
    es_httpdate_format(t, buf);
    if(es_httpdate_parse(buf, strlen(buf), &back) != ES_OK || back != t)
      FAIL("an accepted date does not survive format and parse");
  }
  if(size >= 8) {
    uint64_t raw;
    long long span = LAST_TIME - FIRST_TIME + 1;
    memcpy(&raw, data, 8);
    roundtrip((time_t)(FIRST_TIME + (long long)(raw % (uint64_t)span)));
  }
  /* NULL input with a length must be refused, never read. */
  if(es_httpdate_parse(NULL, size, &t) != ES_EPARSE)
    FAIL("NULL input accepted");
  return 0;
}
