/*
 * jsonbound.h: check a JSON text against size bounds before anything decodes it.
 *
 * A decoded JSON document costs far more memory than its text: every value
 * becomes a Lua value, every array or object a table, so a 16 MiB body of small
 * values grew to about 485 MB in Lua. The XML decoder bounds its tree
 * (xml.h); this scanner gives JSON the same bounds, in one pass over the text
 * without allocating per value: the number of values and the nesting depth.
 *
 * The scan follows RFC 8259: objects, arrays, strings with their escapes
 * (\" \\ \/ \b \f \n \r \t \uXXXX; raw control characters refused), numbers
 * (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?), true, false, null, one
 * top-level value with optional whitespace around it. It does not decode
 * strings or check their UTF-8 (the decoder that follows does).
 *
 * Counted values: every array, object, string, number and literal, and every
 * object member name (each becomes a Lua string). Depth: the root array or
 * object is level 1; scalars add no level.
 */
#ifndef ES_JSONBOUND_H
#define ES_JSONBOUND_H

#include <stddef.h>

/* Bounds in the spirit of the XML decoder's (ES_XML_DEFAULT_*). */
#define ES_JSON_DEFAULT_MAX_DEPTH 64u
#define ES_JSON_DEFAULT_MAX_VALUES 1000000u
/* The deepest nesting a caller may ask for (the scanner keeps one byte per level). */
#define ES_JSON_MAX_DEPTH_LIMIT 100000u

/* Limits; a zero field takes its default. Pass NULL for all defaults. */
struct es_json_limits {
  unsigned max_depth;
  size_t max_values;
};

/* Which limit a refused document exceeded. */
enum es_json_limit { ES_JSON_WITHIN = 0, ES_JSON_TOO_DEEP, ES_JSON_TOO_MANY_VALUES };

struct es_json_stats {
  size_t values;          /* values counted (up to where the scan stopped) */
  unsigned depth;         /* deepest nesting seen */
  size_t offset;          /* byte offset where the scan stopped (on failure) */
  enum es_json_limit exceeded;
};

/*
 * Scan data[0..len). Returns ES_OK (st->values, st->depth filled), or:
 *   ES_ERANGE  a limit was exceeded (st->exceeded says which; the scan stops there);
 *   ES_EPARSE  not one well-formed JSON value (st->offset is where it went wrong);
 *   ES_ENOMEM  out of memory (a max_depth beyond 4096 allocates its stack);
 *   ES_EINVAL  data NULL with len > 0, or max_depth > ES_JSON_MAX_DEPTH_LIMIT.
 * st may be NULL. errbuf (may be NULL) gets a one-line message naming the limit
 * or the offset; it never quotes the document (it may carry credentials).
 */
int es_json_check(const char *data, size_t len, const struct es_json_limits *lim,
                  struct es_json_stats *st, char *errbuf, size_t errlen);

#endif
