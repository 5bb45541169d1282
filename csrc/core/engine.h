/*
 * engine.h: the HTTP engine: libcurl multi, AWS "standard" retries, SigV4 on
 * every attempt, the irreversibility guard on every EKS request.
 *
 * Model. An engine owns one libcurl multi handle (connections are kept alive
 * and reused across requests; HTTP/2 is used when a TLS server offers it),
 * driven through libcurl's socket interface over epoll (poll(2) where epoll
 * is missing), so the cost of a step is the sockets that are ready and not
 * the requests in flight; a pool of easy handles reset between requests;
 * TLS sessions and DNS answers shared by all of them; one
 * SigV4 signer, one retry quota (token bucket), one clock offset and one guard
 * state (the EKS egress modes it has observed). Requests are submitted, then
 * driven by es_engine_step(); completed requests are popped with
 * es_engine_next_done(). Every submitted request yields exactly one response
 * (success, failure, guard refusal/no-op or cancellation).
 *
 * Nothing calls back into user code: libcurl callbacks only copy bytes into
 * engine-owned buffers. Retry waits are timers that es_engine_step() honours;
 * the engine never sleeps. A blocking call is a loop over step + next_done.
 *
 * Threads: an engine is not thread-safe; use it from one thread at a time.
 * Several engines may live in one process (and in different threads). The only
 * process-wide state is libcurl's global init, done once under pthread_once;
 * the engine never calls curl_global_cleanup.
 *
 * Secrets: credentials are copied at submit and wiped when the request is
 * freed. No error message, response field or audit line contains them.
 */
#ifndef ES_ENGINE_H
#define ES_ENGINE_H

#include <stddef.h>
#include <time.h>

#include "engine_retry.h"   /* ES_RETRY_* modes */
#include "es_buf.h"
#include "es_error.h"          /* struct es_error_info */
#include "es_types.h"          /* struct es_header, struct es_credentials, es_clock_fn */
#include "guard.h"
#include "sigv4.h"             /* ES_SIGV4_* flags */

/* Attempts recorded per response; max_attempts is clamped to this. */
#define ES_ENGINE_MAX_ATTEMPTS 20

/* Connections to one host when the configuration names no limit. */
#define ES_ENGINE_DEFAULT_HOST_CONNECTIONS 64

/* Largest per-request CA (es_http_request.ca_pem), in bytes. */
#define ES_ENGINE_MAX_CA_PEM ((size_t)1 << 20)

/*
 * Engine configuration. es_engine_config_init() fills the defaults; a field
 * left 0 (or NULL) also means "default", so a zeroed struct works.
 */
struct es_engine_config {
  long connect_timeout_ms;      /* default 3000 */
  long timeout_ms;              /* total per attempt (connect + transfer), default 30000 */
  size_t max_response_bytes;    /* body size limit, default 16 MiB; larger -> ES_ETOOBIG */
  const char *ca_bundle;        /* CA file; NULL: the system default */
  int insecure;                 /* 1: skip TLS verification (tests only) */
  int max_attempts;             /* default 3, counts the first attempt; 1 disables retries */
  int retry_mode;               /* ES_RETRY_STANDARD (default) | ES_RETRY_OFF | ES_RETRY_STANDARD_2026 */
  long quota_capacity;          /* retry token bucket, default 500 */
  double backoff_base_s;        /* default 1.0 (2026 mode: throttling base; others use base/20) */
  double backoff_cap_s;         /* default 20.0 */
  unsigned long long seed;      /* jitter RNG seed; 0: seeded from time and address */
  long max_host_connections;    /* per-host connection cap (CURLMOPT_MAX_HOST_CONNECTIONS), default 64 */
  long max_total_connections;   /* cap over every host (CURLMOPT_MAX_TOTAL_CONNECTIONS), 0: none */
  int use_poll;                 /* 1: poll(2) even where epoll exists (tests of the fallback) */
  es_clock_fn wall_clock;       /* UNIX time for signing, skew and guard freshness; NULL: time() */
  void *clock_ud;
  const char *audit_path;       /* guard audit log (journal.h: shared lock, one JSON line per write(),
                                   fdatasync per line); NULL: none */
  const char *user_agent;       /* NULL: "eksegress/<es_version()> libcurl/<version>" */
};

void es_engine_config_init(struct es_engine_config *cfg);

