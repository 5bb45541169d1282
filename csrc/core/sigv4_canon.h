/*
 * sigv4_canon.h: private canonicalization helpers of the SigV4 signer
 * (URI path, query string, headers). Not part of the public API; only
 * sigv4.c includes it.
 *
 * The lists below keep their text in one growable buffer and refer to it by
 * offset (never by pointer: the buffer may move when it grows). The signer
 * owns one list of each kind and reuses it for every signing, so the hot
 * path allocates nothing once the buffers have reached their working size.
 */
#ifndef ES_SIGV4_CANON_H
#define ES_SIGV4_CANON_H

#include <stddef.h>

#include "es_buf.h"

/* Canonical URI of the wire path p[0..n) (no query), appended to out.
   normalize: remove dot segments and repeated slashes (botocore rules);
   double_encode: UriEncode the (already encoded) wire path once more. */
int es_sv4_canon_path(struct es_buf *out, const char *p, size_t n, int normalize,
                      int double_encode, struct es_buf *tmp);

/* ---- query parameters ---- */

struct es_sv4_qparam {
  size_t name_off, name_len;   /* UriEncoded, in qlist.text */
  size_t val_off, val_len;
};

struct es_sv4_qlist {
  struct es_sv4_qparam *v;
  size_t n, cap;
  struct es_buf text;
  struct es_buf tmp;           /* percent-decoding scratch */
};

void es_sv4_qlist_reset(struct es_sv4_qlist *q);
void es_sv4_qlist_free(struct es_sv4_qlist *q);
/* Parse a raw query string (without '?'): split on '&', each pair on its first
   '=', percent-decode then UriEncode name and value. Empty pairs are skipped. */
int es_sv4_qlist_parse(struct es_sv4_qlist *q, const char *s, size_t n);
/* Add one parameter given in decoded (raw) form; it is UriEncoded here. */
int es_sv4_qlist_add(struct es_sv4_qlist *q, const char *name, size_t nlen,
                     const char *val, size_t vlen);
/* Does any parameter have this encoded name (ASCII case-insensitive)? */
int es_sv4_qlist_has(const struct es_sv4_qlist *q, const char *name);
/* Sort by encoded name, then encoded value (byte order), and append the
   canonical query string ("a=1&b=") to out. */
int es_sv4_qlist_emit(struct es_sv4_qlist *q, struct es_buf *out);

/* ---- headers ---- */

struct es_sv4_hent {
  size_t name_off, name_len;   /* lower-cased, in hlist.text */
  size_t val_off, val_len;     /* trimmed, whitespace runs collapsed */
  const char *ext;             /* non-NULL: the value is ext[0..val_len), not in text */
  size_t seq;                  /* arrival order, for a stable sort */
};

struct es_sv4_hlist {
  struct es_sv4_hent *v;
  size_t n, cap;
  struct es_buf text;
};

void es_sv4_hlist_reset(struct es_sv4_hlist *h);
void es_sv4_hlist_free(struct es_sv4_hlist *h);
/* Add a header: the name is lower-cased, the value trimmed and every run of
   whitespace (SP, HT, CR, LF: folded lines included) collapsed to one space. */
int es_sv4_hlist_add(struct es_sv4_hlist *h, const char *name, size_t nlen,
                     const char *val, size_t vlen);
/* Add a header whose value is already canonical (the signer's own X-Amz-*
   values, checked to hold no whitespace) and whose name is lower-case
   already. The value is referenced, not
   copied: it must stay valid until es_sv4_hlist_block() has run. */
int es_sv4_hlist_add_canonical(struct es_sv4_hlist *h, const char *name, size_t nlen,
                               const char *val, size_t vlen);
/* Sort by name (stable) and append the ';'-separated list of distinct names
   (SignedHeaders) to names. Call once, before es_sv4_hlist_block(). */
int es_sv4_hlist_sort_names(struct es_sv4_hlist *h, struct es_buf *names);
/* Bytes es_sv4_hlist_block() appends, at most. */
size_t es_sv4_hlist_block_size(const struct es_sv4_hlist *h);
/* Append the canonical header block ("name:value\n" per distinct name,
   duplicates joined with ',' in arrival order) to out, which must have room
   for es_sv4_hlist_block_size() more bytes. */
void es_sv4_hlist_block(const struct es_sv4_hlist *h, struct es_buf *out);

/* Index of the first byte of s[0..n) below 0x21 (space, controls), or n.
   Word-at-a-time: session tokens run to a kilobyte and are scanned on every
   signing. */
size_t es_sv4_span_visible(const char *s, size_t n);
/* Are all bytes of s[0..n) visible ASCII (0x21..0x7e)? */
int es_sv4_all_visible(const char *s, size_t n);

/* Lower-case ASCII name comparison: does s[0..n) equal lit (lower-case)? */
int es_sv4_name_eq(const char *s, size_t n, const char *lit);

#endif
