/*
 * engine_retry.h: the pure parts of the retry policy (aws-wire.md 5): error
 * classification, backoff with full jitter, the retry quota (token bucket)
 * and a small per-engine RNG. No I/O, no globals, no allocation.
 */
#ifndef ES_ENGINE_RETRY_H
#define ES_ENGINE_RETRY_H

#include <stdint.h>

/* Retry modes (es_engine_config.retry_mode). */
#define ES_RETRY_STANDARD       0  /* AWS standard mode, current defaults (aws-wire.md 5.1) */
#define ES_RETRY_OFF            1  /* one attempt, never retried */
#define ES_RETRY_STANDARD_2026  2  /* standard mode with the 2026 changes (aws-wire.md 5.2) */

/* Quota costs and capacity of standard mode (botocore quota.py / standard.py). */
#define ES_RETRY_QUOTA_CAPACITY   500
#define ES_RETRY_COST             5
#define ES_RETRY_TIMEOUT_COST     10
#define ES_RETRY_2026_COST        14   /* 2026: any non-throttling retry */
#define ES_RETRY_NO_RETRY_REFUND  1

/* Skew handling: an offset is corrected when server and client differ by this much. */
#define ES_SKEW_THRESHOLD_S 300

/* ---- classification ------------------------------------------------------ */

struct es_retry_class {
  int retryable;   /* transient or throttling (or skew, see below) */
  int throttling;  /* throttling code or HTTP 429 */
  int transient;   /* transient status/code or connection error/timeout */
  int timeout;     /* connect/read timeout (costs ES_RETRY_TIMEOUT_COST in standard mode) */
  int skew;        /* clock-skew code: retryable only after the clock was corrected */
};

/* Classify one attempt: status (0 if no HTTP response), error (0 or ES_E*
   transport error) and the parsed AWS error code (NULL or "" if none).
   A 2xx/3xx status with no error is not retryable. Skew codes set skew but not
   retryable: the caller decides after correcting the clock. */
void es_retry_classify(long status, int error, const char *aws_code, struct es_retry_class *out);

int es_retry_is_throttling_code(const char *code);
int es_retry_is_transient_code(const char *code);
int es_retry_is_skew_code(const char *code);

/* ---- backoff -------------------------------------------------------------- */

/* Delay in seconds before attempt number `attempt` (1-based; attempt 1 is never
   delayed): r * min(base * 2^(attempt-2), cap), where r in [0,1) is the jitter
   draw. (botocore counts retries: the first retry waits up to base.) */
double es_retry_backoff(double base_s, double cap_s, int attempt, double r);

/* 2026 mode: throttling uses base_s, anything else base_s / 20 (1 s -> 50 ms);
   retry_after_ms (x-amz-retry-after, < 0 if absent) gives
   max(t, min(retry_after, t + 5 s)). */
double es_retry_backoff_2026(double base_s, double cap_s, int attempt, int throttling,
                             long retry_after_ms, double r);

/* Honour a server hint (x-amz-retry-after in ms, or Retry-After in seconds;
   hint_ms < 0 when absent): max(t, min(hint, t + 5 s)). Used by every retry
   mode, so a throttled service's request to slow down is never ignored, and
   a huge hint cannot stall a caller for more than 5 s beyond the backoff. */
double es_retry_apply_hint(double t_s, long hint_ms);

/* ---- quota ---------------------------------------------------------------- */

struct es_retry_quota {
  long capacity;
  long available;
};

void es_retry_quota_init(struct es_retry_quota *q, long capacity);
/* Cost of one retry for this classification in the given ES_RETRY_* mode. */
long es_retry_cost(int mode, const struct es_retry_class *c);
/* Take cost tokens; 1 if taken, 0 if not enough remain (nothing taken). */
int es_retry_quota_acquire(struct es_retry_quota *q, long cost);
/* Return tokens, capped at capacity. */
void es_retry_quota_release(struct es_retry_quota *q, long amount);
/* On a successful (2xx) outcome: refund the cost of the request's last retry
   (botocore's context keeps only the last acquisition, as does Go v2's retry
   token), or ES_RETRY_NO_RETRY_REFUND if it never retried. */
void es_retry_quota_on_success(struct es_retry_quota *q, long last_acquired);

/* ---- RNG (splitmix64; per engine, never global) --------------------------- */

struct es_rng {
  uint64_t s;
};

void es_rng_seed(struct es_rng *g, uint64_t seed);
uint64_t es_rng_next(struct es_rng *g);
/* Uniform double in [0, 1). */
double es_rng_uniform(struct es_rng *g);

#endif