struct es_engine;

/* Create an engine (the config is copied; NULL means all defaults).
   Returns NULL on failure, with the reason in *err (when not NULL): the audit
   log's ES_EIO, ES_ENOTREG or ES_ELOCKED with a message naming the path and
   the system's reason, ES_ENOMEM, or ES_ECURL / ES_ECRYPTO for a libcurl or
   OpenSSL setup failure. */
struct es_engine *es_engine_new(const struct es_engine_config *cfg, struct es_error_info *err);

/* Free an engine: aborts every transfer in flight and frees every response not
   yet popped. NULL is accepted. */
void es_engine_free(struct es_engine *e);

/*
 * One request. Everything is copied by es_engine_submit(); the caller may free
 * its strings as soon as submit returns.
 */
struct es_http_request {
  const char *method;                 /* "GET", "POST", ... */
  const char *url;                    /* absolute, already percent-encoded: scheme://host[:port]/path?query.
                                         The path is sent as is (no dot-segment removal). */
  const struct es_header *headers;    /* ordered; duplicates allowed. Host is derived from the URL
                                         when absent. With sign=1, Authorization, X-Amz-Date,
                                         X-Amz-Security-Token and x-amz-content-sha256 given here
                                         are dropped (the signer adds fresh ones). */
  size_t n_headers;
  const char *body;                   /* may be NULL when body_len == 0 */
  size_t body_len;

  int sign;                           /* 1: SigV4 (header placement) on every attempt, fresh time */
  const char *region;                 /* signing region and service */
  const char *service;
  struct es_credentials creds;
  unsigned sigv4_flags;               /* ES_SIGV4_* used as given (ES_SIGV4_DEFAULT_FLAGS for all but S3) */

  /* Guard inputs. The guard runs for every EKS-bound request (service "eks",
     an eks./eks-fips. host, or a /clusters path: es_guard_targets_eks),
     signed or not, whatever the service says; there is no opt-out. Its
     observations are keyed by the signing access key id ("" unsigned). */
  const char *acknowledge;            /* out-of-band acknowledgement (cluster name) or NULL */
  int allow_undocumented;             /* opt-in for CUSTOMER_ISOLATED / unknown modes */
  const char *identity;               /* caller identity for the audit line, or NULL */
  unsigned long long observed_with;   /* id of the DescribeCluster response this update relies
                                         on: the current mode comes from that observation only
                                         (same access key id, host and cluster, fresh); 0: the
                                         latest fresh one of that key */

  long timeout_ms;                    /* per-attempt total timeout override, 0: engine default */
  int max_attempts;                   /* override, 0: engine default */
  unsigned long long user_id;         /* opaque, returned in the response */

  /* The CA certificate(s), PEM, that this request's TLS server must chain to,
     from memory (a Kubernetes cluster's certificateAuthority.data): used
     instead of the engine's ca_bundle and the system store, never beside
     them. Verification of the chain and the host name stays on. NULL: the
     engine's CAs. 1 to ES_ENGINE_MAX_CA_PEM bytes (else ES_EINVAL). */
  const char *ca_pem;
  size_t ca_pem_len;
};

/* Submit. On success *id_out (optional) receives the request id (> 0) and the
   request is in flight (or, for a guard refusal/no-op, already completed and
   waiting in the done queue). Returns ES_OK, ES_EINVAL (bad method/URL/missing
   signing inputs) or ES_ENOMEM/ES_ECURL. Nothing is queued on failure. */
int es_engine_submit(struct es_engine *e, const struct es_http_request *r,
                     unsigned long long *id_out);

/* Drive transfers and retry timers. Waits at most timeout_ms (0: do not wait)
   for network activity or the next retry timer; returns early when there is
   activity or a response completes. Returns the number of requests submitted
   and not yet completed (0: nothing left to drive), or a negative ES_E* code. */
int es_engine_step(struct es_engine *e, long timeout_ms);

/* Change the connection caps of a live engine (requests beyond them queue
   inside libcurl until a connection frees): per_host (0: the default, 64)
   and total (0: no cap over all hosts). Returns ES_OK, ES_EINVAL (negative)
   or ES_ECURL. */
int es_engine_set_connection_limits(struct es_engine *e, long per_host, long total);
void es_engine_connection_limits(const struct es_engine *e, long *per_host, long *total);

