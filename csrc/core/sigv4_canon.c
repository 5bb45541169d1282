/*
 * sigv4_canon.c: canonicalization for SigV4 (URI path, query, headers) and
 * the public es_uri_encode(). See sigv4_canon.h.
 *
 * Everything here writes into caller-owned growable buffers that the signer
 * reuses between signings: reserve once, then write bytes directly, so the
 * steady state does no allocation and no per-byte bounds checks.
 */
#include "sigv4_canon.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "es_error.h"
#include "es_text.h"
#include "sigv4.h"

static const char hexdig[] = "0123456789ABCDEF";

/* keep_map[keep_slash][byte]: 1 if UriEncode leaves the byte alone: the RFC 3986
   unreserved set A-Z a-z 0-9 - . _ ~ (and '/' when keep_slash). */
#define U_ 1
#define K_ 0
#define UNRESERVED_ROW(slash)                                                                   \
  {                                                                                           \
    K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, /* 0x00 */                \
    K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, /* 0x10 */                \
    K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, U_, U_, slash, /* 0x20: - . / */       \
    U_, U_, U_, U_, U_, U_, U_, U_, U_, U_, K_, K_, K_, K_, K_, K_, /* 0x30: 0-9 */           \
    K_, U_, U_, U_, U_, U_, U_, U_, U_, U_, U_, U_, U_, U_, U_, U_, /* 0x40: A-O */           \
    U_, U_, U_, U_, U_, U_, U_, U_, U_, U_, U_, K_, K_, K_, K_, U_, /* 0x50: P-Z _ */         \
    K_, U_, U_, U_, U_, U_, U_, U_, U_, U_, U_, U_, U_, U_, U_, U_, /* 0x60: a-o */           \
    U_, U_, U_, U_, U_, U_, U_, U_, U_, U_, U_, K_, K_, K_, U_, K_, /* 0x70: p-z ~ */         \
  }
static const unsigned char keep_map[2][256] = {UNRESERVED_ROW(K_), UNRESERVED_ROW(U_)};
#undef U_
#undef K_
#undef UNRESERVED_ROW

/* Whitespace that a header value may carry, folded continuation lines included. */
static int is_hws(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}


int es_uri_encode(struct es_buf *out, const char *s, size_t n, int keep_slash)
{
  char *d;
  size_t i;
  int rc;
  if(!out || (!s && n))
    return ES_EINVAL;
  if(n > ((size_t)-1 - 2) / 3)
    return ES_ENOMEM;
  rc = es_buf_reserve(out, 3 * n);
  if(rc)
    return rc;
  d = out->data + out->len;
  for(i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if(keep_map[keep_slash ? 1 : 0][c]) {
      *d++ = (char)c;
    }
    else {
      *d++ = '%';
      *d++ = hexdig[c >> 4];
      *d++ = hexdig[c & 15];
    }
  }
  out->len = (size_t)(d - out->data);
  out->data[out->len] = '\0';
  return ES_OK;
}

/* No empty, "." or ".." segment: normalization would change nothing.
   (Any "//", "/." or a trailing "/." or "/.." shows up as '/' followed by
   '/' or '.'; a segment merely starting with '.' sends us the slow way,
   which is still correct.) */
static int path_is_normal(const char *p, size_t n)
{
  size_t i;
  for(i = 0; i + 1 < n; i++) {
    if(p[i] == '/' && (p[i + 1] == '/' || p[i + 1] == '.'))
      return 0;
  }
  return 1;
}

