/* fuzz-sources: guard.c guard_json.c guard_state.c guard_gate.c journal.c es_buf.c es_error.c */
/*
 * fuzz_guard.c: libFuzzer target for the irreversibility guard.
 *
 * Input layout (see fuzz/corpus/guard/ for examples):
 *   byte 0: flags  bit0 allow_undocumented
 *                  bit1 current_mode given (else NULL)
 *                  bit2 acknowledge given (else NULL)
 *                  bits3-4: 1 = method/target forced to POST /clusters/prod/update-config,
 *                           2 = forced to POST /clusters, else taken from the input
 *   then '\n'-separated: method, target, current_mode, acknowledge, and the
 *   rest is the body (it may hold '\n' and NUL bytes).
 *
 * Besides "never crashes" (ASan/UBSan), it checks the guard's promise with an
 * oracle written independently of the guard: whenever the guard allows a
 * request whose body has a key equal, ignoring ASCII case, to
 * controlPlaneEgressMode anywhere (or, for a body that does not parse, the
 * text anywhere), the request must be exactly a canonical CreateCluster or
 * UpdateClusterConfig whose one mode key is at the legal place, and the
 * acknowledgement (and opt-in) rules must hold; the mode value let through
 * must be plain ASCII [A-Z_]+ and, unless it is exactly AWS_MANAGED, must
 * not read as AWS_MANAGED once its underscores are dropped ("AWSMANAGED");
 * an update to anything that reads as AWS_MANAGED from a mode that is not
 * AWS_MANAGED is never let through. Any violation abort()s. Every decision
 * must also produce an audit line that parses as JSON; the state is fed with
 * the same bytes under two identities, which must never see each other's
 * observations.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "es_buf.h"
#include "es_error.h"
#include "guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(why) do { fprintf(stderr, "guard oracle violated: %s\n", why); abort(); } while(0)

/* ---- the oracle (independent of guard*.c) --------------------------------- */

static size_t count_mode_keys(json_t *v)
{
  size_t n = 0;
  if(json_is_object(v)) {
    for(void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
      if(strcasecmp(json_object_iter_key(it), "controlPlaneEgressMode") == 0)
        n++;
      n += count_mode_keys(json_object_iter_value(it));
    }
  }
  else if(json_is_array(v)) {
    for(size_t i = 0; i < json_array_size(v); i++)
      n += count_mode_keys(json_array_get(v, i));
  }
  return n;
}

static int raw_mentions(const char *b, size_t n)
{
  static const char word[] = "controlplaneegressmode";
  const size_t wl = sizeof(word) - 1;
  for(size_t i = 0; i + wl <= n; i++) {
    size_t j = 0;
    while(j < wl && (b[i + j] | 0x20) == word[j])
      j++;
    if(j == wl)
      return 1;
  }
  return 0;
}

