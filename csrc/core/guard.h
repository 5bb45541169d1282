/*
 * guard.h: the irreversibility guard.
 *
 * Switching an EKS cluster's controlPlaneEgressMode to CUSTOMER_ROUTED cannot be
 * undone. Every EKS request passes es_guard_check() after it is fully built and
 * before it is signed (the engine calls it; no caller can skip it). The decision
 * function is pure: no I/O, no globals, no allocation visible to the caller.
 *
 * The current mode is not taken from the caller's word: the engine feeds every
 * DescribeCluster response it receives to es_guard_observe(), keyed by the
 * identity that made the request (its access key id), the endpoint and the
 * cluster name, and es_guard_gate() looks it up just before the check: from
 * the one DescribeCluster the caller names (observed_with), or else the
 * latest fresh one of the same identity, endpoint and cluster.
 */
#ifndef ES_GUARD_H
#define ES_GUARD_H

#include <stddef.h>
#include <time.h>

#include "es_buf.h"
#include "journal.h"

/* Seconds an observed mode stays trusted. */
#define ES_GUARD_MAX_AGE 300

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
  ES_GUARD_NO_CHANGE,                            /* NoChange (action noop) */
  ES_GUARD_INVALID_MODE_VALUE                    /* InvalidModeValue */
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

   Mode values. A requested mode must be plain ASCII [A-Z_]+: any other value
   (letter case, white space, control, zero-width or format characters,
   fullwidth or other look-alike letters, digits, an empty string) is
   InvalidModeValue, whatever the options: EKS, or something in between, could
   read it as a documented mode. A value that folds onto AWS_MANAGED (ASCII
   case, '_' '-' and the characters above dropped, fullwidth, mathematical,
   enclosed, small-capital, Latin-1 accented, Greek and Cyrillic look-alike
   letters mapped to ASCII) without being exactly AWS_MANAGED is a revert:
   IrreversibleTransitionRefused on an update unless the cluster is known to
   be exactly AWS_MANAGED (then InvalidModeValue), and InvalidModeValue on a
   create. No option overrides either.

   UpdateClusterConfig precedence: AmbiguousRequest, IrreversibleTransitionRefused
   (AWS_MANAGED exactly, from a known mode other than AWS_MANAGED; or a value
   that only folds to AWS_MANAGED, from any mode but exactly AWS_MANAGED,
   known or not), InvalidModeValue, MixedUpdate, CurrentModeUnknown (NULL or
   ""), NoChange, IrreversibleChangeNotAcknowledged (AWS_MANAGED ->
   CUSTOMER_ROUTED without acknowledge = the cluster name), UndocumentedMode
   (any other transition without allow_undocumented and the acknowledgement).
   CreateCluster: AmbiguousRequest, InvalidModeValue, then AWS_MANAGED is
   allowed, CUSTOMER_ROUTED needs the acknowledgement, any other value
   allow_undocumented and the acknowledgement. touches_mode is 1 for every
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

/* Observations are keyed by (identity, endpoint, cluster name). identity is
   the access key id of the credentials that signed the request ("" or NULL:
   unsigned), so one account's DescribeCluster never decides another
   account's update; endpoint identifies the region (the Host header). */

/* How many DescribeCluster responses of one key, in a row with the same
   mode, stay usable as observed_with (older ones are forgotten). */
#define ES_GUARD_OBS_KEEP 8

/* Feed one EKS response of request obs_id (the engine's request id): a
   successful DescribeCluster (GET /clusters/{name}, 200) is remembered for
   (identity, endpoint, name) at now, with its mode or "mode absent"; a
   DescribeCluster 404, any UpdateClusterConfig or DeleteCluster outcome (even a
   failure: it may have been applied) and a successful CreateCluster forget that
   key; a CreateCluster whose outcome or name is unknown forgets every cluster of
   the endpoint, for every identity. Never fails loudly: bad bodies forget. */
void es_guard_observe(struct es_guard_state *st, const char *identity, const char *endpoint,
                      const char *method, const char *target, size_t target_len,
                      long status, const char *body, size_t body_len, time_t now,
                      unsigned long long obs_id);