int es_sv4_canon_path(struct es_buf *out, const char *p, size_t n, int normalize,
                      int double_encode, struct es_buf *tmp)
{
  const char *src = p;
  size_t slen = n;
  int rc;

  if(n == 0) {
    src = "/";
    slen = 1;
  }
  else if(normalize && path_is_normal(p, n)) {
    /* already normal: use as is */
  }
  else if(normalize) {
    /* botocore remove_dot_segments: drop empty and "." segments, ".." pops
       the previous one; keep a trailing slash only if something remains. */
    size_t i = 0, len = 0;
    char *d;
    es_buf_reset(tmp);
    rc = es_buf_reserve(tmp, n + 1);
    if(rc)
      return rc;
    d = tmp->data;
    while(i < n) {
      size_t j;
      if(p[i] == '/') {
        i++;
        continue;
      }
      j = i;
      while(j < n && p[j] != '/')
        j++;
      if(j - i == 1 && p[i] == '.') {
        /* "." segment: nothing */
      }
      else if(j - i == 2 && p[i] == '.' && p[i + 1] == '.') {
        while(len > 0 && d[len - 1] != '/')
          len--;
        if(len > 0)
          len--;
      }
      else {
        d[len++] = '/';
        memcpy(d + len, p + i, j - i);
        len += j - i;
      }
      i = j;
    }
    if(len == 0 || p[n - 1] == '/')
      d[len++] = '/';
    d[len] = '\0';
    tmp->len = len;
    src = tmp->data;
    slen = len;
  }
  if(double_encode)
    return es_uri_encode(out, src, slen, 1);
  return es_buf_append(out, src, slen);
}

/* ---- query ---------------------------------------------------------------- */

void es_sv4_qlist_reset(struct es_sv4_qlist *q)
{
  q->n = 0;
  es_buf_reset(&q->text);
}

void es_sv4_qlist_free(struct es_sv4_qlist *q)
{
  free(q->v);
  q->v = NULL;
  q->n = q->cap = 0;
  /* The text may hold a session token. */
  es_buf_wipe_free(&q->text);
  es_buf_wipe_free(&q->tmp);
}

static int qlist_grow(struct es_sv4_qlist *q)
{
  size_t ncap;
  struct es_sv4_qparam *nv;
  if(q->n < q->cap)
    return ES_OK;
  ncap = q->cap ? q->cap * 2 : 16;
  if(ncap > (size_t)-1 / sizeof(*nv))
    return ES_ENOMEM;
  nv = realloc(q->v, ncap * sizeof(*nv));
  if(!nv)
    return ES_ENOMEM;
  q->v = nv;
  q->cap = ncap;
  return ES_OK;
}

/* Percent-decode s[0..n) into tmp (reset first). An invalid escape is kept
   literally, so its '%' is encoded as %25 afterwards. '+' stays '+'. */
static int pct_decode(struct es_buf *tmp, const char *s, size_t n)
{
  size_t i, len = 0;
  char *d;
  int rc;
  es_buf_reset(tmp);
  rc = es_buf_reserve(tmp, n);
  if(rc)
    return rc;
  d = tmp->data;
  for(i = 0; i < n; i++) {
    int c = es_pct_byte(s, i, n);
    if(c >= 0) {
      d[len++] = (char)c;
      i += 2;
    }
    else {
      d[len++] = s[i];
    }
  }
  d[len] = '\0';
  tmp->len = len;
  return ES_OK;
}

/* Encode the raw bytes s[0..n) into q->text; return its offset and length. */
static int qtext_encode(struct es_sv4_qlist *q, const char *s, size_t n, size_t *off, size_t *len)
{
  int rc;
  *off = q->text.len;
  rc = es_uri_encode(&q->text, s, n, 0);
  *len = q->text.len - *off;
  return rc;
}

/* Decode then encode s[0..n) into q->text. */
static int qtext_recode(struct es_sv4_qlist *q, const char *s, size_t n, size_t *off, size_t *len)
{
  int rc = pct_decode(&q->tmp, s, n);
  if(rc)
    return rc;
  return qtext_encode(q, q->tmp.data, q->tmp.len, off, len);
}

