/*
 * es_text.h: byte classes, hex digits, UTF-8 decoding and truncating copies,
 * written once for the whole core. The guard, the signer, the engine and the
 * error parser must agree on what a hex digit, a token character or a UTF-8
 * sequence is: a disagreement between two copies in a security-relevant core
 * is a bypass waiting to happen. Header-only (static inline), no allocation.
 */
#ifndef ES_TEXT_H
#define ES_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- ASCII byte classes --------------------------------------------------- */

static inline int es_is_digit(int c)
{
  return c >= '0' && c <= '9';
}

static inline int es_is_upper(int c)
{
  return c >= 'A' && c <= 'Z';
}

static inline int es_is_alnum(int c)
{
  return es_is_digit(c) || es_is_upper(c) || (c >= 'a' && c <= 'z');
}

static inline int es_ascii_lower(int c)
{
  return es_is_upper(c) ? c - 'A' + 'a' : c;
}

/* An RFC 9110 token character (method and header-name bytes). */
static inline int es_is_tchar(int c)
{
  return es_is_alnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The value of a hex digit, or -1. */
static inline int es_hexval(int c)
{
  if(es_is_digit(c))
    return c - '0';
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if(c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* The byte a "%XX" escape at s[i] (with s[0..n)) stands for, or -1 when s[i]
   does not start a complete escape. */
static inline int es_pct_byte(const char *s, size_t i, size_t n)
{
  int h, l;
  if(s[i] != '%' || i + 2 >= n)
    return -1;
  h = es_hexval((unsigned char)s[i + 1]);
  l = es_hexval((unsigned char)s[i + 2]);
  return h < 0 || l < 0 ? -1 : h * 16 + l;
}

/* ---- UTF-8 -------------------------------------------------------------------- */

/* Decode one UTF-8 sequence at s[i..n) (i < n). Returns its length (1..4)
   and the code point in *cp, or 0 when the bytes there are not well-formed
   UTF-8 (overlongs, surrogates and values above U+10FFFF are not). */
static inline size_t es_utf8_next(const unsigned char *s, size_t i, size_t n, uint32_t *cp)
{
  unsigned c = s[i];
  size_t len;
  uint32_t v, min;
  if(c < 0x80) {
    *cp = c;
    return 1;
  }
  if(c >= 0xC2 && c <= 0xDF) {
    len = 2;
    v = c & 0x1F;
    min = 0x80;
  }
  else if(c >= 0xE0 && c <= 0xEF) {
    len = 3;
    v = c & 0x0F;
    min = 0x800;
  }
  else if(c >= 0xF0 && c <= 0xF4) {
    len = 4;
    v = c & 0x07;
    min = 0x10000;
  }
  else
    return 0;
  if(n - i < len)
    return 0;
  for(size_t k = 1; k < len; k++) {
    unsigned cc = s[i + k];
    if((cc & 0xC0) != 0x80)
      return 0;
    v = (v << 6) | (cc & 0x3F);
  }
  if(v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
    return 0;
  *cp = v;
  return len;
}

/* 1 if s[0..n) is well-formed UTF-8. */
static inline int es_utf8_valid(const char *s, size_t n)
{
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  uint32_t cp;
  while(i < n) {
    size_t l = es_utf8_next(u, i, n, &cp);
    if(!l)
      return 0;
    i += l;
  }
  return 1;
}

/* The longest prefix of s[0..n) that does not end inside a UTF-8 sequence
   (a cut sequence is dropped whole). */
static inline size_t es_utf8_boundary(const char *s, size_t n)
{
  size_t i = n, need;
  unsigned c;
  while(i > 0 && n - i < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
    i--;
  if(i == 0)
    return n;
  c = (unsigned char)s[i - 1];
  if(c < 0xC0)
    return n;                      /* ASCII, or continuation bytes without a lead */
  need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
  return n - (i - 1) < need ? i - 1 : n;
}

/* ---- truncating copies ------------------------------------------------------- */

/* Copy src[0..n) into dst[size] (size >= 1), cut at a UTF-8 character
   boundary when it does not fit; always NUL-terminated. */
static inline void es_copy_trunc(char *dst, size_t size, const char *src, size_t n)
{
  if(size == 0)
    return;
  if(n >= size)
    n = es_utf8_boundary(src, size - 1);
  if(n)
    memcpy(dst, src, n);
  dst[n] = '\0';
}

/* es_copy_trunc of a C string. */
static inline void es_scopy(char *dst, size_t size, const char *src)
{
  es_copy_trunc(dst, size, src, strlen(src));
}

#endif
