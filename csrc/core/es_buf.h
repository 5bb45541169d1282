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
};

#define ES_BUF_INIT {NULL, 0, 0}

int es_buf_reserve(struct es_buf *b, size_t extra);
/* As es_buf_reserve, but a move to a bigger block zeroes the old one before
   freeing it, so a buffer holding secrets leaves no copy behind. */
int es_buf_reserve_secret(struct es_buf *b, size_t extra);
int es_buf_append(struct es_buf *b, const void *p, size_t n);
int es_buf_puts(struct es_buf *b, const char *s);
int es_buf_putc(struct es_buf *b, char c);
int es_buf_printf(struct es_buf *b, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
void es_buf_reset(struct es_buf *b);           /* len = 0, keeps memory */
void es_buf_free(struct es_buf *b);            /* releases memory */
void es_buf_wipe_free(struct es_buf *b);       /* zeroes, then releases (secrets) */

#endif
