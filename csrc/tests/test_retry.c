/* test_retry.c: the pure retry policy: classification, backoff, quota, RNG. */
#include <math.h>
#include <stdio.h>

#include "engine.h"
#include "engine_retry.h"
#include "es_error.h"
#include "tap.h"

static void test_classify(void)
{
  struct es_retry_class c;
  static const char *const throttles[] = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException"
  };
  static const char *const skews[] = {
    "AuthFailure", "InvalidSignatureException", "RequestExpired", "RequestInTheFuture",
    "RequestTimeTooSkewed", "SignatureDoesNotMatch"
  };
  size_t i;
  long st;

  for(i = 0; i < sizeof(throttles) / sizeof(throttles[0]); i++) {
    es_retry_classify(400, 0, throttles[i], &c);
    ok(c.throttling && c.retryable, "%s is throttling and retryable", throttles[i]);
  }
  for(i = 0; i < sizeof(skews) / sizeof(skews[0]); i++) {
    es_retry_classify(403, 0, skews[i], &c);
    ok(c.skew && !c.retryable, "%s is a skew code, not retryable by itself", skews[i]);
  }
  es_retry_classify(429, 0, "", &c);
  ok(c.throttling && c.retryable, "429 without a code is throttling");
  es_retry_classify(503, 0, "RequestLimitExceeded", &c);
  ok(c.throttling && c.transient && c.retryable, "EC2 503 RequestLimitExceeded: throttling");
  for(st = 500; st <= 504; st++) {
    es_retry_classify(st, 0, NULL, &c);
    ok(c.retryable == (st != 501) && c.transient == (st != 501) && !c.throttling,
       "status %ld transient=%d", st, c.transient);
  }
  es_retry_classify(400, 0, "RequestTimeout", &c);
  ok(c.transient && c.retryable, "RequestTimeout code is transient");
  es_retry_classify(400, 0, "RequestTimeoutException", &c);
  ok(c.transient && c.retryable, "RequestTimeoutException code is transient");
  es_retry_classify(400, 0, "IDPCommunicationError", &c);
  ok(c.retryable, "STS IDPCommunicationError is retried");
  es_retry_classify(400, 0, "ValidationException", &c);
  ok(!c.retryable && !c.throttling && !c.transient, "other 4xx never retried");
  es_retry_classify(404, 0, "ResourceNotFoundException", &c);
  ok(!c.retryable, "404 not retried");
  es_retry_classify(403, 0, "AccessDeniedException", &c);
  ok(!c.retryable && !c.skew, "403 AccessDenied neither retried nor skew");
  es_retry_classify(200, 0, NULL, &c);
  ok(!c.retryable && !c.throttling, "200 not retried");
  es_retry_classify(200, 0, "ThrottlingException", &c);
  ok(!c.retryable, "a 2xx is success whatever the code");
  es_retry_classify(0, ES_ETIMEOUT, NULL, &c);
  ok(c.retryable && c.timeout && c.transient, "timeout transient, flagged timeout");
  es_retry_classify(0, ES_ECONNECT, NULL, &c);
  ok(c.retryable && !c.timeout, "connect error transient");
  es_retry_classify(0, ES_ECONNRESET, NULL, &c);
  ok(c.retryable && !c.timeout, "connection reset transient");
  es_retry_classify(0, ES_ETLS, NULL, &c);
  ok(!c.retryable, "TLS failure not retried");
  es_retry_classify(0, ES_ETOOBIG, NULL, &c);
  ok(!c.retryable, "size limit not retried");
  es_retry_classify(500, ES_ECONNRESET, "ValidationException", &c);
  ok(c.retryable && !c.throttling, "a transport error wins over status/code");
  ok(!es_retry_is_throttling_code(NULL) && !es_retry_is_throttling_code(""),
     "NULL/empty code is nothing");
  ok(!es_retry_is_throttling_code("throttling"), "codes are case-sensitive");
}