/* Does the body mention the mode at all? */
static size_t mentions(const char *body, size_t n)
{
  json_error_t e;
  json_t *root;
  size_t m;
  if(n == 0)
    return 0;
  root = json_loadb(body, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
  if(!root)
    return raw_mentions(body, n) ? 1 : 0;
  m = count_mode_keys(root);
  json_decref(root);
  return m;
}

static int name_ok(const char *s, size_t n)
{
  if(n == 0 || n > 100)
    return 0;
  for(size_t i = 0; i < n; i++) {
    char c = s[i];
    int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if(!alnum && (i == 0 || (c != '-' && c != '_')))
      return 0;
  }
  return 1;
}

/* 1: POST /clusters, 2: POST /clusters/{name}/update-config (name copied), 0: other */
static int canonical(const char *method, const char *t, size_t n, char *name)
{
  static const char up[] = "/update-config";
  if(strcmp(method, "POST") != 0)
    return 0;
  if(n == 9 && memcmp(t, "/clusters", 9) == 0)
    return 1;
  if(n > 10 + 14 && memcmp(t, "/clusters/", 10) == 0 && memcmp(t + n - 14, up, 14) == 0 &&
     name_ok(t + 10, n - 24)) {
    memcpy(name, t + 10, n - 24);
    name[n - 24] = '\0';
    return 2;
  }
  return 0;
}

/* [A-Z_]+, and not AWS_MANAGED respelled with other underscores. */
static int plain_mode(const char *mv)
{
  char squeezed[64];
  size_t n = 0;
  if(!*mv)
    return 0;
  for(const char *p = mv; *p; p++) {
    if(!((*p >= 'A' && *p <= 'Z') || *p == '_'))
      return 0;
    if(*p != '_' && n + 1 < sizeof(squeezed))
      squeezed[n++] = *p;
  }
  squeezed[n] = '\0';
  return strcmp(mv, "AWS_MANAGED") == 0 || strcmp(squeezed, "AWSMANAGED") != 0;
}

/* Does the value read as AWS_MANAGED to a reader ignoring ASCII case,
   surrounding white space and '_' / '-'? (The guard folds far more; this is
   the floor it must meet.) */
static int reads_as_managed(const char *mv)
{
  static const char word[] = "awsmanaged";
  size_t w = 0;
  for(const char *p = mv; *p; p++) {
    char c = (char)(*p | 0x20);
    if(*p == '_' || *p == '-' || *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
      continue;
    if(w >= sizeof(word) - 1 || c != word[w])
      return 0;
    w++;
  }
  return w == sizeof(word) - 1;
}

static void oracle(const struct es_guard_input *in, const struct es_guard_decision *d)
{
  size_t m = mentions(in->body, in->body_len);
  char name[128];
  int op;
  json_error_t e;
  json_t *root, *vpc, *mode;
  const char *mv;

  if(d->action == ES_GUARD_ALLOW && m == 0)
    return;
  if(d->action == ES_GUARD_REFUSE)
    return;
  if(d->action != ES_GUARD_ALLOW && d->action != ES_GUARD_NOOP)
    FAIL("invalid action");

  /* allow with a mention, or a no-op: must be canonical and strict. */
  if(!d->touches_mode)
    FAIL("allowed a request mentioning the mode with touches_mode = 0");
  op = canonical(in->method, in->target, in->target_len, name);
  if(!op)
    FAIL("allowed/no-op on a non-canonical method or target with the mode in the body");
  if(m != 1)
    FAIL("allowed/no-op with the mode key more than once");
  root = json_loadb(in->body, in->body_len, JSON_REJECT_DUPLICATES, &e);
  if(!json_is_object(root))
    FAIL("allowed/no-op with a body that is not a strict JSON object");
  vpc = json_object_get(root, "resourcesVpcConfig");
  mode = json_object_get(vpc, "controlPlaneEgressMode");
  if(!json_is_string(mode))
    FAIL("allowed/no-op without a string at resourcesVpcConfig.controlPlaneEgressMode");
  mv = json_string_value(mode);
  if(strlen(mv) != json_string_length(mode))
    FAIL("mode with an embedded NUL");
  if(!plain_mode(mv))
    FAIL("allowed/no-op with a mode value that is not plain [A-Z_]+ (or respells AWS_MANAGED)");

  if(op == 1) {
    json_t *jn = json_object_get(root, "name");
    if(d->action != ES_GUARD_ALLOW)
      FAIL("no-op on CreateCluster");
    if(strcmp(mv, "AWS_MANAGED") != 0) {
      if(!json_is_string(jn) || !in->acknowledge || strcmp(in->acknowledge, json_string_value(jn)) != 0)
        FAIL("CreateCluster with a non-default mode allowed without the acknowledgement");
      if(strcmp(mv, "CUSTOMER_ROUTED") != 0 && !in->allow_undocumented)
        FAIL("CreateCluster with an undocumented mode allowed without the opt-in");
    }
  }
  else {
    if(!in->current_mode)
      FAIL("UpdateClusterConfig decided without a current mode");
    for(void *it = json_object_iter(root); it; it = json_object_iter_next(root, it)) {
      const char *k = json_object_iter_key(it);
      if(strcmp(k, "resourcesVpcConfig") != 0 && strcmp(k, "clientRequestToken") != 0)
        FAIL("mixed UpdateClusterConfig allowed");
    }
    if(json_object_size(vpc) != 1)
      FAIL("mixed resourcesVpcConfig allowed");
    if(d->action == ES_GUARD_NOOP) {
      if(strcmp(in->current_mode, mv) != 0)
        FAIL("no-op although the mode differs");
    }
    else {
      if(strcmp(mv, "AWS_MANAGED") == 0 || reads_as_managed(mv))
        FAIL("a switch to AWS_MANAGED (or a spelling of it) was allowed");
      if(strcmp(in->current_mode, mv) == 0)
        FAIL("allowed instead of no-op");
      if(!in->acknowledge || strcmp(in->acknowledge, name) != 0)
        FAIL("UpdateClusterConfig allowed without the acknowledgement");
      if((strcmp(mv, "CUSTOMER_ROUTED") != 0 || strcmp(in->current_mode, "AWS_MANAGED") != 0) &&
         !in->allow_undocumented)
        FAIL("undocumented transition allowed without the opt-in");
    }
  }
  json_decref(root);
}

static void check_decision_strings(const struct es_guard_decision *d)
{
  if(strnlen(d->cluster, sizeof(d->cluster)) == sizeof(d->cluster) ||
     strnlen(d->from, sizeof(d->from)) == sizeof(d->from) ||
     strnlen(d->to, sizeof(d->to)) == sizeof(d->to) ||
     strnlen(d->message, sizeof(d->message)) == sizeof(d->message))
    FAIL("unterminated decision string");
  if(d->message[0] == '\0')
    FAIL("empty message");
  if((d->action == ES_GUARD_ALLOW) != (d->code == ES_GUARD_OK) ||
     (d->action == ES_GUARD_NOOP) != (d->code == ES_GUARD_NO_CHANGE))
    FAIL("action and code disagree");
  {
    json_t *j = json_string(d->message);  /* NULL when not valid UTF-8 */
    if(!j)
      FAIL("message is not valid UTF-8");
    json_decref(j);
  }
}

static void check_audit(const struct es_guard_decision *d)
{
  struct es_buf b = ES_BUF_INIT;
  json_error_t e;
  json_t *j;
  if(es_guard_audit_line(d, 1767225600, "fuzz", &b) != ES_OK)
    FAIL("audit line failed");
  if(b.len == 0 || b.data[b.len - 1] != '\n' || memchr(b.data, '\n', b.len - 1))
    FAIL("audit line is not one line");
  j = json_loadb(b.data, b.len - 1, JSON_REJECT_DUPLICATES, &e);
  if(!json_is_object(j))
    FAIL("audit line is not a JSON object");
  json_decref(j);
  es_buf_free(&b);
}

/* Exercise the state, the target parsing and the gate with the same bytes. */
static void exercise_state(const struct es_guard_input *in)
{
  struct es_guard_state *st = es_guard_state_new();
  struct es_guard_request r;
  struct es_guard_decision d;
  char name[128], target[160];
  const char *m;
  if(!st)
    return;
  if(es_guard_target_cluster(in->target, in->target_len, name, sizeof(name))) {
    if(strlen(name) == 0)
      FAIL("target_cluster returned an empty name");
    snprintf(target, sizeof(target), "/clusters/%s", name);
    es_guard_observe(st, "AKIDA", "ep", "GET", target, strlen(target), 200, in->body, in->body_len, 100, 1);
    m = es_guard_state_lookup(st, "AKIDA", "ep", name, 100, 10);
    if(m && strlen(m) == 0)
      FAIL("state remembered an empty mode");
    if(es_guard_state_lookup(st, "AKIDB", "ep", name, 100, 10) ||
       es_guard_state_lookup_observation(st, 1, "AKIDB", "ep", name, 100, 10))
      FAIL("one identity's observation seen by another");
    if((m != NULL) != (es_guard_state_lookup_observation(st, 1, "AKIDA", "ep", name, 100, 10) != NULL))
      FAIL("the latest observation and the same observation by id disagree");
    /* The gate on the input as A and as B: B has observed nothing, so B's
       request may never be decided as anything but what an unknown mode gives. */
    memset(&r, 0, sizeof(r));
    r.method = in->method;
    r.target = in->target;
    r.target_len = in->target_len;
    r.body = in->body;
    r.body_len = in->body_len;
    r.acknowledge = in->acknowledge;
    r.allow_undocumented = in->allow_undocumented;
    r.endpoint = "ep";
    r.access_key_id = "AKIDB";
    r.observed_with = 1;
    if(es_guard_gate(st, NULL, &r, 100, &d, NULL) == ES_OK && d.action == ES_GUARD_NOOP)
      FAIL("a no-op decided on another identity's observation");
    es_guard_observe(st, "AKIDA", "ep", in->method, in->target, in->target_len, 200, in->body, in->body_len,
                     101, 2);
    es_guard_state_lookup(st, "AKIDA", "ep", name, 101, 10);
  }
  es_guard_state_free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *buf, *field[4];
  size_t len[4], pos = 1;
  unsigned flags;
  struct es_guard_input in;
  struct es_guard_decision d;

  if(size < 1)
    return 0;
  flags = data[0];
  /* Copy so each field is its own allocation: ASan sees any overread. */
  for(int i = 0; i < 4; i++) {
    size_t start = pos;
    while(pos < size && data[pos] != '\n')
      pos++;
    len[i] = pos - start;
    field[i] = malloc(len[i] + 1);
    if(!field[i])
      abort();
    memcpy(field[i], data + start, len[i]);
    field[i][len[i]] = '\0';
    if(pos < size)
      pos++;
  }
  buf = malloc(size - pos + 1);
  if(!buf)
    abort();
  memcpy(buf, data + pos, size - pos);

  memset(&in, 0, sizeof(in));
  in.method = field[0];
  in.target = field[1];
  in.target_len = len[1];
  switch((flags >> 3) & 3) {
  case 1:
    in.method = "POST";
    in.target = "/clusters/prod/update-config";
    in.target_len = strlen(in.target);
    break;
  case 2:
    in.method = "POST";
    in.target = "/clusters";
    in.target_len = 9;
    break;
  default:
    break;
  }
  in.current_mode = (flags & 2) ? field[2] : NULL;
  in.acknowledge = (flags & 4) ? field[3] : NULL;
  in.allow_undocumented = (int)(flags & 1);
  in.body = size - pos ? buf : NULL;
  in.body_len = size - pos;

  if(es_guard_check(&in, &d) != ES_OK)
    FAIL("es_guard_check failed on valid arguments");
  check_decision_strings(&d);
  oracle(&in, &d);
  check_audit(&d);
  exercise_state(&in);

  for(int i = 0; i < 4; i++)
    free(field[i]);
  free(buf);
  return 0;
}
