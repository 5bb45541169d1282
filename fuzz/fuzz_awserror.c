/* fuzz-sources: awserror.c es_error.c */
/*
 * fuzz_awserror.c: libFuzzer target for the AWS error-shape parser
 * (csrc/core/awserror.c): rest-json, json-1.1, EC2 and query XML bodies and
 * the x-amzn-RequestId / x-amzn-query-error / x-amzn-ErrorType headers.
 *
 * Input layout: byte 0 says which headers are present (bit0 request id,
 * bit1 x-amzn-query-error, bit2 x-amzn-ErrorType, bit3 the header names in
 * upper case); then the present headers' values, each ending at the first
 * '\n'; the rest is the body (any bytes, NUL included).
 *
 * Checked for every input:
 *   - the parse returns ES_OK and every field is NUL-terminated inside its
 *     array (ASan also checks that nothing is read past the input);
 *   - when the input (header values and body) is valid UTF-8, so is every
 *     field: truncation never cuts a character in half;
 *   - parsing is deterministic (a second parse gives the same bytes), and a
 *     body alone gives the same message as with the headers (headers only
 *     decide the code and the request id);
 *   - out NULL is ES_EINVAL, a NULL body with a length reads nothing.
 * Any violation aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awserror.h"
#include "es_error.h"
#include "es_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(why) do { fprintf(stderr, "awserror oracle violated: %s\n", why); abort(); } while(0)

static void check_field(const char *f, size_t size, int want_utf8)
{
  size_t n = strnlen(f, size);
  if(n >= size)
    FAIL("a field is not NUL-terminated");
  if(want_utf8 && !es_utf8_valid(f, n))
    FAIL("a field is not valid UTF-8 although the input was");
}

static void check(const struct es_aws_error *e, int want_utf8)
{
  check_field(e->code, sizeof(e->code), want_utf8);
  check_field(e->message, sizeof(e->message), want_utf8);
  check_field(e->request_id, sizeof(e->request_id), want_utf8);
  check_field(e->type, sizeof(e->type), want_utf8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const names[2][3] = {
    {"x-amzn-RequestId", "x-amzn-query-error", "x-amzn-ErrorType"},
    {"X-AMZN-REQUESTID", "X-AMZN-QUERY-ERROR", "X-AMZN-ERRORTYPE"},
  };
  struct es_header h[3];
  struct es_aws_error a, b, body_only;
  const char *p, *end, *body;
  size_t nh = 0, body_len;
  int flags, utf8 = 1;

  if(size < 1)
    return 0;
  flags = data[0];
  p = (const char *)data + 1;
  end = (const char *)data + size;
  for(int i = 0; i < 3; i++) {
    const char *nl;
    if(!(flags & (1 << i)))
      continue;
    nl = memchr(p, '\n', (size_t)(end - p));
    if(!nl)
      nl = end;
    h[nh].name = names[(flags >> 3) & 1][i];
    h[nh].name_len = strlen(h[nh].name);
    h[nh].value = p;
    h[nh].value_len = (size_t)(nl - p);
    if(!es_utf8_valid(p, (size_t)(nl - p)))
      utf8 = 0;
    nh++;
    p = nl < end ? nl + 1 : end;
  }
  body = p;
  body_len = (size_t)(end - p);
  if(!es_utf8_valid(body, body_len))
    utf8 = 0;

  if(es_aws_error_parse(h, nh, body, body_len, &a) != ES_OK)
    FAIL("parse failed");
  check(&a, utf8);
  if(es_aws_error_parse(h, nh, body, body_len, &b) != ES_OK || memcmp(&a, &b, sizeof(a)) != 0)
    FAIL("two parses of the same input differ");
  if(es_aws_error_parse(NULL, 0, body, body_len, &body_only) != ES_OK)
    FAIL("body-only parse failed");
  check(&body_only, es_utf8_valid(body, body_len));
  if(strcmp(a.message, body_only.message) != 0)
    FAIL("the headers changed the message");
  if(es_aws_error_parse(h, nh, body, body_len, NULL) != ES_EINVAL)
    FAIL("out NULL accepted");
  if(es_aws_error_parse(h, nh, NULL, body_len, &b) != ES_OK)
    FAIL("NULL body refused");
  check(&b, utf8);
  return 0;
}
