/*
 * guard_internal.h: helpers shared by guard.c, guard_json.c and guard_state.c.
 * Not part of the public API (the core builds with -fvisibility=hidden).
 */
#ifndef ES_GUARD_INTERNAL_H
#define ES_GUARD_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

/* Longest cluster name EKS accepts (^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$). */
#define ES_GUARD_NAME_MAX 100

/* Requests larger than these are refused as ambiguous: no EKS request comes close,
   and the bounds keep the work per check small. */
#define ES_GUARD_MAX_TARGET 8192
#define ES_GUARD_MAX_BODY   (1024 * 1024)

/* Canonical operations the guard and the state recognise, byte for byte. */
enum es_guard_op {
  ES_GOP_NONE = 0,
  ES_GOP_CREATE,          /* POST /clusters */
  ES_GOP_UPDATE_CONFIG,   /* POST /clusters/{name}/update-config */
  ES_GOP_DESCRIBE,        /* GET /clusters/{name} */
  ES_GOP_DELETE           /* DELETE /clusters/{name} */
};

/* 1 if s[0..n) matches ^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$ */
int es_guard_name_valid(const char *s, size_t n);

/* Classify method + target when both are exactly canonical (uppercase method,
   no query, no encoding, valid name). name_out (ES_GUARD_NAME_MAX + 1 bytes)
   receives the cluster name for the ops that carry one, else "". */
enum es_guard_op es_guard_canonical_op(const char *method, const char *target, size_t target_len,
                                       char name_out[ES_GUARD_NAME_MAX + 1]);

/* Copy src[0..n) into dst (size >= 1) for display: control characters and
   invalid UTF-8 become '?', truncation never splits a UTF-8 sequence, the
   result is always NUL-terminated. */
void es_guard_copy_display(char *dst, size_t size, const char *src, size_t n);

/* Compare a decoded JSON key with an ASCII lower-case word (no '_' or '-'),
   the way a lenient server might: ASCII case ignored; '_', '-', white space,
   controls, zero-width and format characters, combining marks and variation
   selectors skipped; and the non-ASCII letters case-insensitive or
   normalizing matchers fold onto ASCII (U+017F long s, dotted/dotless i, the
   Kelvin sign, fullwidth, mathematical, enclosed and small-capital letters,
   Latin-1 accented letters, Greek and Cyrillic look-alikes) mapped to them.
   The same folding tells a mode value that reads as AWS_MANAGED. */
int es_guard_key_folds_to(const char *key, const char *word);

/* es_guard_key_folds_to for s[0..n) (a JSON string value may hold no NUL,
   but the length is what jansson reports). */
int es_guard_folds_to(const char *s, size_t n, const char *word);

/* What the caller should do about an ambiguous request (end of the message). */
#define ES_GUARD_FIX_JSON "send the body as one strict JSON object (UTF-8, no NUL, no duplicate keys)"
#define ES_GUARD_FIX_PLACE "set the mode only as resourcesVpcConfig.controlPlaneEgressMode, spelled exactly so"
#define ES_GUARD_FIX_OTHER_OP "change the mode only with CreateCluster or UpdateClusterConfig"
#define ES_GUARD_FIX_VALUE "set controlPlaneEgressMode to a string such as \"CUSTOMER_ROUTED\", or leave it out"
#define ES_GUARD_FIX_TARGET "send uppercase POST to exactly /clusters or /clusters/{name}/update-config " \
                            "(no query, no encoding, no extra or trailing slashes)"
#define ES_GUARD_FIX_NAME "give the cluster a valid EKS name (^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$)"

/* ---- JSON body analysis (guard_json.c) ---------------------------------- */

struct es_guard_body {
  json_t *root;                  /* owned; NULL when the body did not parse */
  char problem[200];             /* non-empty: the body is ambiguous, and why */
  const char *remedy;            /* what to do about it (an ES_GUARD_FIX_* string) */
  int mode_mentions;             /* keys anywhere that fold to controlplaneegressmode */
  json_t *mode;                  /* borrowed: value of resourcesVpcConfig.controlPlaneEgressMode */
  const char *extra_key;         /* borrowed: first top-level key besides resourcesVpcConfig and
                                    clientRequestToken, NULL if none */
  const char *extra_vpc_key;     /* borrowed: first key in resourcesVpcConfig besides the mode */
};

/* Parse body strictly (UTF-8, no NUL, no duplicate keys, an object at the top)
   and look for the egress mode. legal_place: 1 for CreateCluster and
   UpdateClusterConfig, where resourcesVpcConfig.controlPlaneEgressMode is the
   one place the mode may be; 0 for every other operation (the mode may be
   nowhere). On return b->problem is "" when the body is clean.
   Returns ES_OK or ES_ENOMEM (then b->problem is set too: fail closed). */
int es_guard_body_analyze(struct es_guard_body *b, const char *body, size_t len, int legal_place);
void es_guard_body_free(struct es_guard_body *b);

#endif
