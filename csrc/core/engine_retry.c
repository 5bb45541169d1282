/* engine_retry.c: retry classification, backoff, quota, RNG (see engine_retry.h). */
#include "engine_retry.h"

#include <math.h>
#include <string.h>

#include "es_error.h"

/* botocore standard.py / smithy-typescript constants.ts */
static const char *const es_throttling_codes[] = {
  "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
  "TooManyRequestsException", "ProvisionedThroughputExceededException",
  "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
  "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
  "EC2ThrottledException", NULL
};

static const char *const es_transient_codes[] = {
  "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
  "IDPCommunicationError",   /* STS: botocore's "special" retryable case */
  NULL
};

/* aws-sdk-js-v3 CLOCK_SKEW_ERROR_CODES */
static const char *const es_skew_codes[] = {
  "AuthFailure", "InvalidSignatureException", "RequestExpired", "RequestInTheFuture",
  "RequestTimeTooSkewed", "SignatureDoesNotMatch", NULL
};

static int es_in_list(const char *const *list, const char *code)
{
  size_t i;
  if(!code || !*code)
    return 0;
  for(i = 0; list[i]; i++)
    if(strcmp(list[i], code) == 0)
      return 1;
  return 0;
}

int es_retry_is_throttling_code(const char *code)
{
  return es_in_list(es_throttling_codes, code);
}

int es_retry_is_transient_code(const char *code)
{
  return es_in_list(es_transient_codes, code);
}

int es_retry_is_skew_code(const char *code)
{
  return es_in_list(es_skew_codes, code);
}

void es_retry_classify(long status, int error, const char *aws_code, struct es_retry_class *out)
{
  memset(out, 0, sizeof(*out));
  if(error) {
    switch(error) {
    case ES_ETIMEOUT:
      out->timeout = 1;
      out->transient = 1;
      break;
    case ES_ECONNECT:
    case ES_ECONNRESET:
      out->transient = 1;
      break;
    default:
      /* TLS verification failures, size limit, guard, misuse: retrying cannot help. */
      break;
    }
    out->retryable = out->transient;
    return;
  }
  if(status >= 200 && status < 400)
    return;
  if(status == 429 || es_retry_is_throttling_code(aws_code))
    out->throttling = 1;
  if(status == 500 || status == 502 || status == 503 || status == 504 ||
     es_retry_is_transient_code(aws_code))
    out->transient = 1;
  if(es_retry_is_skew_code(aws_code))
    out->skew = 1;
  out->retryable = out->throttling || out->transient;
}

double es_retry_backoff(double base_s, double cap_s, int attempt, double r)
{
  double t;
  if(attempt <= 1 || !(base_s > 0) || !(cap_s > 0))
    return 0;
  /* Cap the exponent: 2^62 * base is far above any cap, and ldexp stays finite. */
  t = ldexp(base_s, attempt - 2 > 62 ? 62 : attempt - 2);
  if(t > cap_s)
    t = cap_s;
  if(r < 0)
    r = 0;
  if(r >= 1)
    r = 0.999999999;
  return r * t;
}

double es_retry_apply_hint(double t, long hint_ms)
{
  if(hint_ms >= 0) {
    double ra = (double)hint_ms / 1000.0;
    double hi = t + 5.0;
    if(ra > hi)
      ra = hi;
    if(ra > t)
      t = ra;
  }
  return t;
}

double es_retry_backoff_2026(double base_s, double cap_s, int attempt, int throttling,
                             long retry_after_ms, double r)
{
  double t = es_retry_backoff(throttling ? base_s : base_s / 20.0, cap_s, attempt, r);
  if(attempt > 1)
    t = es_retry_apply_hint(t, retry_after_ms);
  return t;
}

void es_retry_quota_init(struct es_retry_quota *q, long capacity)
{
  q->capacity = capacity < 0 ? 0 : capacity;
  q->available = q->capacity;
}

long es_retry_cost(int mode, const struct es_retry_class *c)
{
  if(mode == ES_RETRY_STANDARD_2026)
    return c->throttling ? ES_RETRY_COST : ES_RETRY_2026_COST;
  return c->timeout ? ES_RETRY_TIMEOUT_COST : ES_RETRY_COST;
}

int es_retry_quota_acquire(struct es_retry_quota *q, long cost)
{
  if(cost < 0 || q->available < cost)
    return 0;
  q->available -= cost;
  return 1;
}

void es_retry_quota_release(struct es_retry_quota *q, long amount)
{
  if(amount <= 0)
    return;
  if(amount > q->capacity - q->available)
    q->available = q->capacity;
  else
    q->available += amount;
}

void es_retry_quota_on_success(struct es_retry_quota *q, long last_acquired)
{
  es_retry_quota_release(q, last_acquired > 0 ? last_acquired : ES_RETRY_NO_RETRY_REFUND);
}

void es_rng_seed(struct es_rng *g, uint64_t seed)
{
  g->s = seed;
}

uint64_t es_rng_next(struct es_rng *g)
{
  uint64_t z = (g->s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double es_rng_uniform(struct es_rng *g)
{
  /* 53 random bits -> [0, 1) */
  return (double)(es_rng_next(g) >> 11) * (1.0 / 9007199254740992.0);
}