int es_sv4_qlist_parse(struct es_sv4_qlist *q, const char *s, size_t n)
{
  size_t i = 0;
  while(i <= n) {
    size_t j = i, eq;
    struct es_sv4_qparam *prm;
    int rc;
    while(j < n && s[j] != '&')
      j++;
    if(j > i) {
      rc = qlist_grow(q);
      if(rc)
        return rc;
      prm = &q->v[q->n];
      eq = i;
      while(eq < j && s[eq] != '=')
        eq++;
      rc = qtext_recode(q, s + i, eq - i, &prm->name_off, &prm->name_len);
      if(!rc) {
        if(eq < j)
          rc = qtext_recode(q, s + eq + 1, j - eq - 1, &prm->val_off, &prm->val_len);
        else {
          prm->val_off = q->text.len;
          prm->val_len = 0;
        }
      }
      if(rc)
        return rc;
      q->n++;
    }
    i = j + 1;
  }
  return ES_OK;
}

int es_sv4_qlist_add(struct es_sv4_qlist *q, const char *name, size_t nlen,
                     const char *val, size_t vlen)
{
  struct es_sv4_qparam *prm;
  int rc = qlist_grow(q);
  if(rc)
    return rc;
  prm = &q->v[q->n];
  rc = qtext_encode(q, name, nlen, &prm->name_off, &prm->name_len);
  if(!rc)
    rc = qtext_encode(q, val, vlen, &prm->val_off, &prm->val_len);
  if(rc)
    return rc;
  q->n++;
  return ES_OK;
}

int es_sv4_name_eq(const char *s, size_t n, const char *lit)
{
  size_t i;
  for(i = 0; i < n; i++) {
    if(!lit[i] || es_ascii_lower((unsigned char)s[i]) != (unsigned char)lit[i])
      return 0;
  }
  return lit[n] == '\0';
}

int es_sv4_qlist_has(const struct es_sv4_qlist *q, const char *name)
{
  size_t i, litlen = strlen(name);
  char low[64];
  if(litlen >= sizeof(low))
    return 0;
  for(i = 0; i <= litlen; i++)
    low[i] = (char)es_ascii_lower((unsigned char)name[i]);
  for(i = 0; i < q->n; i++) {
    if(es_sv4_name_eq(q->text.data + q->v[i].name_off, q->v[i].name_len, low))
      return 1;
  }
  return 0;
}

/* Byte-order comparison of two (pointer, length) strings; a prefix sorts first. */
static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
  int c = memcmp(a, b, alen < blen ? alen : blen);
  if(c)
    return c;
  return alen < blen ? -1 : alen > blen;
}

static int qparam_cmp(const char *t, const struct es_sv4_qparam *a, const struct es_sv4_qparam *b)
{
  int c = bytes_cmp(t + a->name_off, a->name_len, t + b->name_off, b->name_len);
  if(c)
    return c;
  return bytes_cmp(t + a->val_off, a->val_len, t + b->val_off, b->val_len);
}

/* Sort v[0..n) by CMP. Insertion sort: the lists are short (a handful of
   parameters or headers), where it beats qsort; for long lists fall back to a
   bottom-up merge sort through scratch (n entries). Both kinds of list use this
   one body, made a function per entry type so CMP stays a direct call. */
#define DEFINE_SORT(NAME, TYPE, CMP)                                             \
  static void NAME(const char *t, TYPE *v, size_t n, TYPE *scratch)            \
  {                                                                            \
    size_t i, j, w, lo, mid, hi;                                               \
    if(n <= 16 || !scratch) {                                                  \
      for(i = 1; i < n; i++) {                                                 \
        TYPE x = v[i];                                                         \
        j = i;                                                                 \
        while(j > 0 && CMP(t, &v[j - 1], &x) > 0) {                            \
          v[j] = v[j - 1];                                                     \
          j--;                                                                 \
        }                                                                      \
        v[j] = x;                                                              \
      }                                                                        \
      return;                                                                  \
    }                                                                          \
    for(w = 1; w < n; w *= 2) {                                                \
      for(lo = 0; lo < n; lo += 2 * w) {                                       \
        size_t a, b, k = lo;                                                   \
        mid = lo + w < n ? lo + w : n;                                         \
        hi = lo + 2 * w < n ? lo + 2 * w : n;                                  \
        a = lo;                                                                \
        b = mid;                                                               \
        while(a < mid && b < hi)                                               \
          scratch[k++] = CMP(t, &v[b], &v[a]) < 0 ? v[b++] : v[a++];           \
        while(a < mid)                                                         \
          scratch[k++] = v[a++];                                               \
        while(b < hi)                                                          \
          scratch[k++] = v[b++];                                               \
      }                                                                        \
      memcpy(v, scratch, n * sizeof(*v));                                      \
    }                                                                          \
  }