static void test_backoff(void)
{
  int a, bad = 0;
  double d;
  ok(es_retry_backoff(1.0, 20.0, 1, 0.999) == 0, "attempt 1 is never delayed");
  ok(es_retry_backoff(1.0, 20.0, 0, 0.5) == 0, "attempt 0 is never delayed");
  ok(fabs(es_retry_backoff(1.0, 20.0, 2, 0.5) - 0.5) < 1e-12, "attempt 2: r * 1 s");
  ok(fabs(es_retry_backoff(1.0, 20.0, 3, 0.5) - 1.0) < 1e-12, "attempt 3: r * 2 s");
  ok(fabs(es_retry_backoff(1.0, 20.0, 6, 1.0 - 1e-9) - 16.0) < 1e-6, "attempt 6: < 16 s");
  ok(fabs(es_retry_backoff(1.0, 20.0, 7, 0.5) - 10.0) < 1e-12, "attempt 7: capped at 20 s");
  ok(es_retry_backoff(1.0, 20.0, 1000, 0.5) == 10.0, "huge attempt numbers stay capped");
  ok(es_retry_backoff(1.0, 20.0, 2, 0.0) == 0.0, "r = 0 gives 0");
  ok(es_retry_backoff(1.0, 20.0, 2, 2.0) < 1.0, "r >= 1 clamps below the bound");
  ok(es_retry_backoff(1.0, 20.0, 2, -1.0) == 0.0, "r < 0 clamps to 0");
  for(a = 2; a < 40; a++) {
    double bound = ldexp(0.01, a - 2);
    if(bound > 0.5)
      bound = 0.5;
    d = es_retry_backoff(0.01, 0.5, a, 0.999999);
    if(!(d >= 0 && d < bound + 1e-12))
      bad++;
  }
  ok(bad == 0, "scaled base/cap: 0 <= delay < min(base*2^(n-2), cap)");

  d = es_retry_backoff_2026(1.0, 20.0, 2, 0, -1, 0.5);
  ok(fabs(d - 0.025) < 1e-12, "2026 non-throttling base 50 ms (got %g)", d);
  d = es_retry_backoff_2026(1.0, 20.0, 2, 1, -1, 0.5);
  ok(fabs(d - 0.5) < 1e-12, "2026 throttling base 1 s");
  d = es_retry_backoff_2026(1.0, 20.0, 2, 1, 2000, 0.5);
  ok(fabs(d - 2.0) < 1e-12, "2026 retry-after honoured when above t");
  d = es_retry_backoff_2026(1.0, 20.0, 2, 1, 60000, 0.5);
  ok(fabs(d - 5.5) < 1e-12, "2026 retry-after capped at t + 5 s");
  d = es_retry_backoff_2026(1.0, 20.0, 2, 1, 100, 0.5);
  ok(fabs(d - 0.5) < 1e-12, "2026 retry-after below t ignored");
}

static void test_quota(void)
{
  struct es_retry_quota q;
  struct es_retry_class timeout = {1, 0, 1, 1, 0}, thr = {1, 1, 0, 0, 0}, tr = {1, 0, 1, 0, 0};
  int n = 0;

  ok(es_retry_cost(ES_RETRY_STANDARD, &tr) == 5, "standard cost 5");
  ok(es_retry_cost(ES_RETRY_STANDARD, &timeout) == 10, "standard timeout cost 10");
  ok(es_retry_cost(ES_RETRY_STANDARD, &thr) == 5, "standard throttling cost 5");
  ok(es_retry_cost(ES_RETRY_STANDARD_2026, &thr) == 5, "2026 throttling cost 5");
  ok(es_retry_cost(ES_RETRY_STANDARD_2026, &timeout) == 14, "2026 timeout cost 14");
  ok(es_retry_cost(ES_RETRY_STANDARD_2026, &tr) == 14, "2026 other cost 14");

  es_retry_quota_init(&q, 500);
  ok(q.available == 500, "starts full");
  while(es_retry_quota_acquire(&q, 5))
    n++;
  ok(n == 100 && q.available == 0, "100 retries of 5 empty 500 tokens");
  ok(!es_retry_quota_acquire(&q, 5), "empty quota refuses");
  es_retry_quota_on_success(&q, 0);
  ok(q.available == 1, "success without retry refunds 1");
  es_retry_quota_on_success(&q, 10);
  ok(q.available == 11, "success after retries refunds the last acquisition");
  ok(!es_retry_quota_acquire(&q, 12) && q.available == 11, "a failed acquire takes nothing");
  es_retry_quota_release(&q, 10000);
  ok(q.available == 500, "refunds are capped at capacity");
  es_retry_quota_on_success(&q, 0);
  ok(q.available == 500, "success at capacity stays at capacity");
  ok(!es_retry_quota_acquire(&q, -1), "negative cost refused");
  es_retry_quota_init(&q, -5);
  ok(q.capacity == 0 && !es_retry_quota_acquire(&q, 5), "negative capacity means empty");
}

static void test_rng(void)
{
  struct es_rng a, b;
  int i, same = 1, inrange = 1;
  double sum = 0;
  es_rng_seed(&a, 42);
  es_rng_seed(&b, 42);
  for(i = 0; i < 1000; i++) {
    double x = es_rng_uniform(&a), y = es_rng_uniform(&b);
    if(x != y)
      same = 0;
    if(!(x >= 0 && x < 1))
      inrange = 0;
    sum += x;
  }
  ok(same, "same seed, same sequence");
  ok(inrange, "uniform in [0,1)");
  ok(sum > 400 && sum < 600, "roughly uniform (mean %.3f)", sum / 1000);
  es_rng_seed(&b, 43);
  ok(es_rng_next(&a) != es_rng_next(&b), "different seeds differ");
}

/* Issue 5: retry-after honoured in every mode, bounded to backoff + 5 s. */
static void test_hint(void)
{
  ok(es_retry_apply_hint(0.3, -1) == 0.3, "no hint: the backoff stands");
  ok(es_retry_apply_hint(0.3, 100) == 0.3, "a hint shorter than the backoff is ignored");
  ok(es_retry_apply_hint(0.3, 2000) == 2.0, "a longer hint is honoured");
  ok(es_retry_apply_hint(0.3, 60000) == 5.3, "a huge hint is capped at backoff + 5 s");
}

int main(void)
{
  test_hint();
  test_classify();
  test_backoff();
  test_quota();
  test_rng();
  return done_testing();
}