/* Number of completed responses waiting to be popped. */
size_t es_engine_done_count(const struct es_engine *e);

/* Number of pending requests waiting on a retry timer (not in transfer). */
size_t es_engine_waiting_count(const struct es_engine *e);

/* Cancel a request that has not completed: its transfer or retry timer is
   dropped and it completes at once with error ES_ECLOSED ("canceled").
   Returns ES_OK, or ES_ENOTFOUND if no such request is pending. */
int es_engine_cancel(struct es_engine *e, unsigned long long id);

/* Seconds added to the wall clock when signing (learned from skew errors). */
long es_engine_clock_offset(const struct es_engine *e);
void es_engine_set_clock_offset(struct es_engine *e, long seconds);

/* Tokens currently left in the retry quota. */
long es_engine_retry_quota(const struct es_engine *e);
/* Fill the retry quota to its capacity. For a caller that paused after a
   retry storm emptied it and now starts a new round of work (the audit's
   later passes): without it the new round gets no retries at all. */
void es_engine_refill_retry_quota(struct es_engine *e);

/* The engine's guard state (observed cluster modes); owned by the engine. */
struct es_guard_state *es_engine_guard_state(struct es_engine *e);

/* The mode the engine's guard would use right now for a request of
   access_key_id (NULL or "": unsigned) to host and cluster, relying on
   observation observed_with (0: the latest): freshness is judged on the
   engine's own clock against ES_GUARD_MAX_AGE. NULL when unknown or stale;
   the string is owned by the engine until its next step or submit. */
const char *es_engine_observed_mode(struct es_engine *e, const char *access_key_id,
                                    const char *host, const char *cluster,
                                    unsigned long long observed_with);

/* One attempt as it happened. */
struct es_http_attempt {
  long status;              /* HTTP status, 0 if none */
  int error;                /* 0 or ES_E* transport error */
  double ms;                /* duration of the transfer */
  double delay_ms;          /* backoff waited before this attempt (0 for the first) */
  int new_connection;       /* 1 if this attempt opened a connection (0: reused) */
  char aws_code[64];        /* AWS error code of this attempt, "" if none */
};

struct es_http_response {
  unsigned long long id;
  unsigned long long user_id;

  long status;              /* final HTTP status, 0 if no HTTP response */
  int error;                /* 0, or ES_ETIMEOUT, ES_ECONNECT, ES_ECONNRESET, ES_ETOOBIG, ES_ETLS,
                               ES_EHTTP, ES_EGUARD, ES_ECLOSED (canceled), ES_ENOMEM */
  char error_message[256];  /* libcurl's or ours; never contains secrets; "" when error == 0 */
  int http_version;         /* 10, 11, 20 or 0 */

  struct es_header *headers;  /* final attempt's response headers: names lower-case, values trimmed,
                                 NUL-terminated; in arrival order */
  size_t n_headers;
  struct es_buf body;       /* final attempt's body (NUL-terminated) */
  char date[64];            /* the final response's Date header, "" if none */

  /* AWS error shape of a non-2xx final response (awserror.h); "" if none. */
  char aws_code[128];
  char aws_message[512];
  char request_id[128];     /* x-amzn-RequestId / x-amz-request-id / body, also on success */

  /* Classification of the final outcome. */
  int retryable;            /* the outcome is of a retryable kind (whether or not retries remained) */
  int throttling;
  int quota_exhausted;      /* retries stopped because the retry quota was empty */
  int clock_skew_corrected; /* this request corrected the engine's clock offset */

  int attempts;             /* attempts actually sent (0 for guard refusal/no-op) */
  double total_ms;          /* submit to completion */
  struct es_http_attempt attempt[ES_ENGINE_MAX_ATTEMPTS];

  /* Guard (EKS-bound requests only). guarded = 1 when the guard ran; the decision
     is copied in full. A refusal has error ES_EGUARD; a no-op has error 0 and
     status 0; in both cases nothing was sent. */
  int guarded;
  struct es_guard_decision guard;
};

/* Pop one completed response (FIFO), or NULL. The caller owns it. */
struct es_http_response *es_engine_next_done(struct es_engine *e);

/* Look up a response header by case-insensitive name (first match), or NULL. */
const char *es_http_response_header(const struct es_http_response *r, const char *name);

void es_http_response_free(struct es_http_response *r);

#endif
