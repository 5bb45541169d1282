/*
 * test_guard.c: the irreversibility guard.
 *
 * Runs the table-driven corpus spec/fixtures/guard/corpus.json (one TAP line
 * per case) and unit tests of the observed-mode state, es_guard_target_cluster
 * and es_guard_audit_line. Run from the repository root.
 */
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "es_buf.h"
#include "es_error.h"
#include "guard.h"
#include "journal.h"
#include "tap.h"

#define CORPUS "spec/fixtures/guard/corpus.json"

/* The identity (access key id) of the observations in the state tests. */
#define ID "AKIDEXAMPLE"

/* ---- helpers ------------------------------------------------------------- */

static int b64val(int c)
{
  if(c >= 'A' && c <= 'Z')
    return c - 'A';
  if(c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if(c >= '0' && c <= '9')
    return c - '0' + 52;
  if(c == '+')
    return 62;
  if(c == '/')
    return 63;
  return -1;
}

/* Decode base64 into a malloc'd buffer; returns NULL on bad input. */
static char *b64decode(const char *s, size_t *out_len)
{
  size_t n = strlen(s), o = 0;
  char *out = malloc(n / 4 * 3 + 4);
  unsigned acc = 0;
  int bits = 0;
  if(!out)
    return NULL;
  for(size_t i = 0; i < n; i++) {
    int v;
    if(s[i] == '=')
      break;
    v = b64val((unsigned char)s[i]);
    if(v < 0) {
      free(out);
      return NULL;
    }
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if(bits >= 8) {
      bits -= 8;
      out[o++] = (char)((acc >> bits) & 0xFF);
    }
  }
  out[o] = '\0';
  *out_len = o;
  return out;
}

/* A decision's strings are NUL-terminated inside their arrays and valid UTF-8. */
static int decision_sane(const struct es_guard_decision *d)
{
  const char *f[4] = {d->cluster, d->from, d->to, d->message};
  size_t sz[4] = {sizeof(d->cluster), sizeof(d->from), sizeof(d->to), sizeof(d->message)};
  for(int i = 0; i < 4; i++) {
    size_t n = strnlen(f[i], sz[i]);
    json_t *j;
    if(n == sz[i])
      return 0;
    j = json_stringn(f[i], n);          /* NULL on invalid UTF-8 */
    if(!j)
      return 0;
    json_decref(j);
    for(size_t k = 0; k < n; k++)
      if((unsigned char)f[i][k] < 0x20)
        return 0;
  }
  if(d->message[0] == '\0')
    return 0;
  if((d->action == ES_GUARD_ALLOW) != (d->code == ES_GUARD_OK))
    return 0;
  if((d->action == ES_GUARD_NOOP) != (d->code == ES_GUARD_NO_CHANGE))
    return 0;
  return 1;
}

/* Parse an audit line back; returns the object (caller decrefs) or NULL. */
static json_t *parse_line(const struct es_buf *b, size_t start)
{
  json_error_t err;
  const char *s = b->data + start;
  size_t n = b->len - start;
  if(n == 0 || s[n - 1] != '\n' || memchr(s, '\n', n - 1))
    return NULL;
  return json_loadb(s, n - 1, JSON_REJECT_DUPLICATES, &err);
}

/* ---- corpus -------------------------------------------------------------- */

static const char *opt_str(json_t *c, const char *k)
{
  json_t *v = json_object_get(c, k);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static void run_case(json_t *c, size_t idx, struct es_buf *audit)
{
  const char *name = opt_str(c, "name");
  json_t *expect = json_object_get(c, "expect");
  const char *want_action = opt_str(expect, "action");
  const char *want_code = opt_str(expect, "code");
  struct es_guard_input in;
  struct es_guard_decision d;
  char *body = NULL, *target = NULL;
  size_t body_len = 0, target_len = 0;
  const char *got_code;
  int good, rc;
  json_t *jv;
  size_t start;

  memset(&in, 0, sizeof(in));
  if(!name || !want_action || !opt_str(c, "method")) {
    ok(0, "corpus case %zu is well-formed", idx);
    return;
  }
  if(opt_str(c, "target_b64"))
    target = b64decode(opt_str(c, "target_b64"), &target_len);
  else if(opt_str(c, "target")) {
    target_len = json_string_length(json_object_get(c, "target"));
    target = malloc(target_len + 1);
    if(target)
      memcpy(target, opt_str(c, "target"), target_len + 1);
  }
  if(opt_str(c, "body_b64"))
    body = b64decode(opt_str(c, "body_b64"), &body_len);
  else if(opt_str(c, "body")) {
    body_len = json_string_length(json_object_get(c, "body"));
    body = malloc(body_len + 1);
    if(body)
      memcpy(body, opt_str(c, "body"), body_len + 1);
  }
  if(!target || (!body && (opt_str(c, "body") || opt_str(c, "body_b64")))) {
    ok(0, "corpus: %s: fixture decodes", name);
    free(target);
    free(body);
    return;
  }

  in.method = opt_str(c, "method");
  in.target = target;
  in.target_len = target_len;
  in.body = body;
  in.body_len = body_len;
  in.current_mode = opt_str(c, "current_mode");
  in.acknowledge = opt_str(c, "acknowledge");
  in.allow_undocumented = json_is_true(json_object_get(c, "allow_undocumented"));

  rc = es_guard_check(&in, &d);
  got_code = es_guard_code_name(d.code);
  good = rc == ES_OK && strcmp(es_guard_action_name(d.action), want_action) == 0 &&
         ((!want_code && !got_code) || (want_code && got_code && strcmp(want_code, got_code) == 0));
  if((jv = json_object_get(expect, "touches_mode")))
    good = good && (json_is_true(jv) ? 1 : 0) == d.touches_mode;
  if(opt_str(expect, "cluster"))
    good = good && strcmp(opt_str(expect, "cluster"), d.cluster) == 0;
  if(opt_str(expect, "from"))
    good = good && strcmp(opt_str(expect, "from"), d.from) == 0;
  if(opt_str(expect, "to"))
    good = good && strcmp(opt_str(expect, "to"), d.to) == 0;
  good = good && decision_sane(&d);

  /* Every decision must make a valid audit line. */
  start = audit->len;
  if(es_guard_audit_line(&d, 1767225600, "arn:aws:iam::111122223333:role/test", audit) != ES_OK)
    good = 0;
  else {
    json_t *line = parse_line(audit, start);
    if(!line || strcmp(json_string_value(json_object_get(line, "decision")), want_action) != 0)
      good = 0;
    json_decref(line);
  }

  ok(good, "corpus: %s -> %s%s%s", name, want_action, want_code ? "/" : "", want_code ? want_code : "");
  if(!good)
    diag("got %s/%s touches=%d cluster='%s' from='%s' to='%s' rc=%d: %s", es_guard_action_name(d.action),
         got_code ? got_code : "-", d.touches_mode, d.cluster, d.from, d.to, rc, d.message);
  free(target);
  free(body);
}

static void test_corpus(void)
{
  json_error_t err;
  json_t *root = json_load_file(CORPUS, JSON_REJECT_DUPLICATES, &err);
  json_t *cases = json_object_get(root, "cases");
  struct es_buf audit = ES_BUF_INIT;
  size_t i;
  if(!ok(json_is_array(cases) && json_array_size(cases) >= 120, "corpus loads with at least 120 cases")) {
    diag("%s: %s (line %d)", CORPUS, err.text, err.line);
    json_decref(root);
    return;
  }
  diag("corpus: %zu cases", json_array_size(cases));
  for(i = 0; i < json_array_size(cases); i++) {
    run_case(json_array_get(cases, i), i, &audit);
    es_buf_reset(&audit);
  }
  es_buf_free(&audit);
  json_decref(root);
}

/* ---- direct checks --------------------------------------------------------- */

static struct es_guard_decision check(const char *method, const char *target, const char *body,
                                      const char *cur, const char *ack, int undoc)
{
  struct es_guard_input in = {method, target, target ? strlen(target) : 0, body,
                              body ? strlen(body) : 0, cur, ack, undoc};
  struct es_guard_decision d;
  es_guard_check(&in, &d);
  return d;
}

static void test_arguments(void)
{
  struct es_guard_input in;
  struct es_guard_decision d;
  memset(&in, 0, sizeof(in));
  ok(es_guard_check(NULL, &d) == ES_EINVAL && d.action == ES_GUARD_REFUSE &&
     d.code == ES_GUARD_AMBIGUOUS_REQUEST, "NULL input: ES_EINVAL and a refusal in the decision");
  ok(es_guard_check(&in, NULL) == ES_EINVAL, "NULL decision: ES_EINVAL");
  in.target = "/clusters";
  in.target_len = 9;
  ok(es_guard_check(&in, &d) == ES_EINVAL && d.action == ES_GUARD_REFUSE, "NULL method: ES_EINVAL, refuse");
  in.method = "POST";
  in.target = NULL;
  ok(es_guard_check(&in, &d) == ES_EINVAL && d.action == ES_GUARD_REFUSE, "NULL target: ES_EINVAL, refuse");
  in.target = "/clusters";
  in.body = NULL;
  in.body_len = 5;
  ok(es_guard_check(&in, &d) == ES_EINVAL && d.action == ES_GUARD_REFUSE,
     "NULL body with a length: ES_EINVAL, refuse");
  in.body_len = 0;
  ok(es_guard_check(&in, &d) == ES_OK && d.code == ES_GUARD_AMBIGUOUS_REQUEST,
     "CreateCluster with no body: AmbiguousRequest");

  /* target_len is authoritative: the bytes after it are not read. */
  in.method = "POST";
  in.target = "/clusters/prod/update-config/../../x";
  in.target_len = strlen("/clusters/prod/update-config");
  in.body = "{\"resourcesVpcConfig\":{\"controlPlaneEgressMode\":\"CUSTOMER_ROUTED\"}}";
  in.body_len = strlen(in.body);
  in.current_mode = "AWS_MANAGED";
  in.acknowledge = "prod";
  ok(es_guard_check(&in, &d) == ES_OK && d.action == ES_GUARD_ALLOW, "target_len bounds the target");
  in.body_len = 10;
  ok(es_guard_check(&in, &d) == ES_OK && d.code == ES_GUARD_AMBIGUOUS_REQUEST,
     "body_len bounds the body (a cut body is malformed)");
}

static void test_names(void)
{
  is_str(es_guard_action_name(ES_GUARD_ALLOW), "allow", "action name allow");
  is_str(es_guard_action_name(ES_GUARD_REFUSE), "refuse", "action name refuse");
  is_str(es_guard_action_name(ES_GUARD_NOOP), "noop", "action name noop");
  is_str(es_guard_action_name((enum es_guard_action)42), "refuse", "an invalid action reads as refuse");
  ok(es_guard_code_name(ES_GUARD_OK) == NULL, "code name of OK is NULL");
  is_str(es_guard_code_name(ES_GUARD_IRREVERSIBLE_NOT_ACKNOWLEDGED), "IrreversibleChangeNotAcknowledged",
         "code name NotAcknowledged");
  is_str(es_guard_code_name(ES_GUARD_TRANSITION_REFUSED), "IrreversibleTransitionRefused", "code name revert");
  is_str(es_guard_code_name(ES_GUARD_UNDOCUMENTED_MODE), "UndocumentedMode", "code name undocumented");
  is_str(es_guard_code_name(ES_GUARD_MIXED_UPDATE), "MixedUpdate", "code name mixed");
  is_str(es_guard_code_name(ES_GUARD_CURRENT_MODE_UNKNOWN), "CurrentModeUnknown", "code name unknown");
  is_str(es_guard_code_name(ES_GUARD_AMBIGUOUS_REQUEST), "AmbiguousRequest", "code name ambiguous");
  is_str(es_guard_code_name(ES_GUARD_NO_CHANGE), "NoChange", "code name no change");
}

static void test_messages(void)
{
  const char *routed = "{\"resourcesVpcConfig\":{\"controlPlaneEgressMode\":\"CUSTOMER_ROUTED\"}}";
  const char *managed = "{\"resourcesVpcConfig\":{\"controlPlaneEgressMode\":\"AWS_MANAGED\"}}";
  struct es_guard_decision d;
  char longname[101], target[200], body[400];

  d = check("POST", "/clusters/prod/update-config", routed, "AWS_MANAGED", NULL, 0);
  ok(strstr(d.message, "acknowledge = \"prod\"") && strstr(d.message, "irreversible") &&
     strstr(d.message, "AWS_MANAGED") && strstr(d.message, "CUSTOMER_ROUTED"),
     "NotAcknowledged names the cluster, both modes and the acknowledgement to pass");
  diag("%s", d.message);
  d = check("POST", "/clusters/prod/update-config", routed, "AWS_MANAGED", "other", 0);
  ok(strstr(d.message, "does not match") != NULL, "a wrong acknowledgement is called out");
  d = check("POST", "/clusters/prod/update-config", managed, "CUSTOMER_ROUTED", "prod", 1);
  ok(strstr(d.message, "\"prod\"") && strstr(d.message, "from CUSTOMER_ROUTED to AWS_MANAGED") &&
     strstr(d.message, "no option overrides"), "TransitionRefused says there is no override");
  diag("%s", d.message);
  d = check("POST", "/clusters/prod/update-config",
            "{\"resourcesVpcConfig\":{\"controlPlaneEgressMode\":\"CUSTOMER_ROUTED\"},\"logging\":{}}",
            "AWS_MANAGED", "prod", 0);
  ok(strstr(d.message, "\"logging\"") && strstr(d.message, "separate call"), "MixedUpdate names the extra key");
  d = check("POST", "/clusters/prod/update-config",
            "{\"resourcesVpcConfig\":{\"controlPlaneEgressMode\":\"CUSTOMER_ROUTED\",\"subnetIds\":[]}}",
            "AWS_MANAGED", "prod", 0);
  ok(strstr(d.message, "resourcesVpcConfig.subnetIds") != NULL, "MixedUpdate names a nested extra key");
  d = check("POST", "/clusters/prod/update-config", routed, NULL, "prod", 0);
  ok(strstr(d.message, "DescribeCluster") && strstr(d.message, "\"prod\""),
     "CurrentModeUnknown says to describe the cluster");
  d = check("POST", "/clusters/prod/update-config",
            "{\"resourcesVpcConfig\":{\"controlPlaneEgressMode\":\"CUSTOMER_ISOLATED\"}}", "AWS_MANAGED", NULL, 0);
  ok(strstr(d.message, "allow_undocumented = true") && strstr(d.message, "acknowledge = \"prod\""),
     "UndocumentedMode says how to opt in");
  d = check("POST", "/clusters/prod/update-config", routed, "CUSTOMER_ROUTED", NULL, 0);
  ok(strstr(d.message, "already CUSTOMER_ROUTED") && strstr(d.message, "not sent"), "NoChange says nothing is sent");
  d = check("POST", "/clusters", "{\"name\":\"prod\",\"resourcesVpcConfig\":{\"controlPlaneEgressMode\":"
            "\"CUSTOMER_ROUTED\"}}", NULL, NULL, 0);
  ok(strstr(d.message, "create cluster \"prod\"") && strstr(d.message, "acknowledge = \"prod\""),
     "create NotAcknowledged names the cluster and the acknowledgement");
  d = check("post", "/clusters/prod/update-config", routed, "AWS_MANAGED", "prod", 0);
  ok(strstr(d.message, "\"post\"") && strstr(d.message, "uppercase POST"), "a method trick is explained");
  d = check("POST", "/clusters/prod/update-config?x", routed, "AWS_MANAGED", "prod", 0);
  ok(strstr(d.message, "query string") != NULL, "a query string is explained");
  d = check("POST", "/clusters/prod/update-config", "{\"resourcesVpcConfig\":{\"ControlPlaneEgressMode\":\"X\"}}",
            "AWS_MANAGED", "prod", 0);
  ok(strstr(d.message, "\"ControlPlaneEgressMode\"") != NULL, "a misspelled key is named");

  /* Longest name and a long unknown mode: fields truncated, message valid. */
  memset(longname, 'n', 100);
  longname[100] = '\0';
  snprintf(target, sizeof(target), "/clusters/%s/update-config", longname);
  snprintf(body, sizeof(body), "{\"resourcesVpcConfig\":{\"controlPlaneEgressMode\":\"%s%s\"}}",
           "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
           "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
           "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
  d = check("POST", target, body, "AWS_MANAGED", longname, 0);
  ok(d.code == ES_GUARD_INVALID_MODE_VALUE && decision_sane(&d) && strlen(d.to) == 62 &&
     strcmp(d.cluster, longname) == 0, "long values are truncated on a UTF-8 boundary");
  d = check("POST", "/clusters/prod/update-config",
            "{\"resourcesVpcConfig\":{\"controlPlaneEgressMode\":\"A\\u0001B\\u007fC\\u0085\"}}", "AWS_MANAGED",
            "prod", 0);
  is_str(d.to, "A?B?C?", "control characters in a mode are shown as '?'");
}

/* ---- es_guard_target_cluster ------------------------------------------------ */

static void test_target_cluster(void)
{
  char out[128];
  struct {
    const char *t;
    int want;
    const char *name;
  } cases[] = {
    {"/clusters/prod", 1, "prod"},
    {"/clusters/prod/update-config", 1, "prod"},
    {"/clusters/prod?x=1", 1, "prod"},
    {"/clusters/prod#x", 1, "prod"},
    {"/clusters/%70rod/updates", 1, "prod"},
    {"/clusters/a%2Fb/update-config", 1, "a/b"},
    {"/clusters/", 0, ""},
    {"/clusters", 0, ""},
    {"/clusters//x", 0, ""},
    {"/x/clusters/prod", 0, ""},
    {"/Clusters/prod", 0, ""},
    {"/clusters/%00x", 0, ""},
    {"/clusters/%zz", 0, ""},
    {"/clusters/ab%4", 0, ""},
    {"/clusters/ab%", 0, ""},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int r;
    memset(out, 'x', sizeof(out));
    r = es_guard_target_cluster(cases[i].t, strlen(cases[i].t), out, sizeof(out));
    ok(r == cases[i].want && strcmp(out, cases[i].name) == 0, "target_cluster(%s) = %d '%s'", cases[i].t,
       cases[i].want, cases[i].name);
  }
  ok(es_guard_target_cluster("/clusters/prod", 14, out, 5) == 1 && strcmp(out, "prod") == 0,
     "target_cluster: a name that just fits");
  ok(es_guard_target_cluster("/clusters/prod", 14, out, 4) == 0 && out[0] == '\0',
     "target_cluster: a name that does not fit is not truncated");
  ok(es_guard_target_cluster("/clusters/prod", 14, out, 0) == 0, "target_cluster: out_size 0");
  ok(es_guard_target_cluster(NULL, 14, out, sizeof(out)) == 0, "target_cluster: NULL target");
  ok(es_guard_target_cluster("/clusters/prod", 14, NULL, 10) == 0, "target_cluster: NULL out");
  ok(es_guard_target_cluster("/clusters/prod/x", 12, out, sizeof(out)) == 1 && strcmp(out, "pr") == 0,
     "target_cluster: target_len bounds the scan");
  ok(es_guard_target_cluster("/clusters/pr\0od", 15, out, sizeof(out)) == 0,
     "target_cluster: NUL byte in the name");
}

/* ---- es_guard_audit_line ------------------------------------------------------- */

static void test_audit(void)
{
  struct es_buf b = ES_BUF_INIT;
  struct es_guard_decision d;
  json_t *j;
  size_t start;

  d = check("POST", "/clusters/prod/update-config",
            "{\"resourcesVpcConfig\":{\"controlPlaneEgressMode\":\"CUSTOMER_ROUTED\"}}", "AWS_MANAGED", NULL, 0);
  es_buf_puts(&b, "previous line\n");
  start = b.len;
  ok(es_guard_audit_line(&d, 0, NULL, &b) == ES_OK, "audit_line returns ES_OK");
  ok(strncmp(b.data, "previous line\n", 14) == 0, "audit_line appends");
  j = parse_line(&b, start);
  ok(j != NULL, "audit line is one JSON object and one newline");
  is_str(json_string_value(json_object_get(j, "time")), "1970-01-01T00:00:00Z", "audit time is ISO 8601 UTC");
  is_str(json_string_value(json_object_get(j, "cluster")), "prod", "audit cluster");
  is_str(json_string_value(json_object_get(j, "from")), "AWS_MANAGED", "audit from");
  is_str(json_string_value(json_object_get(j, "to")), "CUSTOMER_ROUTED", "audit to");
  is_str(json_string_value(json_object_get(j, "decision")), "refuse", "audit decision");
  is_str(json_string_value(json_object_get(j, "code")), "IrreversibleChangeNotAcknowledged", "audit code");
  ok(json_is_null(json_object_get(j, "identity")), "audit identity null when unknown");
  is_str(json_string_value(json_object_get(j, "message")), d.message, "audit message");
  ok(json_object_size(j) == 8, "audit line has exactly the 8 documented fields");
  json_decref(j);

  d = check("GET", "/clusters", NULL, NULL, NULL, 0);
  es_buf_reset(&b);
  ok(es_guard_audit_line(&d, 1767225600, "arn:aws:sts::1:assumed-role/r/s", &b) == ES_OK, "audit allow");
  j = parse_line(&b, 0);
  ok(j && json_is_null(json_object_get(j, "code")) && json_is_null(json_object_get(j, "cluster")) &&
     json_is_null(json_object_get(j, "from")) && json_is_null(json_object_get(j, "to")),
     "audit allow: code, cluster, from, to are null");
  is_str(json_string_value(json_object_get(j, "time")), "2026-01-01T00:00:00Z", "audit time 2026");
  is_str(json_string_value(json_object_get(j, "identity")), "arn:aws:sts::1:assumed-role/r/s", "audit identity");
  json_decref(j);

  /* Escaping: quotes, backslash, newline, control, DEL, U+2028, invalid UTF-8. */
  memset(&d, 0, sizeof(d));
  d.action = ES_GUARD_REFUSE;
  d.code = ES_GUARD_AMBIGUOUS_REQUEST;
  strcpy(d.cluster, "a\"b\\c\nd\x01" "e\x7f");
  strcpy(d.from, "\xe2\x80\xa8x");
  strcpy(d.to, "\xff\xc3");
  strcpy(d.message, "tab\there \xc3\xa9");
  es_buf_reset(&b);
  ok(es_guard_audit_line(&d, 1767225600, "id\"\n", &b) == ES_OK, "audit with characters to escape");
  j = parse_line(&b, 0);
  ok(j != NULL, "escaped audit line parses back");
  is_str(json_string_value(json_object_get(j, "cluster")), "a\"b\\c\nd\x01" "e\x7f", "cluster round-trips");
  is_str(json_string_value(json_object_get(j, "from")), "\xe2\x80\xa8x", "U+2028 round-trips");
  is_str(json_string_value(json_object_get(j, "to")), "\xef\xbf\xbd\xef\xbf\xbd", "invalid UTF-8 becomes U+FFFD");
  is_str(json_string_value(json_object_get(j, "message")), "tab\there \xc3\xa9", "tab and UTF-8 round-trip");
  is_str(json_string_value(json_object_get(j, "identity")), "id\"\n", "identity round-trips");
  ok(strstr(b.data, "\\u2028") != NULL && strstr(b.data, "\\u0001") != NULL, "U+2028 and controls escaped");
  json_decref(j);

  /* Fields that fill their arrays without a NUL are read within bounds. */
  memset(&d, 'A', sizeof(d));
  d.action = (enum es_guard_action)7;
  d.code = (enum es_guard_code)99;
  es_buf_reset(&b);
  ok(es_guard_audit_line(&d, 1767225600, NULL, &b) == ES_OK, "audit with unterminated fields");
  j = parse_line(&b, 0);
  ok(j && strlen(json_string_value(json_object_get(j, "cluster"))) == sizeof(d.cluster) &&
     strlen(json_string_value(json_object_get(j, "message"))) == sizeof(d.message),
     "unterminated fields are bounded by their arrays");
  is_str(json_string_value(json_object_get(j, "decision")), "refuse", "invalid action logged as refuse");
  json_decref(j);

  /* A time gmtime cannot represent as a 4-digit year. */
  d = check("GET", "/clusters", NULL, NULL, NULL, 0);
  es_buf_reset(&b);
  ok(es_guard_audit_line(&d, (time_t)INT64_MAX, NULL, &b) == ES_OK, "audit with an absurd time");
  j = parse_line(&b, 0);
  ok(j && json_is_null(json_object_get(j, "time")), "absurd time is null");
  json_decref(j);

  ok(es_guard_audit_line(NULL, 0, NULL, &b) == ES_EINVAL, "audit NULL decision");
  ok(es_guard_audit_line(&d, 0, NULL, NULL) == ES_EINVAL, "audit NULL buffer");
  es_buf_free(&b);
}

/* ---- state ------------------------------------------------------------------- */

static void observe_desc(struct es_guard_state *st, const char *ep, const char *name, long status,
                         const char *body, time_t now)
{
  char target[160];
  snprintf(target, sizeof(target), "/clusters/%s", name);
  es_guard_observe(st, ID, ep, "GET", target, strlen(target), status, body, body ? strlen(body) : 0, now, 1);
}

static void test_state(void)
{
  const char *ep = "eks.us-east-1.amazonaws.com";
  const char *ep2 = "eks.eu-west-1.amazonaws.com";
  const char *routed = "{\"cluster\":{\"name\":\"prod\",\"status\":\"ACTIVE\",\"resourcesVpcConfig\":"
                       "{\"subnetIds\":[\"s\"],\"controlPlaneEgressMode\":\"CUSTOMER_ROUTED\"}}}";
  const char *managed = "{\"cluster\":{\"name\":\"prod\",\"resourcesVpcConfig\":"
                        "{\"controlPlaneEgressMode\":\"AWS_MANAGED\"}}}";
  struct es_guard_state *st = es_guard_state_new();
  const char *m;
  char big[600];

  if(!ok(st != NULL, "state_new"))
    return;
  ok(es_guard_state_lookup(st, ID, ep, "prod", 1000, 60) == NULL, "empty state: unknown");

  observe_desc(st, ep, "prod", 200, routed, 1000);
  m = es_guard_state_lookup(st, ID, ep, "prod", 1000, 60);
  is_str(m, "CUSTOMER_ROUTED", "DescribeCluster 200 remembered");
  is_str(es_guard_state_lookup(st, ID, ep, "prod", 1060, 60), "CUSTOMER_ROUTED", "fresh at exactly max_age");
  ok(es_guard_state_lookup(st, ID, ep, "prod", 1061, 60) == NULL, "stale after max_age");
  ok(es_guard_state_lookup(st, ID, ep, "prod", 999, 60) == NULL, "an observation from the future is not trusted");
  ok(es_guard_state_lookup(st, ID, ep, "prod", 1000, -1) == NULL, "negative max_age: unknown");
  ok(es_guard_state_lookup(st, ID, ep2, "prod", 1000, 60) == NULL, "another endpoint is another cluster");
  ok(es_guard_state_lookup(st, ID, ep, "Prod", 1000, 60) == NULL, "names are case-sensitive");
  ok(es_guard_state_lookup(st, ID, ep, "pro", 1000, 60) == NULL, "no prefix match");
  ok(es_guard_state_lookup(st, ID, NULL, "prod", 1000, 60) == NULL, "NULL endpoint is \"\"");
  ok(es_guard_state_lookup(NULL, ID, ep, "prod", 1000, 60) == NULL && es_guard_state_lookup(st, ID, ep, NULL, 1000, 60) == NULL,
     "lookup with NULL state or cluster");

  observe_desc(st, ep, "prod", 200, managed, 1010);
  is_str(es_guard_state_lookup(st, ID, ep, "prod", 1010, 60), "AWS_MANAGED", "a newer observation replaces");
  ok(es_guard_state_count(st) == 1, "one entry per (endpoint, cluster)");
  observe_desc(st, ep2, "prod", 200, routed, 1010);
  is_str(es_guard_state_lookup(st, ID, ep2, "prod", 1010, 60), "CUSTOMER_ROUTED", "second endpoint kept apart");
  is_str(es_guard_state_lookup(st, ID, ep, "prod", 1010, 60), "AWS_MANAGED", "first endpoint unchanged");

  observe_desc(st, ep, "prod", 500, "{}", 1020);
  is_str(es_guard_state_lookup(st, ID, ep, "prod", 1020, 60), "AWS_MANAGED", "a 500 DescribeCluster keeps the entry");
  observe_desc(st, ep, "prod", 200, "{\"cluster\":", 1020);
  ok(es_guard_state_lookup(st, ID, ep, "prod", 1020, 60) == NULL, "an unreadable 200 body forgets");

  observe_desc(st, ep, "prod", 200, managed, 1030);
  observe_desc(st, ep, "prod", 200, "{\"cluster\":{\"name\":\"other\",\"resourcesVpcConfig\":"
               "{\"controlPlaneEgressMode\":\"AWS_MANAGED\"}}}", 1031);
  ok(es_guard_state_lookup(st, ID, ep, "prod", 1031, 60) == NULL, "a body naming another cluster forgets");
  ok(es_guard_state_lookup(st, ID, ep, "other", 1031, 60) == NULL, "...and does not remember the other");

  observe_desc(st, ep, "prod", 200, "{\"cluster\":{\"name\":\"prod\",\"resourcesVpcConfig\":{\"subnetIds\":[]}}}", 1040);
  ok(es_guard_state_lookup(st, ID, ep, "prod", 1040, 60) == NULL && es_guard_state_count(st) == 2,
     "a response without the field: entry kept, lookup unknown");
  observe_desc(st, ep, "prod", 200, "{\"cluster\":{\"name\":\"prod\"}}", 1041);
  ok(es_guard_state_lookup(st, ID, ep, "prod", 1041, 60) == NULL, "no resourcesVpcConfig: unknown");
  observe_desc(st, ep, "prod", 200, managed, 1042);
  observe_desc(st, ep, "prod", 200, "{\"cluster\":{\"name\":\"prod\",\"resourcesVpcConfig\":"
               "{\"controlPlaneEgressMode\":null}}}", 1043);
  ok(es_guard_state_lookup(st, ID, ep, "prod", 1043, 60) == NULL, "null mode: unknown");
  observe_desc(st, ep, "prod", 200, managed, 1044);
  observe_desc(st, ep, "prod", 200, "{\"cluster\":{\"name\":\"prod\",\"resourcesVpcConfig\":"
               "{\"controlPlaneEgressMode\":7}}}", 1045);
  ok(es_guard_state_lookup(st, ID, ep, "prod", 1045, 60) == NULL, "non-string mode: unknown");
  observe_desc(st, ep, "prod", 200, managed, 1046);
  observe_desc(st, ep, "prod", 200, "{\"cluster\":{\"name\":\"prod\",\"resourcesVpcConfig\":"
               "{\"controlPlaneEgressMode\":\"AWS_MANAGED\",\"ControlPlaneEgressMode\":\"CUSTOMER_ROUTED\"}}}", 1047);
  ok(es_guard_state_lookup(st, ID, ep, "prod", 1047, 60) == NULL, "two spellings of the key: unknown");
  observe_desc(st, ep, "prod", 200, managed, 1048);
  observe_desc(st, ep, "prod", 200, "{\"cluster\":{\"name\":\"prod\",\"resourcesVpcConfig\":"
               "{\"controlPlaneEgressMode\":\"AWS_MANAGED\",\"controlPlaneEgressMode\":\"CUSTOMER_ROUTED\"}}}", 1049);
  ok(es_guard_state_lookup(st, ID, ep, "prod", 1049, 60) == NULL, "duplicate keys: unknown");
  memset(big, 'M', sizeof(big));
  snprintf(big, sizeof(big), "{\"cluster\":{\"name\":\"prod\",\"resourcesVpcConfig\":{\"controlPlaneEgressMode\":"
           "\"%0300d\"}}}", 0);
  observe_desc(st, ep, "prod", 200, managed, 1050);
  observe_desc(st, ep, "prod", 200, big, 1051);
  ok(es_guard_state_lookup(st, ID, ep, "prod", 1051, 60) == NULL, "an absurdly long mode is not remembered");
  observe_desc(st, ep, "prod", 200, "{\"cluster\":{\"name\":\"prod\",\"resourcesVpcConfig\":"
               "{\"controlPlaneEgressMode\":\"NEW_MODE\"}}}", 1052);
  is_str(es_guard_state_lookup(st, ID, ep, "prod", 1052, 60), "NEW_MODE", "an unknown value is kept as is");

  /* Requests that may change the mode forget it. */
  observe_desc(st, ep, "prod", 200, managed, 1100);
  es_guard_observe(st, ID, ep, "POST", "/clusters/prod/update-config", 28, 200, "{\"update\":{}}", 13, 1101, 1);
  ok(es_guard_state_lookup(st, ID, ep, "prod", 1101, 60) == NULL, "UpdateClusterConfig 200 forgets");
  observe_desc(st, ep, "prod", 200, managed, 1102);
  es_guard_observe(st, ID, ep, "POST", "/clusters/prod/update-config", 28, 503, NULL, 0, 1103, 1);
  ok(es_guard_state_lookup(st, ID, ep, "prod", 1103, 60) == NULL, "UpdateClusterConfig 503 forgets too");
  observe_desc(st, ep, "prod", 200, managed, 1104);
  es_guard_observe(st, ID, ep, "DELETE", "/clusters/prod", 14, 200, NULL, 0, 1105, 1);
  ok(es_guard_state_lookup(st, ID, ep, "prod", 1105, 60) == NULL, "DeleteCluster forgets");
  observe_desc(st, ep, "prod", 200, managed, 1106);
  observe_desc(st, ep, "prod", 404, "{}", 1107);
  ok(es_guard_state_lookup(st, ID, ep, "prod", 1107, 60) == NULL, "DescribeCluster 404 forgets");

  observe_desc(st, ep, "prod", 200, managed, 1110);
  observe_desc(st, ep, "dev", 200, "{\"cluster\":{\"name\":\"dev\",\"resourcesVpcConfig\":"
               "{\"controlPlaneEgressMode\":\"AWS_MANAGED\"}}}", 1110);
  es_guard_observe(st, ID, ep, "POST", "/clusters", 9, 200, "{\"cluster\":{\"name\":\"prod\"}}", 27, 1111, 1);
  ok(es_guard_state_lookup(st, ID, ep, "prod", 1111, 60) == NULL, "CreateCluster 200 forgets that name");
  is_str(es_guard_state_lookup(st, ID, ep, "dev", 1111, 60), "AWS_MANAGED", "...and only that name");
  observe_desc(st, ep2, "x", 200, "{\"cluster\":{\"name\":\"x\",\"resourcesVpcConfig\":"
               "{\"controlPlaneEgressMode\":\"AWS_MANAGED\"}}}", 1110);
  es_guard_observe(st, ID, ep, "POST", "/clusters", 9, 200, "garbage", 7, 1112, 1);
  ok(es_guard_state_lookup(st, ID, ep, "dev", 1112, 60) == NULL, "unreadable CreateCluster 200 forgets the endpoint");
  is_str(es_guard_state_lookup(st, ID, ep2, "x", 1112, 60), "AWS_MANAGED", "...but not other endpoints");
  observe_desc(st, ep, "dev", 200, "{\"cluster\":{\"name\":\"dev\",\"resourcesVpcConfig\":"
               "{\"controlPlaneEgressMode\":\"AWS_MANAGED\"}}}", 1113);
  es_guard_observe(st, ID, ep, "POST", "/clusters", 9, 409, "{}", 2, 1114, 1);
  is_str(es_guard_state_lookup(st, ID, ep, "dev", 1114, 60), "AWS_MANAGED", "CreateCluster 409 changes nothing");
  es_guard_observe(st, ID, ep, "POST", "/clusters", 9, 500, NULL, 0, 1115, 1);
  ok(es_guard_state_lookup(st, ID, ep, "dev", 1115, 60) == NULL, "CreateCluster 500 forgets the endpoint");

  /* Non-canonical requests are not read. */
  es_guard_observe(st, ID, ep, "get", "/clusters/prod", 14, 200, managed, strlen(managed), 1200, 1);
  es_guard_observe(st, ID, ep, "GET", "/clusters/%70rod", 16, 200, managed, strlen(managed), 1200, 1);
  es_guard_observe(st, ID, ep, "GET", "/clusters/prod?x", 16, 200, managed, strlen(managed), 1200, 1);
  es_guard_observe(st, ID, ep, "GET", "/clusters/prod/", 15, 200, managed, strlen(managed), 1200, 1);
  ok(es_guard_state_lookup(st, ID, ep, "prod", 1200, 60) == NULL, "non-canonical DescribeCluster targets are ignored");
  observe_desc(st, ep, "prod", 200, managed, 1201);
  es_guard_observe(st, ID, ep, "GET", "/clusters/prod/updates", 22, 200, "{}", 2, 1202, 1);
  es_guard_observe(st, ID, ep, "POST", "/clusters/prod/node-groups/ng/update-config", 43, 200, "{}", 2, 1202, 1);
  is_str(es_guard_state_lookup(st, ID, ep, "prod", 1202, 60), "AWS_MANAGED", "other operations leave the entry");

  /* forget and NULL safety. */
  es_guard_state_forget(st, ID, ep, "prod");
  ok(es_guard_state_lookup(st, ID, ep, "prod", 1202, 60) == NULL, "state_forget");
  es_guard_state_forget(st, ID, ep, "never-seen");
  es_guard_state_forget(NULL, ID, ep, "prod");
  es_guard_observe(NULL, ID, ep, "GET", "/clusters/prod", 14, 200, managed, strlen(managed), 1, 1);
  es_guard_observe(st, ID, ep, NULL, "/clusters/prod", 14, 200, managed, strlen(managed), 1, 1);
  es_guard_observe(st, ID, ep, "GET", NULL, 14, 200, managed, strlen(managed), 1, 1);
  observe_desc(st, ep, "prod", 200, NULL, 1);
  ok(1, "NULL arguments are ignored");
  es_guard_state_free(st);
  es_guard_state_free(NULL);

  /* Bounded: the oldest observation goes first. */
  st = es_guard_state_new();
  if(!st)
    return;
  for(int i = 0; i < 4100; i++) {
    char name[32], body[200];
    snprintf(name, sizeof(name), "c%d", i);
    snprintf(body, sizeof(body), "{\"cluster\":{\"name\":\"%s\",\"resourcesVpcConfig\":"
             "{\"controlPlaneEgressMode\":\"AWS_MANAGED\"}}}", name);
    observe_desc(st, ep, name, 200, body, 10000 + i);
  }
  ok(es_guard_state_count(st) == 4096, "state is bounded to 4096 entries (%zu)", es_guard_state_count(st));
  ok(es_guard_state_lookup(st, ID, ep, "c0", 14200, 1000000) == NULL &&
     es_guard_state_lookup(st, ID, ep, "c3", 14200, 1000000) == NULL, "the oldest entries were evicted");
  is_str(es_guard_state_lookup(st, ID, ep, "c4", 14200, 1000000), "AWS_MANAGED", "newer entries kept");
  is_str(es_guard_state_lookup(st, ID, ep, "c4099", 14200, 1000000), "AWS_MANAGED", "the newest entry kept");
  es_guard_state_free(st);

  /* Eviction follows the order of observation (the recency list): an entry
     observed again is the newest, whatever its place before; a forgotten
     entry leaves the list; 30,000 clusters stay bounded. */
  st = es_guard_state_new();
  if(!st)
    return;
  {
    char name[32], body[200];
    int kept_ok = 1;
    for(int i = 0; i < 30000; i++) {
      snprintf(name, sizeof(name), "d%d", i);
      snprintf(body, sizeof(body), "{\"cluster\":{\"name\":\"%s\",\"resourcesVpcConfig\":"
               "{\"controlPlaneEgressMode\":\"CUSTOMER_ROUTED\"}}}", name);
      observe_desc(st, ep, name, 200, body, 20000 + i);
      if(i % 1000 == 999) {
        /* d0 is observed again every 1,000 clusters: it must never be evicted. */
        snprintf(body, sizeof(body), "{\"cluster\":{\"name\":\"d0\",\"resourcesVpcConfig\":"
                 "{\"controlPlaneEgressMode\":\"CUSTOMER_ROUTED\"}}}");
        observe_desc(st, ep, "d0", 200, body, 20000 + i);
        kept_ok = kept_ok && es_guard_state_lookup(st, ID, ep, "d0", 20000 + i, 1000000) != NULL;
      }
      if(i == 29000)
        es_guard_state_forget(st, ID, ep, "d28999");
    }
    ok(kept_ok, "an entry observed again is never the one evicted");
    ok(es_guard_state_count(st) == 4096, "30,000 clusters: still 4096 entries (%zu)", es_guard_state_count(st));
    ok(es_guard_state_lookup(st, ID, ep, "d25000", 60000, 1000000) == NULL, "older clusters evicted in order");
    is_str(es_guard_state_lookup(st, ID, ep, "d29999", 60000, 1000000), "CUSTOMER_ROUTED", "the newest kept");
    ok(es_guard_state_lookup(st, ID, ep, "d28999", 60000, 1000000) == NULL, "a forgotten entry stays forgotten");
  }
  es_guard_state_free(st);
}

/* Observations are the identity's own (issue 8.1). */
static void observe_as(struct es_guard_state *st, const char *id, const char *name, const char *mode,
                       time_t now, unsigned long long obs)
{
  char target[160], body[300];
  snprintf(target, sizeof(target), "/clusters/%s", name);
  snprintf(body, sizeof(body), "{\"cluster\":{\"name\":\"%s\",\"resourcesVpcConfig\":"
           "{\"controlPlaneEgressMode\":\"%s\"}}}", name, mode);
  es_guard_observe(st, id, "eks.us-east-1.amazonaws.com", "GET", target, strlen(target), 200, body,
                   strlen(body), now, obs);
}

static void test_state_identities(void)
{
  const char *ep = "eks.us-east-1.amazonaws.com";
  struct es_guard_state *st = es_guard_state_new();
  if(!st)
    return;
  observe_as(st, "AKIDA", "prod", "AWS_MANAGED", 100, 1);
  observe_as(st, "AKIDB", "prod", "CUSTOMER_ROUTED", 101, 2);
  is_str(es_guard_state_lookup(st, "AKIDA", ep, "prod", 101, 60), "AWS_MANAGED",
         "regression: B's later describe does not replace A's observation");
  is_str(es_guard_state_lookup(st, "AKIDB", ep, "prod", 101, 60), "CUSTOMER_ROUTED", "B's own");
  ok(es_guard_state_lookup(st, "", ep, "prod", 101, 60) == NULL &&
       es_guard_state_lookup(st, NULL, ep, "prod", 101, 60) == NULL,
     "unsigned (\"\" or NULL) is an identity of its own");
  ok(es_guard_state_count(st) == 2, "one entry per (identity, endpoint, cluster)");

  /* observed_with */
  is_str(es_guard_state_lookup_observation(st, 1, "AKIDA", ep, "prod", 101, 60), "AWS_MANAGED",
         "observation 1 is A's");
  ok(es_guard_state_lookup_observation(st, 2, "AKIDA", ep, "prod", 101, 60) == NULL,
     "observation 2 (B's) is not A's");
  ok(es_guard_state_lookup_observation(st, 1, "AKIDA", ep, "dev", 101, 60) == NULL &&
       es_guard_state_lookup_observation(st, 1, "AKIDA", "eks.eu-west-1.amazonaws.com", "prod", 101, 60) == NULL,
     "observation 1 is of one cluster at one endpoint");
  ok(es_guard_state_lookup_observation(st, 0, "AKIDA", ep, "prod", 101, 60) == NULL, "id 0 is no observation");
  ok(es_guard_state_lookup_observation(st, 1, "AKIDA", ep, "prod", 161, 60) == NULL &&
       es_guard_state_lookup_observation(st, 1, "AKIDA", ep, "prod", 99, 60) == NULL,
     "a stale (or future) observation is not relied on");
  observe_as(st, "AKIDA", "prod", "AWS_MANAGED", 150, 3);
  ok(es_guard_state_lookup_observation(st, 1, "AKIDA", ep, "prod", 155, 60) != NULL &&
       es_guard_state_lookup_observation(st, 3, "AKIDA", ep, "prod", 155, 60) != NULL,
     "another describe with the same mode keeps the earlier observation usable");
  ok(es_guard_state_lookup_observation(st, 1, "AKIDA", ep, "prod", 161, 60) == NULL &&
       es_guard_state_lookup(st, "AKIDA", ep, "prod", 161, 60) != NULL,
     "each observation keeps its own time");
  observe_as(st, "AKIDA", "prod", "CUSTOMER_ROUTED", 151, 4);
  ok(es_guard_state_lookup_observation(st, 1, "AKIDA", ep, "prod", 155, 60) == NULL &&
       es_guard_state_lookup_observation(st, 3, "AKIDA", ep, "prod", 155, 60) == NULL,
     "a describe with another mode makes the earlier observations history");
  is_str(es_guard_state_lookup_observation(st, 4, "AKIDA", ep, "prod", 155, 60), "CUSTOMER_ROUTED",
         "...and the new one is relied on");
  for(unsigned long long id = 10; id < 10 + ES_GUARD_OBS_KEEP + 1; id++)
    observe_as(st, "AKIDA", "prod", "CUSTOMER_ROUTED", 152, id);
  ok(es_guard_state_lookup_observation(st, 4, "AKIDA", ep, "prod", 155, 60) == NULL &&
       es_guard_state_lookup_observation(st, 11, "AKIDA", ep, "prod", 155, 60) != NULL,
     "at most ES_GUARD_OBS_KEEP observations are kept per entry");

  /* Changes forget for the identity that made them. */
  es_guard_observe(st, "AKIDA", ep, "POST", "/clusters/prod/update-config", 28, 200, "{}", 2, 160, 20);
  ok(es_guard_state_lookup(st, "AKIDA", ep, "prod", 160, 60) == NULL, "A's update forgets A's observation");
  is_str(es_guard_state_lookup(st, "AKIDB", ep, "prod", 160, 60), "CUSTOMER_ROUTED",
         "...not B's: another account's cluster of the same name");
  observe_as(st, "AKIDA", "prod", "AWS_MANAGED", 161, 21);
  es_guard_observe(st, "AKIDA", ep, "POST", "/clusters", 9, 500, NULL, 0, 162, 22);
  ok(es_guard_state_lookup(st, "AKIDA", ep, "prod", 162, 60) == NULL &&
       es_guard_state_lookup(st, "AKIDB", ep, "prod", 162, 60) == NULL,
     "a CreateCluster of unknown outcome forgets the endpoint for every identity");
  es_guard_state_free(st);
}

/* es_guard_gate: lookup, decision, audit line, and the observation used up. */
static void test_gate(void)
{
  const char *ep = "eks.us-east-1.amazonaws.com";
  const char *body = "{\"resourcesVpcConfig\":{\"controlPlaneEgressMode\":\"CUSTOMER_ROUTED\"}}";
  const char *t = "/clusters/prod/update-config";
  char path[] = "/tmp/es_gate_audit_XXXXXX";
  struct es_guard_state *st = es_guard_state_new();
  struct es_guard_request r;
  struct es_guard_decision d;
  struct es_journal_contents c;
  struct es_journal *j;
  int rc, fd = mkstemp(path);
  if(fd >= 0)
    close(fd);
  j = es_journal_open(path, ES_JOURNAL_SHARED, NULL);
  if(!ok(st && j, "gate: state and audit journal"))
    return;
  memset(&r, 0, sizeof(r));
  r.method = "POST";
  r.target = t;
  r.target_len = strlen(t);
  r.body = body;
  r.body_len = strlen(body);
  r.access_key_id = "AKIDA";
  r.endpoint = ep;
  r.acknowledge = "prod";
  r.identity = "arn:aws:iam::111122223333:user/a";
  observe_as(st, "AKIDB", "prod", "AWS_MANAGED", 1000, 7);
  ok(es_guard_gate(st, j, &r, 1001, &d, NULL) == ES_OK && d.code == ES_GUARD_CURRENT_MODE_UNKNOWN,
     "gate: another identity's observation is not the current mode");
  r.observed_with = 7;
  ok(es_guard_gate(st, j, &r, 1001, &d, NULL) == ES_OK && d.code == ES_GUARD_CURRENT_MODE_UNKNOWN,
     "gate: nor when named by observed_with");
  r.observed_with = 0;
  observe_as(st, "AKIDA", "prod", "AWS_MANAGED", 1000, 8);
  r.observed_with = 8;
  ok(es_guard_gate(st, j, &r, 1001, &d, NULL) == ES_OK && d.action == ES_GUARD_ALLOW && d.touches_mode,
     "gate: A's own observation allows A's acknowledged switch");
  ok(es_guard_gate(st, j, &r, 1001, &d, NULL) == ES_OK && d.code == ES_GUARD_CURRENT_MODE_UNKNOWN,
     "gate: the observation is used up by the allowed switch (a concurrent second one is refused)");
  is_str(es_guard_state_lookup(st, "AKIDB", ep, "prod", 1001, 60), "AWS_MANAGED", "gate: B's observation stays");
  r.method = "GET";
  r.target = "/clusters/prod";
  r.target_len = strlen(r.target);
  r.body = NULL;
  r.body_len = 0;
  ok(es_guard_gate(st, j, &r, 1001, &d, NULL) == ES_OK && d.action == ES_GUARD_ALLOW && !d.touches_mode,
     "gate: a read passes");
  es_journal_close(j);
  rc = es_journal_read(path, 0, &c, NULL);
  ok(rc == ES_OK && c.n_lines == 4 && !c.torn,
     "gate: one audit line per mode decision, none for the read (%zu)", c.n_lines);
  if(c.n_lines == 4)
    ok(strstr(c.data.data + c.lines[3].off, "\"decision\":\"refuse\"") &&
         strstr(c.data.data + c.lines[2].off, "\"decision\":\"allow\"") &&
         strstr(c.data.data + c.lines[2].off, "user/a"),
       "gate: the lines say what was decided and by whom");
  es_journal_contents_free(&c);
  unlink(path);
  es_guard_state_free(st);
}

/* The engine's flow: describe, look up, check. */
static void test_flow(void)
{
  const char *ep = "eks.us-east-1.amazonaws.com";
  const char *t = "/clusters/prod/update-config";
  const char *body = "{\"resourcesVpcConfig\":{\"controlPlaneEgressMode\":\"CUSTOMER_ROUTED\"}}";
  const char *desc = "{\"cluster\":{\"name\":\"prod\",\"resourcesVpcConfig\":"
                     "{\"controlPlaneEgressMode\":\"AWS_MANAGED\"}}}";
  struct es_guard_state *st = es_guard_state_new();
  char name[128];
  struct es_guard_decision d;
  const char *cur;
  if(!st)
    return;
  es_guard_observe(st, ID, ep, "GET", "/clusters/prod", 14, 200, desc, strlen(desc), 5000, 1);
  ok(es_guard_target_cluster(t, strlen(t), name, sizeof(name)) == 1, "flow: cluster from the target");
  cur = es_guard_state_lookup(st, ID, ep, name, 5001, 30);
  d = check("POST", t, body, cur, "prod", 0);
  ok(d.action == ES_GUARD_ALLOW, "flow: acknowledged switch allowed after a fresh describe");
  es_guard_observe(st, ID, ep, "POST", t, strlen(t), 200, "{}", 2, 5002, 1);
  cur = es_guard_state_lookup(st, ID, ep, name, 5003, 30);
  d = check("POST", t, body, cur, "prod", 0);
  ok(d.code == ES_GUARD_CURRENT_MODE_UNKNOWN, "flow: after the update, a second one needs a new describe");
  es_guard_state_free(st);
}

int main(void)
{
  test_corpus();
  test_arguments();
  test_names();
  test_messages();
  test_target_cluster();
  test_audit();
  test_state();
  test_state_identities();
  test_gate();
  test_flow();
  return done_testing();
}
