/*
 * es_buf.h: a growable byte buffer, always NUL-terminated so it can be used
 * as a C string. Growth failures are reported (ES_ENOMEM), never aborted.
 */
#ifndef ES_BUF_H
#define ES_BUF_H

#include <stddef.h>

struct es_buf {
  char *data;    /* NUL-terminated when cap > 0 */
  size_t len;
  size_t cap;
  int secret;    /* nonzero: may hold secrets; see es_buf_set_secret */
};

#define ES_BUF_INIT {NULL, 0, 0, 0}

int es_buf_reserve(struct es_buf *b, size_t extra);
/* Mark b as holding secrets (a session token, a credentials file, a response
   carrying keys): from now on every move to a bigger block zeroes the old one
   before freeing it (no realloc, which may free the old block uncleared), and
   es_buf_free zeroes before releasing, so the buffer leaves no copy behind
   however it is grown (es_buf_append, es_buf_printf, ...) or freed. */
void es_buf_set_secret(struct es_buf *b);
/* es_buf_set_secret, then es_buf_reserve. */
int es_buf_reserve_secret(struct es_buf *b, size_t extra);
int es_buf_append(struct es_buf *b, const void *p, size_t n);
int es_buf_puts(struct es_buf *b, const char *s);
int es_buf_putc(struct es_buf *b, char c);
int es_buf_printf(struct es_buf *b, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
void es_buf_reset(struct es_buf *b);           /* len = 0, keeps memory */
void es_buf_free(struct es_buf *b);            /* releases memory (zeroed first if secret) */
void es_buf_wipe_free(struct es_buf *b);       /* zeroes, then releases (secrets) */

#endif
