/*
 * guard.h: the irreversibility guard.
 *
 * Switching an EKS cluster's controlPlaneEgressMode to CUSTOMER_ROUTED cannot be
 * undone. Every EKS request passes es_guard_check() after it is fully built and
 * before it is signed (the engine calls it; no caller can skip it). The decision
 * function is pure: no I/O, no globals, no allocation visible to the caller.
 *
 * The current mode is not taken from the caller's word: the engine feeds every
 * DescribeCluster response it receives to es_guard_observe(), and es_guard_check
 * callers look it up with es_guard_state_lookup() (fresh within max_age).
 */
#ifndef ES_GUARD_H
#define ES_GUARD_H

#include <stddef.h>
#include <time.h>

#include "es_buf.h"

enum es_guard_action {
  ES_GUARD_ALLOW = 0,
  ES_GUARD_REFUSE = 1,
  ES_GUARD_NOOP = 2     /* the request would change nothing: it is not sent */
};

enum es_guard_code {
  ES_GUARD_OK = 0,                               /* allow */
  ES_GUARD_IRREVERSIBLE_NOT_ACKNOWLEDGED,        /* IrreversibleChangeNotAcknowledged */
  ES_GUARD_TRANSITION_REFUSED,                   /* IrreversibleTransitionRefused */
  ES_GUARD_UNDOCUMENTED_MODE,                    /* UndocumentedMode */
  ES_GUARD_MIXED_UPDATE,                         /* MixedUpdate */
  ES_GUARD_CURRENT_MODE_UNKNOWN,                 /* CurrentModeUnknown */
  ES_GUARD_AMBIGUOUS_REQUEST,                    /* AmbiguousRequest */
  ES_GUARD_NO_CHANGE                             /* NoChange (action noop) */
};

struct es_guard_input {
  const char *method;            /* as it will be sent */
  const char *target;            /* raw request-target: path[?query] */
  size_t target_len;
  const char *body;              /* may be NULL when body_len == 0 */
  size_t body_len;
  const char *current_mode;      /* NULL when unknown */
  const char *acknowledge;       /* out-of-band acknowledgement (cluster name); NULL if none */
  int allow_undocumented;        /* explicit opt-in for CUSTOMER_ISOLATED / unknown values */
};

struct es_guard_decision {
  enum es_guard_action action;
  enum es_guard_code code;
  int touches_mode;              /* 1 if the request sets (or may set) the egress mode */
  char cluster[128];             /* cluster name when known, else "" (truncated, never unsafe) */
  char from[64];                 /* current mode, "" when unknown or not relevant */
  char to[64];                   /* requested mode, "" when none */
  char message[512];             /* human-readable reason */
};

/* Decide. Returns ES_OK (the decision is in *out) or ES_EINVAL on NULL arguments
   (out, when not NULL, then holds refuse/AmbiguousRequest too: fail closed).

   Only uppercase POST to exactly "/clusters" or "/clusters/{name}/update-config"
   ({name} matching ^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$, no query) with a strict JSON
   object body may set the mode. Any other method/target that a lenient server
   could route to those operations (letter case, percent-encoding, dot segments,
   repeated or trailing slashes, ";params", backslashes, absolute-form, fragments,
   control or non-ASCII bytes) is AmbiguousRequest; so is a body on any other
   operation that names the mode, and any non-empty body that is not strict JSON.
   UpdateClusterConfig precedence: AmbiguousRequest, IrreversibleTransitionRefused
   (anything but AWS_MANAGED -> AWS_MANAGED, when the current mode is known),
   MixedUpdate, CurrentModeUnknown (NULL or ""), NoChange, UndocumentedMode,
   IrreversibleChangeNotAcknowledged. touches_mode is 1 for every
   AmbiguousRequest. */
int es_guard_check(const struct es_guard_input *in, struct es_guard_decision *out);

/* "allow" | "refuse" | "noop" */
const char *es_guard_action_name(enum es_guard_action a);
/* NULL for ES_GUARD_OK, else the code name, e.g. "IrreversibleTransitionRefused" */
const char *es_guard_code_name(enum es_guard_code c);

/* ---- observed cluster modes (per engine) -------------------------------- */

struct es_guard_state;

struct es_guard_state *es_guard_state_new(void);
void es_guard_state_free(struct es_guard_state *st);

/* Feed one EKS response: if it is a successful DescribeCluster (GET /clusters/{name},
   status 200), remember the cluster's mode (or "mode absent") for (endpoint, name) at now.
   A successful UpdateClusterConfig or CreateCluster forgets the entry (the mode may change).
   endpoint identifies the region (e.g. the Host header). Never fails loudly: bad bodies are ignored. */
void es_guard_observe(struct es_guard_state *st, const char *endpoint,
                      const char *method, const char *target, size_t target_len,
                      long status, const char *body, size_t body_len, time_t now);

/* Look up the mode last observed for (endpoint, cluster) no older than max_age seconds.
   Returns the mode string (owned by the state, valid until the next observe/free),
   or NULL when unknown or stale. A response without the field yields NULL. */
const char *es_guard_state_lookup(struct es_guard_state *st, const char *endpoint,
                                  const char *cluster, time_t now, long max_age);

/* Forget what was observed for (endpoint, cluster) (NULL endpoint: ""). */
void es_guard_state_forget(struct es_guard_state *st, const char *endpoint, const char *cluster);

/* Number of remembered (endpoint, cluster) entries; the state keeps at most 4096
   and evicts the oldest observation beyond that. */
size_t es_guard_state_count(const struct es_guard_state *st);

/* Extract the cluster name from an EKS request-target for /clusters/{name}[/...]
   (the first segment after /clusters/, percent-decoded). Returns 1 if found. */
int es_guard_target_cluster(const char *target, size_t target_len, char *out, size_t out_size);

/* Append one audit record as a single JSON line (with trailing newline) to out:
   {"time":"...","cluster":...,"from":...,"to":...,"decision":...,"code":...,"identity":...,"message":...}
   identity may be NULL. Strings are JSON-escaped. */
int es_guard_audit_line(const struct es_guard_decision *d, time_t when, const char *identity,
                        struct es_buf *out);

#endif