DEFINE_SORT(qparam_sort, struct es_sv4_qparam, qparam_cmp)

int es_sv4_qlist_emit(struct es_sv4_qlist *q, struct es_buf *out)
{
  size_t i, total = 0;
  const char *t;
  char *d;
  int rc;
  if(q->n > 16) {
    /* Borrow the free tail of the array as merge scratch, growing it once. */
    while(q->cap < 2 * q->n) {
      struct es_sv4_qparam *nv;
      if(q->cap > (size_t)-1 / 2 / sizeof(*nv))
        return ES_ENOMEM;
      nv = realloc(q->v, q->cap * 2 * sizeof(*nv));
      if(!nv)
        return ES_ENOMEM;
      q->v = nv;
      q->cap *= 2;
    }
  }
  t = q->text.data;
  qparam_sort(t, q->v, q->n, q->n > 16 ? q->v + q->n : NULL);
  for(i = 0; i < q->n; i++)
    total += q->v[i].name_len + q->v[i].val_len + 2;
  rc = es_buf_reserve(out, total);
  if(rc)
    return rc;
  d = out->data + out->len;
  for(i = 0; i < q->n; i++) {
    const struct es_sv4_qparam *p = &q->v[i];
    if(i)
      *d++ = '&';
    memcpy(d, t + p->name_off, p->name_len);
    d += p->name_len;
    *d++ = '=';
    memcpy(d, t + p->val_off, p->val_len);
    d += p->val_len;
  }
  out->len = (size_t)(d - out->data);
  out->data[out->len] = '\0';
  return ES_OK;
}

/* ---- headers -------------------------------------------------------------- */

void es_sv4_hlist_reset(struct es_sv4_hlist *h)
{
  h->n = 0;
  es_buf_reset(&h->text);
}

void es_sv4_hlist_free(struct es_sv4_hlist *h)
{
  free(h->v);
  h->v = NULL;
  h->n = h->cap = 0;
  es_buf_wipe_free(&h->text);
}

/* ---- word-at-a-time scans ---- */

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static uint64_t load64(const char *p)
{
  uint64_t x;
  memcpy(&x, p, 8);
  return x;
}

/* High bit set in some byte iff some byte of x is below 0x21 (exact as an
   "any" test for every byte value: classic hasless(x, 0x21)). */
static uint64_t any_below_21(uint64_t x)
{
  return (x - ONES * 0x21) & ~x & HIGHS;
}

size_t es_sv4_span_visible(const char *s, size_t n)
{
  size_t i = 0;
  while(i + 8 <= n && !any_below_21(load64(s + i)))
    i += 8;
  while(i < n && (unsigned char)s[i] > 0x20)
    i++;
  return i;
}

/* 16-byte vectors (GCC/Clang vector extension; plain SSE2 on x86-64, split
   into scalar words elsewhere): the token check handles 16 bytes per step. */
typedef uint64_t v2u64 __attribute__((vector_size(16)));

int es_sv4_all_visible(const char *s, size_t n)
{
  /* Branch-free over whole blocks; the answer is only needed at the end. */
  const v2u64 ones = {ONES, ONES}, c21 = ones * 0x21, c7f = ones * 0x7f;
  v2u64 bad = {0, 0};
  size_t i = 0;
  for(; i + 16 <= n; i += 16) {
    v2u64 x, y;
    memcpy(&x, s + i, 16);
    y = x ^ c7f;
    /* high bit set, below 0x21, or 0x7f */
    bad |= x | ((x - c21) & ~x) | ((y - ones) & ~y);
  }
  if((bad[0] | bad[1]) & HIGHS)
    return 0;
  for(; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if(c <= 0x20 || c >= 0x7f)
      return 0;
  }
  return 1;
}

