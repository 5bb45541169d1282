/*
 * test_jsonbound.c: the JSON bounds scanner (csrc/core/jsonbound.c): RFC 8259
 * documents accepted with the right counts, malformed ones refused with an
 * offset, and the depth and value limits enforced, also on a 16 MiB body.
 */
#include "es_error.h"
#include "jsonbound.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* The document for a test name, control characters shown as '.'. */
static const char *shown(const char *s)
{
  static char buf[64];
  size_t i;
  for(i = 0; s[i] && i + 1 < sizeof(buf); i++)
    buf[i] = (unsigned char)s[i] < 0x20 ? '.' : s[i];
  buf[i] = '\0';
  return buf;
}

static int check(const char *s, const struct es_json_limits *lim, struct es_json_stats *st)
{
  return es_json_check(s, strlen(s), lim, st, NULL, 0);
}

static void test_valid(void)
{
  static const char *const docs[] = {
    "0", "-0", "1.5e10", "-1E-2", "1e+2", "123456789012345678901234567890", "0.5",
    "true", "false", "null", "\"\"", "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", "\"\\u00e9\\uD83D\\uDE00\"",
    "{}", "[]", " \t\r\n[ 1 , 2 ]\n", "{\"a\":{\"b\":[true,false,null]}}", "[[],[{}],{\"\":\"\"}]",
    "\"caf\xc3\xa9\"", "[-1,0,1,-0.0,2E3]",
  };
  size_t i;
  for(i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
    ok(check(docs[i], NULL, NULL) == ES_OK, "valid: %s", shown(docs[i]));
}

static void test_counts(void)
{
  struct es_json_stats st;
  int rc = check("{\"a\":[1,2],\"b\":{\"c\":null}}", NULL, &st);
  /* object, "a", array, 1, 2, "b", object, "c", null */
  ok(rc == ES_OK && st.values == 9, "values counted, member names included (%zu)", st.values);
  ok(rc == ES_OK && st.depth == 2, "depth is the deepest container nesting (%u)", st.depth);
  rc = check("\"x\"", NULL, &st);
  ok(rc == ES_OK && st.values == 1 && st.depth == 0, "a scalar document: one value, depth 0");
}

static void test_malformed(void)
{
  static const char *const docs[] = {
    "", " ", "01", "1.", ".5", "+1", "1e", "1e+", "-", "-a", "tru", "nul", "falsey", "[1,]", "{\"a\"}",
    "{\"a\":}", "{a:1}", "[\"\x01\"]", "\"\\x\"", "\"\\u12g4\"", "\"\\u12\"", "[1 2]",
    "{\"a\":1 \"b\":2}", "[}", "{]", "[1]]", "\"abc", "[", "{\"a\":1,}", "NaN", "Infinity", "'a'",
    "[1] [2]", "{\"a\":1}x", "\"\\", "[\"a\",]", "{,}", "[,1]",
  };
  size_t i;
  for(i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
    ok(check(docs[i], NULL, NULL) == ES_EPARSE, "malformed: '%s'", shown(docs[i]));
  {
    char msg[160];
    struct es_json_stats st;
    int rc = es_json_check("[1,2,}", 6, NULL, &st, msg, sizeof(msg));
    ok(rc == ES_EPARSE && st.offset == 5 && strstr(msg, "byte 5") != NULL,
       "a parse error names its offset (%s)", msg);
  }
  ok(es_json_check("[1]\0", 4, NULL, NULL, NULL, 0) == ES_EPARSE, "a NUL after the document is refused");
  ok(es_json_check("[\"a\0b\"]", 7, NULL, NULL, NULL, 0) == ES_EPARSE, "a raw NUL inside a string is refused");
}

static char *nested(unsigned levels)
{
  char *s = malloc(2 * (size_t)levels + 1);
  memset(s, '[', levels);
  memset(s + levels, ']', levels);
  s[2 * (size_t)levels] = '\0';
  return s;
}

static void test_depth(void)
{
  struct es_json_stats st;
  struct es_json_limits lim = {5, 0};
  char msg[160];
  char *s = nested(64);
  ok(check(s, NULL, &st) == ES_OK && st.depth == 64, "64 levels pass the default max_depth");
  free(s);
  s = nested(65);
  ok(es_json_check(s, strlen(s), NULL, &st, msg, sizeof(msg)) == ES_ERANGE && st.exceeded == ES_JSON_TOO_DEEP,
     "65 levels exceed the default max_depth");
  ok(strstr(msg, "64") && strstr(msg, "max_depth"), "the message names the limit (%s)", msg);
  free(s);
  ok(check("[[[[[1]]]]]", &lim, &st) == ES_OK, "5 levels within max_depth 5");
  ok(check("[[[[[[1]]]]]]", &lim, &st) == ES_ERANGE && st.exceeded == ES_JSON_TOO_DEEP, "6 levels exceed 5");
  ok(check("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{}}}}}}", &lim, &st) == ES_ERANGE, "objects count as levels too");
  lim.max_depth = 10000;
  s = nested(9999);
  ok(check(s, &lim, &st) == ES_OK && st.depth == 9999, "a deep allowance moves the stack to the heap");
  free(s);
  s = nested(100000);
  ok(check(s, NULL, &st) == ES_ERANGE, "100,000 levels stop at the default bound, no recursion");
  free(s);
  lim.max_depth = ES_JSON_MAX_DEPTH_LIMIT + 1;
  ok(check("[]", &lim, &st) == ES_EINVAL, "max_depth beyond the hard limit is ES_EINVAL");
}

static void test_values(void)
{
  struct es_json_stats st;
  struct es_json_limits lim = {0, 11};
  char msg[160];
  size_t n = 16u << 20, i;
  char *s;
  ok(check("[0,1,2,3,4,5,6,7,8,9]", &lim, &st) == ES_OK && st.values == 11, "11 values within max_values 11");
  lim.max_values = 10;
  ok(check("[0,1,2,3,4,5,6,7,8,9]", &lim, &st) == ES_ERANGE && st.exceeded == ES_JSON_TOO_MANY_VALUES,
     "11 values exceed max_values 10");
  ok(check("{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6}", &lim, &st) == ES_ERANGE,
     "member names count toward max_values");

  /* The body that decoded to 485 MB: 16 MiB of tiny values. */
  s = malloc(n + 1);
  s[0] = '[';
  for(i = 1; i + 1 < n; i += 2) {
    s[i] = '0';
    s[i + 1] = ',';
  }
  s[n - 2] = '0';
  s[n - 1] = ']';
  s[n] = '\0';
  ok(es_json_check(s, n, NULL, &st, msg, sizeof(msg)) == ES_ERANGE && st.exceeded == ES_JSON_TOO_MANY_VALUES,
     "regression: a 16 MiB array of small values is refused before decoding");
  ok(strstr(msg, "1000000") && strstr(msg, "max_values"), "the message names the limit (%s)", msg);
  ok(st.offset < n / 4, "the scan stopped where the limit was crossed (byte %zu)", st.offset);
  /* A 16 MiB document of few values (one long string) is fine. */
  memset(s, 'a', n);
  s[0] = '"';
  s[n - 1] = '"';
  ok(es_json_check(s, n, NULL, &st, NULL, 0) == ES_OK && st.values == 1, "a 16 MiB string is one value");
  free(s);
  ok(es_json_check(NULL, 1, NULL, NULL, NULL, 0) == ES_EINVAL, "NULL data with a length is ES_EINVAL");
  ok(es_json_check(NULL, 0, NULL, NULL, NULL, 0) == ES_EPARSE, "NULL data, no length: empty, malformed");
}

int main(void)
{
  test_valid();
  test_counts();
  test_malformed();
  test_depth();
  test_values();
  return done_testing();
}
