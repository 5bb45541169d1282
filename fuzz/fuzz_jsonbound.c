/* fuzz-sources: jsonbound.c es_error.c */
/*
 * fuzz_jsonbound.c: libFuzzer target for the JSON bounds check (es_json_check,
 * csrc/core/jsonbound.c), which stands between every response body and the
 * Lua JSON decoder.
 *
 * Input layout: byte 0 picks the limits (bits 0-3: max_depth 1..16 when
 * bit 7 is set, else the defaults; bits 4-6: max_values 1..8 when bit 7 is
 * set); the rest is the document.
 *
 * Checked, with jansson as an independent reference parser:
 *   - the return is one of ES_OK, ES_EPARSE, ES_ERANGE; on ES_ERANGE the stats
 *     name the limit, and the message names it (never quoting the document);
 *   - with the default limits, every document without a raw NUL byte that
 *     jansson accepts (any top-level value, \u0000 escapes allowed) that is no deeper than 64 levels is
 *     accepted, and its depth and value count equal those of jansson's tree
 *     (member names counted; with objects, where a repeated name makes jansson
 *     keep one value, at least those);
 *   - a document es_json_check accepts that is valid UTF-8 and jansson refuses
 *     must be one jansson refuses for a reason outside the grammar (a number
 *     out of its range, a duplicate key it keeps, depth past its own bound):
 *     checked by re-reading with the integer-as-real option;
 *   - tightening the limits never turns a refusal into an acceptance, and
 *     accepted stats never exceed the limits.
 * Any violation aborts.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_error.h"
#include "es_text.h"
#include "jsonbound.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(why) do { fprintf(stderr, "jsonbound oracle violated: %s\n", why); abort(); } while(0)

/* Values in a decoded tree, counted as es_json_check counts them (every
   value, plus every object member name), and its depth. Iterative. */
struct frame {
  json_t *v;
  unsigned depth;
};

static int count_tree(json_t *root, size_t *values, unsigned *depth)
{
  size_t cap = 64, sp = 0;
  struct frame *st = malloc(cap * sizeof(*st));
  if(!st)
    return -1;
  *values = 0;
  *depth = 0;
  st[sp++] = (struct frame){root, 0};
  while(sp) {
    struct frame f = st[--sp];
    size_t need = 0;
    (*values)++;
    if(json_is_object(f.v))
      need = json_object_size(f.v);
    else if(json_is_array(f.v))
      need = json_array_size(f.v);
    if(json_is_object(f.v) || json_is_array(f.v)) {
      if(f.depth + 1 > *depth)
        *depth = f.depth + 1;
    }
    if(sp + need > cap) {
      struct frame *n;
      while(sp + need > cap)
        cap *= 2;
      n = realloc(st, cap * sizeof(*st));
      if(!n) {
        free(st);
        return -1;
      }
      st = n;
    }
    if(json_is_object(f.v)) {
      const char *k;
      json_t *v;
      json_object_foreach(f.v, k, v) {
        (void)k;
        (*values)++;     /* the member name */
        st[sp++] = (struct frame){v, f.depth + 1};
      }
    }
    else if(json_is_array(f.v)) {
      for(size_t i = 0; i < json_array_size(f.v); i++)
        st[sp++] = (struct frame){json_array_get(f.v, i), f.depth + 1};
    }
  }
  free(st);
  return 0;
}

/* Could the text hold an object with a repeated member name? Conservative:
   any '{' at all. */
static int has_object(const char *s, size_t n)
{
  return memchr(s, '{', n) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct es_json_limits lim = {0, 0}, tight;
  struct es_json_stats st, st2;
  char msg[160];
  const char *doc;
  size_t n;
  json_error_t jerr;
  json_t *root;
  int rc, rc2;

  if(size < 1)
    return 0;
  doc = (const char *)data + 1;
  n = size - 1;
  if(data[0] & 0x80) {
    lim.max_depth = (data[0] & 0x0f) + 1u;
    lim.max_values = ((data[0] >> 4) & 0x07) + 1u;
  }

  rc = es_json_check(n ? doc : NULL, n, NULL, &st, msg, sizeof(msg));
  if(rc != ES_OK && rc != ES_EPARSE && rc != ES_ERANGE)
    FAIL("unexpected return code");
  if(rc == ES_ERANGE && st.exceeded == ES_JSON_WITHIN)
    FAIL("a refused limit is not named");
  if(rc == ES_ERANGE && !strstr(msg, st.exceeded == ES_JSON_TOO_DEEP ? "max_depth" : "max_values"))
    FAIL("the message does not name the limit");
  if(rc == ES_OK && (st.depth > ES_JSON_DEFAULT_MAX_DEPTH || st.values > ES_JSON_DEFAULT_MAX_VALUES))
    FAIL("accepted beyond the default limits");

  /* jansson stops at a raw NUL byte as if the text ended there; the scanner
     (rightly) refuses one. Compare only texts without one. */
  root = n && memchr(doc, 0, n) ? NULL : json_loadb(doc, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
  if(root) {
    size_t values;
    unsigned depth;
    if(count_tree(root, &values, &depth) == 0 && depth <= ES_JSON_DEFAULT_MAX_DEPTH &&
       values <= ES_JSON_DEFAULT_MAX_VALUES) {
      if(rc != ES_OK)
        FAIL("jansson accepts a document es_json_check refuses");
      /* A repeated member name: jansson keeps the last value, the scanner
         counts every one, so with objects its figures may only be larger. */
      if(has_object(doc, n) ? st.depth < depth : st.depth != depth)
        FAIL("depth differs from jansson's tree");
      if(has_object(doc, n) ? st.values < values : st.values != values)
        FAIL("value count differs from jansson's tree");
    }
    json_decref(root);
  }
  else if(rc == ES_OK && es_utf8_valid(doc, n) && !(n && memchr(doc, 0, n))) {
    /* jansson refused a valid UTF-8 document the scanner accepts: the reason
       must be outside the grammar. Integers beyond 64 bits and reals beyond
       double are jansson's own limits, and so is \u0000 in a member name;
       escaped lone surrogates are left, like all UTF-8, to the decoder after
       the scan (jsonbound.h). */
    json_t *again = json_loadb(doc, n, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
    if(!again && !strstr(jerr.text, "overflow") && !strstr(jerr.text, "surrogate") &&
       !strstr(jerr.text, "invalid Unicode") && !strstr(jerr.text, "too big") &&
       !strstr(jerr.text, "NUL byte in object key")) {
      fprintf(stderr, "jansson: %s\n", jerr.text);
      FAIL("es_json_check accepts a document outside the JSON grammar");
    }
    json_decref(again);
  }

  if(lim.max_depth) {
    tight = lim;
    rc2 = es_json_check(n ? doc : NULL, n, &tight, &st2, NULL, 0);
    if(rc != ES_OK && rc2 == ES_OK)
      FAIL("tighter limits accepted a refused document");
    if(rc2 == ES_OK && (st2.depth > tight.max_depth || st2.values > tight.max_values))
      FAIL("accepted beyond the given limits");
    if(rc2 == ES_OK && (st2.depth != st.depth || st2.values != st.values))
      FAIL("the limits changed the stats of an accepted document");
  }
  return 0;
}
