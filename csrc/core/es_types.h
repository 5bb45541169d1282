/*
 * es_types.h: the plain types several parts of the core share: an HTTP
 * header, a set of AWS credentials and the injectable wall clock. Kept apart
 * so a part that needs one of them (the error-shape parser, the retry policy)
 * does not have to include the signer or the engine that use them.
 */
#ifndef ES_TYPES_H
#define ES_TYPES_H

#include <stddef.h>
#include <time.h>

/* One HTTP header as given by the caller; names and values need not be NUL-terminated. */
struct es_header {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
};

/* AWS credentials. Only the access key id is not a secret. */
struct es_credentials {
  const char *access_key_id;
  const char *secret_access_key;
  const char *session_token;      /* NULL for long-term credentials */
};

/* Clock hook: returns the current UNIX time. Default (NULL hook): time(NULL). */
typedef time_t (*es_clock_fn)(void *ud);

#endif