/* The mode last observed for (identity, endpoint, cluster) no older than max_age
   seconds (an observation from the future is not trusted either). Returns the
   mode string (owned by the state, valid until the next observe/forget/free), or
   NULL when unknown or stale. A response without the field yields NULL. */
const char *es_guard_state_lookup(struct es_guard_state *st, const char *identity,
                                  const char *endpoint, const char *cluster, time_t now,
                                  long max_age);

/* The mode DescribeCluster obs_id observed, only if that observation was of the
   same identity, endpoint and cluster, is no older than max_age, and nothing
   since made the state forget or change that cluster's mode. Else NULL. */
const char *es_guard_state_lookup_observation(struct es_guard_state *st, unsigned long long obs_id,
                                              const char *identity, const char *endpoint,
                                              const char *cluster, time_t now, long max_age);

/* The current mode the guard relies on for a request: observation
   observed_with only when it is not 0, else the latest of (identity, endpoint,
   cluster); fresh within ES_GUARD_MAX_AGE at now. NULL when unknown. */
const char *es_guard_state_current(struct es_guard_state *st, unsigned long long observed_with,
                                   const char *identity, const char *endpoint, const char *cluster,
                                   time_t now);

/* Forget what was observed for (identity, endpoint, cluster) (NULL: ""). */
void es_guard_state_forget(struct es_guard_state *st, const char *identity, const char *endpoint,
                           const char *cluster);

/* Number of remembered (identity, endpoint, cluster) entries; the state keeps at
   most 4096 and evicts the oldest observation beyond that. */
size_t es_guard_state_count(const struct es_guard_state *st);

/* ---- the gate (guard_gate.c): what the engine runs for every EKS request ---- */

/* Is the request bound for EKS? service "eks" (any case); or the URL host or
   the Host header starting with "eks." or "eks-fips." (any case); or the
   target's first path segment, after percent-decoding and the normalizations a
   lenient server applies, being "clusters" (any case). Any argument may be
   NULL. The engine guards every such request, whoever built it. */
int es_guard_targets_eks(const char *service, const char *url_host, const char *host_header,
                         const char *target, size_t target_len);

struct es_guard_request {
  const char *method;
  const char *target;
  size_t target_len;
  const char *body;
  size_t body_len;
  const char *access_key_id;          /* the signing identity; NULL or "" when unsigned */
  const char *endpoint;               /* the Host the request is sent to */
  unsigned long long observed_with;   /* DescribeCluster request id the caller relies on; 0: none */
  const char *acknowledge;
  int allow_undocumented;
  const char *identity;               /* for the audit line (e.g. the caller's ARN), or NULL */
};

/* Decide one request: take the current mode from the state (from observation
   observed_with only, when given; else by identity, endpoint and cluster; fresh
   within ES_GUARD_MAX_AGE at now), run es_guard_check, and when the decision
   touches the mode or is not a plain allow, append its audit line to audit
   (NULL: no audit log). An allowed mode change makes the state forget the
   cluster at once, so the same observation never allows a second change.
   Returns ES_OK, or the audit failure (ES_EIO, ES_ENOMEM; *sys_errno set when
   not NULL): the caller must then not send the request. */
int es_guard_gate(struct es_guard_state *st, struct es_journal *audit,
                  const struct es_guard_request *r, time_t now,
                  struct es_guard_decision *d, int *sys_errno);

/* Extract the cluster name from an EKS request-target for /clusters/{name}[/...]
   (the first segment after /clusters/, percent-decoded). Returns 1 if found. */
int es_guard_target_cluster(const char *target, size_t target_len, char *out, size_t out_size);

/* Append one audit record as a single JSON line (with trailing newline) to out:
   {"time":"...","cluster":...,"from":...,"to":...,"decision":...,"code":...,"identity":...,"message":...}
   identity may be NULL. Strings are JSON-escaped. */
int es_guard_audit_line(const struct es_guard_decision *d, time_t when, const char *identity,
                        struct es_buf *out);

#endif
