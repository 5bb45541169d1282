/*
 * jsonbound.c: one-pass JSON bounds check (see jsonbound.h).
 *
 * A flat state machine over the bytes with an explicit stack of open
 * containers (one byte per level, bounded by max_depth): no recursion, no
 * allocation per value, so neither a deep nor a huge document can hurt it.
 */
#include "jsonbound.h"
#include "es_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Levels of nesting tracked on the C stack before the stack moves to the heap. */
#define INLINE_LEVELS 4096u

enum { OPEN_ARRAY = 'a', OPEN_OBJECT = 'o' };

/* What the scanner expects next. */
enum scan_state {
  WANT_VALUE,          /* a value (top level, after ':' or after ',' in an array) */
  WANT_VALUE_OR_CLOSE, /* just after '[' */
  WANT_KEY,            /* after ',' in an object */
  WANT_KEY_OR_CLOSE,   /* just after '{' */
  WANT_COLON,
  WANT_NEXT            /* after a value: ',' or the container's close, or the end */
};

struct scan {
  const unsigned char *p;
  size_t len, i;
  size_t values, max_values;
  unsigned depth, deepest, max_depth;
  unsigned char *stack;
  enum es_json_limit exceeded;
  const char *why;    /* the parse error, for the message */
};

static int is_ws(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_digit(unsigned char c)
{
  return c >= '0' && c <= '9';
}

static int is_hex(unsigned char c)
{
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int fail(struct scan *s, const char *why)
{
  s->why = why;
  return ES_EPARSE;
}

static int count_value(struct scan *s)
{
  if(s->values >= s->max_values) {
    s->exceeded = ES_JSON_TOO_MANY_VALUES;
    return ES_ERANGE;
  }
  s->values++;
  return ES_OK;
}

static int push(struct scan *s, unsigned char kind)
{
  if(s->depth >= s->max_depth) {
    s->exceeded = ES_JSON_TOO_DEEP;
    return ES_ERANGE;
  }
  s->stack[s->depth++] = kind;
  if(s->depth > s->deepest)
    s->deepest = s->depth;
  s->i++;
  return ES_OK;
}

/* Close the innermost container (s->i at its ']' or '}'). */
static enum scan_state pop(struct scan *s)
{
  s->depth--;
  s->i++;
  return WANT_NEXT;
}

/* s->i at the opening quote; leaves s->i after the closing one. */
static int scan_string(struct scan *s)
{
  size_t i = s->i + 1;
  for(;;) {
    unsigned char c;
    if(i >= s->len) {
      s->i = i;
      return fail(s, "unterminated string");
    }
    c = s->p[i];
    if(c == '"')
      break;
    if(c < 0x20) {
      s->i = i;
      return fail(s, "control character in a string");
    }
    if(c == '\\') {
      unsigned char e = i + 1 < s->len ? s->p[i + 1] : 0;
      if(e == 'u') {
        int k;
        for(k = 2; k < 6; k++) {
          if(i + (size_t)k >= s->len || !is_hex(s->p[i + (size_t)k])) {
            s->i = i;
            return fail(s, "bad \\u escape");
          }
        }
        i += 6;
        continue;
      }
      if(!e || !strchr("\"\\/bfnrt", e)) {
        s->i = i;
        return fail(s, "bad escape");
      }
      i += 2;
      continue;
    }
    i++;
  }
  s->i = i + 1;
  return ES_OK;
}

/* One or more digits from *i (advanced past them); 0 when there is none. */
static int digits(const struct scan *s, size_t *i)
{
  size_t start = *i;
  while(*i < s->len && is_digit(s->p[*i]))
    (*i)++;
  return *i > start;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number(struct scan *s)
{
  size_t i = s->i;
  int good;
  if(s->p[i] == '-')
    i++;
  if(i < s->len && s->p[i] == '0')
    good = (i++, 1);
  else
    good = digits(s, &i);
  if(good && i < s->len && s->p[i] == '.') {
    i++;
    good = digits(s, &i);
  }
  if(good && i < s->len && (s->p[i] == 'e' || s->p[i] == 'E')) {
    i++;
    if(i < s->len && (s->p[i] == '+' || s->p[i] == '-'))
      i++;
    good = digits(s, &i);
  }
  s->i = i;
  return good ? ES_OK : fail(s, "bad number");
}

static int scan_literal(struct scan *s)
{
  static const char *const words[] = {"true", "false", "null"};
  size_t k;
  for(k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
    size_t n = strlen(words[k]);
    if(s->len - s->i >= n && memcmp(s->p + s->i, words[k], n) == 0) {
      s->i += n;
      return ES_OK;
    }
  }
  return fail(s, "unexpected character");
}

/* A value starting at s->i (whitespace skipped). Sets *next. */
static int scan_value(struct scan *s, enum scan_state *next)
{
  unsigned char c = s->p[s->i];
  int rc = count_value(s);
  if(rc)
    return rc;
  *next = WANT_NEXT;
  if(c == '{') {
    *next = WANT_KEY_OR_CLOSE;
    return push(s, OPEN_OBJECT);
  }
  if(c == '[') {
    *next = WANT_VALUE_OR_CLOSE;
    return push(s, OPEN_ARRAY);
  }
  if(c == '"')
    return scan_string(s);
  if(c == '-' || is_digit(c))
    return scan_number(s);
  return scan_literal(s);
}

static int scan_document(struct scan *s)
{
  enum scan_state state = WANT_VALUE;
  int rc;
  for(;;) {
    unsigned char c;
    while(s->i < s->len && is_ws(s->p[s->i]))
      s->i++;
    if(state == WANT_NEXT && s->depth == 0)
      return s->i == s->len ? ES_OK : fail(s, "text after the document");
    if(s->i >= s->len)
      return fail(s, "unexpected end");
    c = s->p[s->i];
    switch(state) {
    case WANT_VALUE_OR_CLOSE:
    case WANT_VALUE:
      if(state == WANT_VALUE_OR_CLOSE && c == ']') {
        state = pop(s);
        break;
      }
      rc = scan_value(s, &state);
      if(rc)
        return rc;
      break;
    case WANT_KEY_OR_CLOSE:
    case WANT_KEY:
      if(state == WANT_KEY_OR_CLOSE && c == '}') {
        state = pop(s);
        break;
      }
      if(c != '"')
        return fail(s, "expected a member name");
      if((rc = count_value(s)) != ES_OK || (rc = scan_string(s)) != ES_OK)
        return rc;
      state = WANT_COLON;
      break;
    case WANT_COLON:
      if(c != ':')
        return fail(s, "expected ':'");
      s->i++;
      state = WANT_VALUE;
      break;
    case WANT_NEXT: {
      unsigned char top = s->stack[s->depth - 1];
      if(c == ',') {
        s->i++;
        state = top == OPEN_ARRAY ? WANT_VALUE : WANT_KEY;
      }
      else if((c == ']' && top == OPEN_ARRAY) || (c == '}' && top == OPEN_OBJECT))
        state = pop(s);
      else
        return fail(s, "expected ',' or the end of the container");
      break;
    }
    }
  }
}

int es_json_check(const char *data, size_t len, const struct es_json_limits *lim,
                  struct es_json_stats *st, char *errbuf, size_t errlen)
{
  unsigned char inline_stack[INLINE_LEVELS];
  struct scan s;
  int rc;

  if(errbuf && errlen)
    errbuf[0] = '\0';
  memset(&s, 0, sizeof(s));
  s.max_depth = lim && lim->max_depth ? lim->max_depth : ES_JSON_DEFAULT_MAX_DEPTH;
  s.max_values = lim && lim->max_values ? lim->max_values : ES_JSON_DEFAULT_MAX_VALUES;
  if((!data && len) || s.max_depth > ES_JSON_MAX_DEPTH_LIMIT)
    return ES_EINVAL;
  s.p = (const unsigned char *)(data ? data : "");
  s.len = len;
  s.stack = inline_stack;
  if(s.max_depth > INLINE_LEVELS) {
    s.stack = malloc(s.max_depth);
    if(!s.stack)
      return ES_ENOMEM;
  }
  rc = scan_document(&s);
  if(s.stack != inline_stack)
    free(s.stack);
  if(st) {
    st->values = s.values;
    st->depth = s.deepest;
    st->offset = s.i;
    st->exceeded = s.exceeded;
  }
  if(!errbuf || !errlen)
    return rc;
  if(rc == ES_ERANGE && s.exceeded == ES_JSON_TOO_DEEP)
    snprintf(errbuf, errlen, "JSON nested deeper than %u levels (max_depth)", s.max_depth);
  else if(rc == ES_ERANGE)
    snprintf(errbuf, errlen, "JSON document has more than %zu values (max_values)", s.max_values);
  else if(rc == ES_EPARSE)
    snprintf(errbuf, errlen, "malformed JSON at byte %zu: %s", s.i, s.why ? s.why : "syntax error");
  return rc;
}
