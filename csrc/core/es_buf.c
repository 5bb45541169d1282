/* es_buf.c: growable NUL-terminated byte buffer. */
#include "es_buf.h"
#include "es_error.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The capacity that holds extra more bytes plus the NUL: 0 when the buffer
   is big enough already, SIZE_MAX on overflow. */
static size_t grown_cap(const struct es_buf *b, size_t extra)
{
  size_t need, ncap;
  if(extra > (size_t)-1 - b->len - 1)
    return (size_t)-1;
  need = b->len + extra + 1;
  if(need <= b->cap)
    return 0;
  ncap = b->cap ? b->cap : 64;
  while(ncap < need)
    ncap = ncap > ((size_t)-1) / 2 ? need : ncap * 2;
  return ncap;
}

/* Grow b to hold extra more bytes. A secret buffer never leaves its old
   contents behind in freed memory (no realloc, which may free the old block
   uncleared). */
int es_buf_reserve(struct es_buf *b, size_t extra)
{
  size_t ncap = grown_cap(b, extra);
  char *p;
  int wipe = b->secret;
  if(ncap == 0)
    return ES_OK;
  if(ncap == (size_t)-1)
    return ES_ENOMEM;
  p = wipe ? malloc(ncap) : realloc(b->data, ncap);
  if(!p)
    return ES_ENOMEM;
  if(wipe && b->data) {
    memcpy(p, b->data, b->len + 1);
    OPENSSL_cleanse(b->data, b->cap);
    free(b->data);
  }
  else if(!b->data)
    p[0] = '\0';
  b->data = p;
  b->cap = ncap;
  return ES_OK;
}

void es_buf_set_secret(struct es_buf *b)
{
  b->secret = 1;
}

int es_buf_reserve_secret(struct es_buf *b, size_t extra)
{
  es_buf_set_secret(b);
  return es_buf_reserve(b, extra);
}

int es_buf_append(struct es_buf *b, const void *p, size_t n)
{
  int rc = es_buf_reserve(b, n);
  if(rc)
    return rc;
  if(n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return ES_OK;
}

int es_buf_puts(struct es_buf *b, const char *s)
{
  return es_buf_append(b, s, strlen(s));
}

int es_buf_putc(struct es_buf *b, char c)
{
  return es_buf_append(b, &c, 1);
}

int es_buf_printf(struct es_buf *b, const char *fmt, ...)
{
  va_list ap;
  int n;
  int rc;
  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if(n < 0)
    return ES_EINVAL;
  rc = es_buf_reserve(b, (size_t)n);
  if(rc)
    return rc;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return ES_OK;
}

void es_buf_reset(struct es_buf *b)
{
  b->len = 0;
  if(b->data)
    b->data[0] = '\0';
}

void es_buf_free(struct es_buf *b)
{
  if(b->secret && b->data)
    OPENSSL_cleanse(b->data, b->cap);
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void es_buf_wipe_free(struct es_buf *b)
{
  if(b->data && !b->secret)
    OPENSSL_cleanse(b->data, b->cap);
  es_buf_free(b);
}