/* ---- headers ---- */

static int hlist_slot(struct es_sv4_hlist *h, size_t nlen, size_t vlen, struct es_sv4_hent **e)
{
  if(h->n == h->cap) {
    size_t ncap = h->cap ? h->cap * 2 : 16;
    struct es_sv4_hent *nv;
    if(ncap > (size_t)-1 / 2 / sizeof(*nv))
      return ES_ENOMEM;
    nv = realloc(h->v, ncap * sizeof(*nv));
    if(!nv)
      return ES_ENOMEM;
    h->v = nv;
    h->cap = ncap;
  }
  if(nlen > (size_t)-1 / 2 - vlen)
    return ES_ENOMEM;
  if(es_buf_reserve(&h->text, nlen + vlen))
    return ES_ENOMEM;
  *e = &h->v[h->n];
  (*e)->seq = h->n;
  return ES_OK;
}

/* ASCII lower-case of 8 bytes at once: bit 0x20 is set in every byte
   'A'..'Z'; no carry crosses a byte boundary. */
static uint64_t lower8(uint64_t x)
{
  uint64_t h = x & (ONES * 0x7f);
  uint64_t ge_a = h + ONES * (0x80 - 'A');
  uint64_t gt_z = h + ONES * (0x7f - 'Z');
  return x | (((ge_a ^ gt_z) & ~x & HIGHS) >> 2);
}

/* Copy (lower-casing unless already_lower) the name into the text; return
   where the value goes. */
static char *put_name(struct es_sv4_hlist *h, struct es_sv4_hent *e, const char *name, size_t nlen,
                      int already_lower)
{
  char *d = h->text.data + h->text.len;
  size_t i = 0;
  e->name_off = h->text.len;
  e->name_len = nlen;
  if(already_lower) {
    memcpy(d, name, nlen);
  }
  else {
    for(; i + 8 <= nlen; i += 8) {
      uint64_t x = lower8(load64(name + i));
      memcpy(d + i, &x, 8);
    }
    for(; i < nlen; i++)
      d[i] = (char)es_ascii_lower((unsigned char)name[i]);
  }
  e->val_off = e->name_off + nlen;
  e->ext = NULL;
  return d + nlen;
}

static void finish_entry(struct es_sv4_hlist *h, struct es_sv4_hent *e, char *end)
{
  e->val_len = (size_t)(end - h->text.data) - e->val_off;
  h->text.len = (size_t)(end - h->text.data);
  h->text.data[h->text.len] = '\0';
  h->n++;
}

int es_sv4_hlist_add(struct es_sv4_hlist *h, const char *name, size_t nlen,
                     const char *val, size_t vlen)
{
  struct es_sv4_hent *e;
  size_t i, end;
  char *d;
  int rc = hlist_slot(h, nlen, vlen, &e);
  if(rc)
    return rc;
  d = put_name(h, e, name, nlen, 0);

  i = 0;
  end = vlen;
  while(i < end && is_hws((unsigned char)val[i]))
    i++;
  while(end > i && is_hws((unsigned char)val[end - 1]))
    end--;
  /* Copy runs of non-space bytes whole; a whitespace run becomes one space.
     Bytes below 0x21 that are not whitespace (other controls) are rare and
     copied like any other byte. */
  while(i < end) {
    size_t run = es_sv4_span_visible(val + i, end - i);
    memcpy(d, val + i, run);
    d += run;
    i += run;
    if(i >= end)
      break;
    if(is_hws((unsigned char)val[i])) {
      while(i < end && is_hws((unsigned char)val[i]))
        i++;
      *d++ = ' ';
    }
    else {
      *d++ = val[i++];
    }
  }
  finish_entry(h, e, d);
  return ES_OK;
}

int es_sv4_hlist_add_canonical(struct es_sv4_hlist *h, const char *name, size_t nlen,
                               const char *val, size_t vlen)
{
  struct es_sv4_hent *e;
  char *d;
  int rc = hlist_slot(h, nlen, 0, &e);
  if(rc)
    return rc;
  d = put_name(h, e, name, nlen, 1);
  finish_entry(h, e, d);
  e->ext = val;
  e->val_len = vlen;
  return ES_OK;
}

static int hent_cmp(const char *t, const struct es_sv4_hent *a, const struct es_sv4_hent *b)
{
  const unsigned char *x = (const unsigned char *)t + a->name_off;
  const unsigned char *y = (const unsigned char *)t + b->name_off;
  int c;
  /* Header names mostly differ in their first byte: settle that inline. */
  if(a->name_len && b->name_len && x[0] != y[0])
    return x[0] < y[0] ? -1 : 1;
  c = bytes_cmp((const char *)x, a->name_len, (const char *)y, b->name_len);
  if(c)
    return c;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

DEFINE_SORT(hent_sort, struct es_sv4_hent, hent_cmp)
#undef DEFINE_SORT

static int same_name(const char *t, const struct es_sv4_hent *a, const struct es_sv4_hent *b)
{
  return a->name_len == b->name_len && memcmp(t + a->name_off, t + b->name_off, a->name_len) == 0;
}

int es_sv4_hlist_sort_names(struct es_sv4_hlist *h, struct es_buf *names)
{
  size_t i, total = 0;
  const char *t;
  char *nd;
  int rc;
  if(h->n > 16) {
    /* Borrow the tail of the array as merge scratch, growing it once. */
    while(h->cap < 2 * h->n) {
      struct es_sv4_hent *nv;
      if(h->cap > (size_t)-1 / 2 / sizeof(*nv))
        return ES_ENOMEM;
      nv = realloc(h->v, h->cap * 2 * sizeof(*nv));
      if(!nv)
        return ES_ENOMEM;
      h->v = nv;
      h->cap *= 2;
    }
  }
  t = h->text.data;
  hent_sort(t, h->v, h->n, h->n > 16 ? h->v + h->n : NULL);
  for(i = 0; i < h->n; i++)
    total += h->v[i].name_len + 1;
  rc = es_buf_reserve(names, total);
  if(rc)
    return rc;
  nd = names->data + names->len;
  for(i = 0; i < h->n; i++) {
    const struct es_sv4_hent *e = &h->v[i];
    if(i > 0 && same_name(t, e, &h->v[i - 1]))
      continue;
    if(i > 0)
      *nd++ = ';';
    memcpy(nd, t + e->name_off, e->name_len);
    nd += e->name_len;
  }
  names->len = (size_t)(nd - names->data);
  names->data[names->len] = '\0';
  return ES_OK;
}

size_t es_sv4_hlist_block_size(const struct es_sv4_hlist *h)
{
  size_t i, total = 0;
  for(i = 0; i < h->n; i++)
    total += h->v[i].name_len + h->v[i].val_len + 2;
  return total;
}

void es_sv4_hlist_block(const struct es_sv4_hlist *h, struct es_buf *out)
{
  const char *t = h->text.data;
  char *d = out->data + out->len;
  size_t i;
  for(i = 0; i < h->n; i++) {
    const struct es_sv4_hent *e = &h->v[i];
    if(i > 0 && same_name(t, e, &h->v[i - 1])) {
      *d++ = ',';          /* repeated header: values in arrival order */
    }
    else {
      if(i > 0)
        *d++ = '\n';
      memcpy(d, t + e->name_off, e->name_len);
      d += e->name_len;
      *d++ = ':';
    }
    memcpy(d, e->ext ? e->ext : t + e->val_off, e->val_len);
    d += e->val_len;
  }
  if(h->n > 0)
    *d++ = '\n';
  out->len = (size_t)(d - out->data);
  out->data[out->len] = '\0';
}
