/*
 * guard.c: the irreversibility guard's decision function.
 *
 * Safety model: the guard fails closed. A request is allowed without looking
 * further only when no server normalization of its method and target could
 * make it CreateCluster or UpdateClusterConfig, and its body (if any) names
 * no egress mode. A request that could be one of those two must be in the
 * exact canonical form (uppercase POST, "/clusters" or
 * "/clusters/{valid-name}/update-config", no query, no encoding) with a strict
 * JSON body; only then are the mode rules applied. Everything in between is
 * AmbiguousRequest.
 */
#include "guard.h"
#include "guard_internal.h"
#include "es_error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MODE_AWS "AWS_MANAGED"
#define MODE_ROUTED "CUSTOMER_ROUTED"
#define MODE_ISOLATED "CUSTOMER_ISOLATED"

/* ---- small helpers shared with the other guard files ------------------- */

static int is_alnum(int c)
{
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int es_guard_name_valid(const char *s, size_t n)
{
  if(n < 1 || n > ES_GUARD_NAME_MAX || !is_alnum((unsigned char)s[0]))
    return 0;
  for(size_t i = 1; i < n; i++) {
    int c = (unsigned char)s[i];
    if(!is_alnum(c) && c != '_' && c != '-')
      return 0;
  }
  return 1;
}

/* Decode one UTF-8 sequence at s[i..n). Returns its length (1..4) and the
   code point in *cp, or 0 when the bytes there are not well-formed UTF-8. */
static size_t utf8_next(const unsigned char *s, size_t i, size_t n, uint32_t *cp)
{
  unsigned c = s[i];
  size_t len;
  uint32_t v, min;
  if(c < 0x80) {
    *cp = c;
    return 1;
  }
  if(c >= 0xC2 && c <= 0xDF) {
    len = 2;
    v = c & 0x1F;
    min = 0x80;
  }
  else if(c >= 0xE0 && c <= 0xEF) {
    len = 3;
    v = c & 0x0F;
    min = 0x800;
  }
  else if(c >= 0xF0 && c <= 0xF4) {
    len = 4;
    v = c & 0x07;
    min = 0x10000;
  }
  else
    return 0;
  if(n - i < len)
    return 0;
  for(size_t k = 1; k < len; k++) {
    unsigned cc = s[i + k];
    if((cc & 0xC0) != 0x80)
      return 0;
    v = (v << 6) | (cc & 0x3F);
  }
  if(v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
    return 0;
  *cp = v;
  return len;
}

int es_guard_utf8_valid(const char *s, size_t n)
{
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  uint32_t cp;
  while(i < n) {
    size_t l = utf8_next(u, i, n, &cp);
    if(!l)
      return 0;
    i += l;
  }
  return 1;
}

void es_guard_copy_display(char *dst, size_t size, const char *src, size_t n)
{
  const unsigned char *u = (const unsigned char *)src;
  size_t i = 0, o = 0;
  if(!dst || size == 0)
    return;
  while(src && i < n) {
    uint32_t cp;
    size_t l = utf8_next(u, i, n, &cp);
    if(l == 0 || cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
      /* invalid byte or control character: one '?' */
      if(o + 1 >= size)
        break;
      dst[o++] = '?';
      i += l ? l : 1;
      continue;
    }
    if(o + l >= size)
      break;                      /* never split a sequence */
    memcpy(dst + o, src + i, l);
    o += l;
    i += l;
  }
  dst[o] = '\0';
}

/* Fold one code point onto the ASCII letter a lenient case-insensitive
   matcher could take it for; 0 for separators to skip; -1 for no match. */
static int fold_cp(uint32_t cp)
{
  if(cp >= 'A' && cp <= 'Z')
    return (int)(cp - 'A' + 'a');
  if(cp == '_' || cp == '-')
    return 0;
  if(cp < 0x80)
    return (int)cp;
  if(cp == 0x017F)                        /* LATIN SMALL LETTER LONG S */
    return 's';
  if(cp == 0x0130 || cp == 0x0131)        /* dotted capital I, dotless small i */
    return 'i';
  if(cp == 0x212A)                        /* KELVIN SIGN */
    return 'k';
  if(cp >= 0xFF21 && cp <= 0xFF3A)        /* FULLWIDTH LATIN CAPITAL */
    return (int)(cp - 0xFF21 + 'a');
  if(cp >= 0xFF41 && cp <= 0xFF5A)        /* FULLWIDTH LATIN SMALL */
    return (int)(cp - 0xFF41 + 'a');
  return -1;
}

int es_guard_key_folds_to(const char *key, const char *word)
{
  const unsigned char *u = (const unsigned char *)key;
  size_t n = strlen(key), i = 0;
  const char *w = word;
  while(i < n) {
    uint32_t cp;
    size_t l = utf8_next(u, i, n, &cp);
    int f;
    if(!l)
      return 0;
    i += l;
    f = fold_cp(cp);
    if(f == 0)
      continue;
    if(f < 0 || *w == '\0' || f != *w)
      return 0;
    w++;
  }
  return *w == '\0';
}

enum es_guard_op es_guard_canonical_op(const char *method, const char *target, size_t n,
                                       char name_out[ES_GUARD_NAME_MAX + 1])
{
  static const char pfx[] = "/clusters/";
  static const char sfx[] = "/update-config";
  const size_t pl = sizeof(pfx) - 1, sl = sizeof(sfx) - 1;
  size_t nl;
  name_out[0] = '\0';
  if(!method || !target)
    return ES_GOP_NONE;
  if(strcmp(method, "POST") == 0 && n == pl - 1 && memcmp(target, pfx, pl - 1) == 0)
    return ES_GOP_CREATE;
  if(n <= pl || memcmp(target, pfx, pl) != 0)
    return ES_GOP_NONE;
  if(strcmp(method, "POST") == 0) {
    if(n <= pl + sl || memcmp(target + n - sl, sfx, sl) != 0)
      return ES_GOP_NONE;
    nl = n - pl - sl;
    if(!es_guard_name_valid(target + pl, nl))
      return ES_GOP_NONE;
    memcpy(name_out, target + pl, nl);
    name_out[nl] = '\0';
    return ES_GOP_UPDATE_CONFIG;
  }
  if(strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0) {
    nl = n - pl;
    if(!es_guard_name_valid(target + pl, nl))
      return ES_GOP_NONE;
    memcpy(name_out, target + pl, nl);
    name_out[nl] = '\0';
    return method[0] == 'G' ? ES_GOP_DESCRIBE : ES_GOP_DELETE;
  }
  return ES_GOP_NONE;
}

/* ---- names -------------------------------------------------------------- */

const char *es_guard_action_name(enum es_guard_action a)
{
  switch(a) {
  case ES_GUARD_ALLOW: return "allow";
  case ES_GUARD_REFUSE: return "refuse";
  case ES_GUARD_NOOP: return "noop";
  }
  return "refuse";                  /* not a valid action: never read it as allow */
}

const char *es_guard_code_name(enum es_guard_code c)
{
  switch(c) {
  case ES_GUARD_OK: return NULL;
  case ES_GUARD_IRREVERSIBLE_NOT_ACKNOWLEDGED: return "IrreversibleChangeNotAcknowledged";
  case ES_GUARD_TRANSITION_REFUSED: return "IrreversibleTransitionRefused";
  case ES_GUARD_UNDOCUMENTED_MODE: return "UndocumentedMode";
  case ES_GUARD_MIXED_UPDATE: return "MixedUpdate";
  case ES_GUARD_CURRENT_MODE_UNKNOWN: return "CurrentModeUnknown";
  case ES_GUARD_AMBIGUOUS_REQUEST: return "AmbiguousRequest";
  case ES_GUARD_NO_CHANGE: return "NoChange";
  }
  return "AmbiguousRequest";
}

/* ---- decision helpers ---------------------------------------------------- */

/* Drop a UTF-8 sequence that vsnprintf cut at the end of buf. */
static void trim_partial_utf8(char *buf)
{
  size_t n = strlen(buf), i = n, need;
  unsigned c;
  while(i > 0 && n - i < 4 && ((unsigned char)buf[i - 1] & 0xC0) == 0x80)
    i--;
  if(i == 0)
    return;
  c = (unsigned char)buf[i - 1];
  if(c < 0x80)
    return;
  need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
  if(n - (i - 1) < need)
    buf[i - 1] = '\0';
}

static void say(struct es_guard_decision *d, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
static void say(struct es_guard_decision *d, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d->message, sizeof(d->message), fmt, ap);
  va_end(ap);
  trim_partial_utf8(d->message);
}

static void decide(struct es_guard_decision *d, enum es_guard_action a, enum es_guard_code c,
                   int touches)
{
  d->action = a;
  d->code = c;
  d->touches_mode = touches;
}

static void ambiguous(struct es_guard_decision *d, const char *why, const char *remedy)
{
  char shown[200];
  decide(d, ES_GUARD_REFUSE, ES_GUARD_AMBIGUOUS_REQUEST, 1);
  es_guard_copy_display(shown, sizeof(shown), why, strlen(why));
  say(d, "refusing an ambiguous request%s%s%s: %s. The guard fails closed on what it cannot read "
      "exactly as EKS would; %s", d->cluster[0] ? " for cluster \"" : "", d->cluster,
      d->cluster[0] ? "\"" : "", shown, remedy);
}

/* ---- method and target analysis ------------------------------------------ */

enum mclass {
  M_POST,        /* exactly "POST" */
  M_SAFE,        /* GET, HEAD, DELETE, OPTIONS in any letter case: never a create or update */
  M_POSTISH      /* anything else (post, PUT, PATCH, ...): could be routed like POST */
};

static int is_tchar(int c)
{
  return is_alnum(c) || (c && strchr("!#$%&'*+.^_`|~-", c) != NULL);
}

static enum mclass classify_method(const char *m)
{
  static const char *const safe[] = {"GET", "HEAD", "DELETE", "OPTIONS"};
  if(strcmp(m, "POST") == 0)
    return M_POST;
  for(size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++)
    if(strcasecmp(m, safe[i]) == 0)
      return M_SAFE;
  return M_POSTISH;
}

static int hexval(int c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if(c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Percent-decode src[0..n) into dst (n + 1 bytes). keep_slash: leave %2F and
   %5C encoded (a server that routes before decoding). Otherwise IIS-style
   "%uXXXX" is decoded too (non-ASCII code points become the byte 0x80, which
   the caller treats as suspicious). Returns the length. */
static size_t pct_decode(char *dst, const char *src, size_t n, int keep_slash)
{
  size_t o = 0;
  for(size_t i = 0; i < n; i++) {
    int h, l;
    if(!keep_slash && src[i] == '%' && i + 5 < n && (src[i + 1] == 'u' || src[i + 1] == 'U')) {
      long cp = 0;
      int k;
      for(k = 2; k < 6; k++) {
        int v = hexval((unsigned char)src[i + k]);
        if(v < 0)
          break;
        cp = cp * 16 + v;
      }
      if(k == 6) {
        dst[o++] = cp < 0x80 ? (char)cp : (char)0x80;
        i += 5;
        continue;
      }
    }
    if(src[i] == '%' && i + 2 < n &&
       (h = hexval((unsigned char)src[i + 1])) >= 0 && (l = hexval((unsigned char)src[i + 2])) >= 0) {
      int c = h * 16 + l;
      if(!(keep_slash && (c == '/' || c == '\\'))) {
        dst[o++] = (char)c;
        i += 2;
        continue;
      }
    }
    dst[o++] = src[i];
  }
  dst[o] = '\0';
  return o;
}

/* Compare a path segment with an ASCII lower-case word the way a forgiving
   server might: letter case ignored, trailing dots and spaces ignored. */
static int seg_is(const char *s, size_t n, const char *word)
{
  size_t wl = strlen(word);
  while(n > 0 && (s[n - 1] == '.' || s[n - 1] == ' '))
    n--;
  return n == wl && strncasecmp(s, word, wl) == 0;
}

struct seg {
  const char *p;
  size_t n;
};

/* Normalize a decoded path like a lenient server (split on '/' and '\',
   drop ";params", empty and "." segments, resolve ".."), then say whether it
   is /clusters or /clusters/{x}/update-config. segs has room for n + 1. */
static int normalized_could_mutate(const char *path, size_t n, struct seg *segs)
{
  size_t count = 0, i = 0;
  while(i <= n) {
    size_t start = i, len;
    const char *semi;
    while(i < n && path[i] != '/' && path[i] != '\\')
      i++;
    len = i - start;
    semi = memchr(path + start, ';', len);
    if(semi)
      len = (size_t)(semi - (path + start));
    i++;
    if(len == 0 || (len == 1 && path[start] == '.'))
      continue;
    if(len == 2 && path[start] == '.' && path[start + 1] == '.') {
      if(count > 0)
        count--;
      continue;
    }
    segs[count].p = path + start;
    segs[count].n = len;
    count++;
  }
  if(count == 1 && seg_is(segs[0].p, segs[0].n, "clusters"))
    return 1;
  if(count == 3 && seg_is(segs[0].p, segs[0].n, "clusters") &&
     seg_is(segs[2].p, segs[2].n, "update-config"))
    return 1;
  return 0;
}

/* Could a server, after the normalizations it might apply, route this path
   (no query) as CreateCluster or UpdateClusterConfig? Tries the raw path,
   the path decoded except %2F/%5C, and the path decoded until stable.
   Returns 1 (yes), 0 (no) or ES_ENOMEM. */
static int path_could_mutate(const char *path, size_t n)
{
  char *a = malloc(n + 1), *b = malloc(n + 1);
  struct seg *segs = malloc((n + 2) * sizeof(*segs));
  int r = ES_ENOMEM;
  size_t an, bn;
  if(!a || !b || !segs)
    goto out;
  r = 1;
  if(normalized_could_mutate(path, n, segs))
    goto out;
  an = pct_decode(a, path, n, 1);
  if(normalized_could_mutate(a, an, segs))
    goto out;
  an = pct_decode(a, path, n, 0);
  for(int round = 0; round < 8; round++) {
    bn = pct_decode(b, a, an, 0);
    if(bn == an && memcmp(a, b, an) == 0)
      break;
    memcpy(a, b, bn + 1);
    an = bn;
  }
  if(normalized_could_mutate(a, an, segs))
    goto out;
  /* Decoded bytes outside printable ASCII (overlong "%C0%AF", fullwidth
     letters, control characters): some servers map them onto '/' or ASCII
     letters. No legitimate EKS path needs them on a POST-like request. */
  for(size_t i = 0; i < an; i++) {
    unsigned char c = (unsigned char)a[i];
    if(c <= 0x20 || c >= 0x7F)
      goto out;
  }
  r = 0;
out:
  free(a);
  free(b);
  free(segs);
  return r;
}

/* Why a target that could be a create or an update is not canonical. */
static const char *noncanonical_reason(const char *t, size_t n)
{
  size_t path_n = n;
  const char *q = memchr(t, '?', n);
  if(q)
    return "the target has a query string, which a mutating EKS request never carries";
  if(memchr(t, '%', path_n))
    return "the target uses percent-encoding, which a canonical EKS mutating path never needs";
  for(size_t i = 0; i + 1 < path_n; i++)
    if(t[i] == '/' && t[i + 1] == '/')
      return "the target has repeated slashes";
  for(size_t i = 0; i < path_n; i++) {
    if(t[i] == '.' && (i == 0 || t[i - 1] == '/')) {
      size_t j = i + 1;
      if(j < path_n && t[j] == '.')
        j++;
      if(j == path_n || t[j] == '/')
        return "the target has a dot segment (\".\" or \"..\")";
    }
  }
  if(path_n > 1 && t[path_n - 1] == '/')
    return "the target has a trailing slash";
  if(memchr(t, '\\', path_n) || memchr(t, ';', path_n))
    return "the target has a backslash or a \";\" path parameter";
  if(path_n >= 9 && strncmp(t, "/clusters", 9) != 0)
    return "the target's letter case differs from /clusters or /update-config";
  if(path_n >= 14 && strncmp(t + path_n - 14, "/update-config", 14) != 0 &&
     strncasecmp(t + path_n - 14, "/update-config", 14) == 0)
    return "the target's letter case differs from /clusters or /update-config";
  return "the cluster name in the target is not a valid EKS cluster name "
         "(^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$)";
}

/* ---- the mode rules ------------------------------------------------------ */

static int is_documented_target(const char *to)
{
  return strcmp(to, MODE_ROUTED) == 0;
}

/* The requested mode must be a JSON string; anything else (null, a number,
   an object) is ambiguous. One rule for create and update. */
static int mode_is_string(const struct es_guard_body *b, struct es_guard_decision *d)
{
  if(json_is_string(b->mode))
    return 1;
  ambiguous(d, json_is_null(b->mode) ? "controlPlaneEgressMode is null"
                                     : "controlPlaneEgressMode is not a string",
            ES_GUARD_FIX_VALUE);
  return 0;
}

static void decide_create(const struct es_guard_input *in, struct es_guard_body *b,
                          struct es_guard_decision *d)
{
  json_t *name = json_object_get(b->root, "name");
  const char *mode, *nm;
  size_t ml, nl;
  int acked;

  if(json_is_string(name))
    es_guard_copy_display(d->cluster, sizeof(d->cluster), json_string_value(name),
                          json_string_length(name));
  if(!b->mode) {
    decide(d, ES_GUARD_ALLOW, ES_GUARD_OK, 0);
    say(d, "allowed: CreateCluster without controlPlaneEgressMode (EKS uses AWS_MANAGED)");
    return;
  }
  if(!mode_is_string(b, d))
    return;
  mode = json_string_value(b->mode);
  ml = json_string_length(b->mode);
  es_guard_copy_display(d->to, sizeof(d->to), mode, ml);
  if(!json_is_string(name)) {
    ambiguous(d, "CreateCluster sets controlPlaneEgressMode but its \"name\" is missing or not "
                 "a string", ES_GUARD_FIX_NAME);
    return;
  }
  nm = json_string_value(name);
  nl = json_string_length(name);
  if(!es_guard_name_valid(nm, nl)) {
    ambiguous(d, "CreateCluster sets controlPlaneEgressMode but \"name\" is not a valid EKS "
                 "cluster name", ES_GUARD_FIX_NAME);
    return;
  }
  acked = in->acknowledge && strlen(in->acknowledge) == nl && memcmp(in->acknowledge, nm, nl) == 0;

  if(strcmp(mode, MODE_AWS) == 0 && ml == strlen(MODE_AWS)) {
    decide(d, ES_GUARD_ALLOW, ES_GUARD_OK, 1);
    say(d, "allowed: create cluster \"%s\" with controlPlaneEgressMode AWS_MANAGED (the default)",
        d->cluster);
    return;
  }
  if(strcmp(mode, MODE_ROUTED) == 0 && ml == strlen(MODE_ROUTED)) {
    if(acked) {
      decide(d, ES_GUARD_ALLOW, ES_GUARD_OK, 1);
      say(d, "allowed: create cluster \"%s\" with controlPlaneEgressMode CUSTOMER_ROUTED "
          "(irreversible, acknowledged)", d->cluster);
    }
    else {
      decide(d, ES_GUARD_REFUSE, ES_GUARD_IRREVERSIBLE_NOT_ACKNOWLEDGED, 1);
      say(d, "refusing to create cluster \"%s\" with controlPlaneEgressMode CUSTOMER_ROUTED: it can "
          "never be switched back to AWS_MANAGED. Pass acknowledge = \"%s\" to confirm the "
          "irreversible choice%s", d->cluster, d->cluster,
          in->acknowledge ? " (the acknowledgement given does not match the cluster name)" : "");
    }
    return;
  }
  /* CUSTOMER_ISOLATED or a value no documentation describes (including
     letter-case and whitespace variants of known values). */
  if(in->allow_undocumented && acked) {
    decide(d, ES_GUARD_ALLOW, ES_GUARD_OK, 1);
    say(d, "allowed: create cluster \"%s\" with undocumented controlPlaneEgressMode \"%s\" "
        "(allow_undocumented and acknowledged)", d->cluster, d->to);
    return;
  }
  decide(d, ES_GUARD_REFUSE, ES_GUARD_UNDOCUMENTED_MODE, 1);
  say(d, "refusing to create cluster \"%s\" with controlPlaneEgressMode \"%s\": no AWS "
      "documentation describes this value or whether it can be undone. To proceed anyway pass "
      "allow_undocumented = true and acknowledge = \"%s\"", d->cluster, d->to, d->cluster);
}

static void decide_update(const struct es_guard_input *in, struct es_guard_body *b,
                          const char *cluster, struct es_guard_decision *d)
{
  const char *to, *from = in->current_mode;
  size_t tl;
  int acked = in->acknowledge && strcmp(in->acknowledge, cluster) == 0;
  int from_known = from && from[0];

  if(from_known)
    es_guard_copy_display(d->from, sizeof(d->from), from, strlen(from));
  if(!b->mode) {
    decide(d, ES_GUARD_ALLOW, ES_GUARD_OK, 0);
    say(d, "allowed: UpdateClusterConfig for cluster \"%s\" does not touch controlPlaneEgressMode",
        d->cluster);
    return;
  }
  if(!mode_is_string(b, d))
    return;
  to = json_string_value(b->mode);
  tl = json_string_length(b->mode);
  es_guard_copy_display(d->to, sizeof(d->to), to, tl);

  /* Nothing goes back to AWS_MANAGED: from CUSTOMER_ROUTED EKS refuses it,
     from CUSTOMER_ISOLATED or an unknown value nobody knows what it does. */
  if(from_known && strcmp(to, MODE_AWS) == 0 && strcmp(from, MODE_AWS) != 0) {
    decide(d, ES_GUARD_REFUSE, ES_GUARD_TRANSITION_REFUSED, 1);
    say(d, "refusing to switch cluster \"%s\" from %s to AWS_MANAGED: a cluster that left "
        "AWS_MANAGED cannot be switched back, and no option overrides this. Keep the cluster as it "
        "is, or create a new cluster with AWS_MANAGED", d->cluster, d->from);
    return;
  }
  if(b->extra_key || b->extra_vpc_key) {
    char extra[80];
    const char *k = b->extra_key ? b->extra_key : b->extra_vpc_key;
    es_guard_copy_display(extra, sizeof(extra), k, strlen(k));
    decide(d, ES_GUARD_REFUSE, ES_GUARD_MIXED_UPDATE, 1);
    say(d, "refusing UpdateClusterConfig for cluster \"%s\": a controlPlaneEgressMode change must "
        "be sent alone (only clientRequestToken may accompany it), but the body also sets "
        "\"%s%s\". Send the other changes in a separate call", d->cluster,
        b->extra_key ? "" : "resourcesVpcConfig.", extra);
    return;
  }
  if(!from_known) {
    decide(d, ES_GUARD_REFUSE, ES_GUARD_CURRENT_MODE_UNKNOWN, 1);
    say(d, "refusing to set controlPlaneEgressMode of cluster \"%s\" to \"%s\": its current mode "
        "is unknown. Describe the cluster first (DescribeCluster) so the guard can check the "
        "transition", d->cluster, d->to);
    return;
  }
  if(strcmp(from, to) == 0 && strlen(from) == tl) {
    decide(d, ES_GUARD_NOOP, ES_GUARD_NO_CHANGE, 1);
    say(d, "cluster \"%s\" is already %s: nothing to change, the request is not sent",
        d->cluster, d->from);
    return;
  }
  if(strcmp(from, MODE_AWS) == 0 && is_documented_target(to) && tl == strlen(to)) {
    if(acked) {
      decide(d, ES_GUARD_ALLOW, ES_GUARD_OK, 1);
      say(d, "allowed: switch cluster \"%s\" from AWS_MANAGED to CUSTOMER_ROUTED "
          "(irreversible, acknowledged)", d->cluster);
    }
    else {
      decide(d, ES_GUARD_REFUSE, ES_GUARD_IRREVERSIBLE_NOT_ACKNOWLEDGED, 1);
      say(d, "refusing to switch cluster \"%s\" from AWS_MANAGED to CUSTOMER_ROUTED: the switch "
          "is irreversible. Pass acknowledge = \"%s\" to confirm the irreversible switch%s",
          d->cluster, d->cluster,
          in->acknowledge ? " (the acknowledgement given does not match the cluster name)" : "");
    }
    return;
  }
  /* A transition to or from a mode no documentation describes. */
  if(in->allow_undocumented && acked) {
    decide(d, ES_GUARD_ALLOW, ES_GUARD_OK, 1);
    say(d, "allowed: switch cluster \"%s\" from \"%s\" to undocumented controlPlaneEgressMode "
        "\"%s\" (allow_undocumented and acknowledged)", d->cluster, d->from, d->to);
    return;
  }
  decide(d, ES_GUARD_REFUSE, ES_GUARD_UNDOCUMENTED_MODE, 1);
  say(d, "refusing to switch cluster \"%s\" from \"%s\" to \"%s\": no AWS documentation describes "
      "this transition or whether it can be undone. To proceed anyway pass allow_undocumented = "
      "true and acknowledge = \"%s\"", d->cluster, d->from, d->to, d->cluster);
}

/* ---- es_guard_check -------------------------------------------------------- */

static void check_target(const struct es_guard_input *in, struct es_guard_decision *d)
{
  const char *t = in->target;
  size_t n = in->target_len, path_n;
  const char *q;
  enum mclass mc;
  enum es_guard_op op;
  char name[ES_GUARD_NAME_MAX + 1];
  struct es_guard_body body;
  int could, rc;

  /* Best effort, for the message and the audit line. */
  if(es_guard_target_cluster(t, n, name, sizeof(name)) && es_guard_name_valid(name, strlen(name)))
    memcpy(d->cluster, name, strlen(name) + 1);

  if(in->method[0] == '\0' || strlen(in->method) > 32) {
    ambiguous(d, "the method is empty or too long", ES_GUARD_FIX_TARGET);
    return;
  }
  for(const char *m = in->method; *m; m++) {
    if(!is_tchar((unsigned char)*m)) {
      ambiguous(d, "the method contains characters an HTTP method cannot have", ES_GUARD_FIX_TARGET);
      return;
    }
  }
  if(n == 0 || n > ES_GUARD_MAX_TARGET) {
    ambiguous(d, "the request target is empty or too long", ES_GUARD_FIX_TARGET);
    return;
  }
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)t[i];
    if(c <= 0x20 || c >= 0x7F) {
      ambiguous(d, "the request target contains a space, a control character, a NUL byte or a "
                   "non-ASCII byte", ES_GUARD_FIX_TARGET);
      return;
    }
  }
  if(memchr(t, '#', n)) {
    ambiguous(d, "the request target has a fragment (#)", ES_GUARD_FIX_TARGET);
    return;
  }
  if(t[0] != '/') {
    ambiguous(d, "the request target is not a path starting with \"/\" (absolute-form or "
                 "asterisk-form targets are not accepted)", ES_GUARD_FIX_TARGET);
    return;
  }
  if(n >= 2 && t[1] == '/') {
    ambiguous(d, "the request target starts with \"//\", which some servers read as an authority",
              ES_GUARD_FIX_TARGET);
    return;
  }

  q = memchr(t, '?', n);
  path_n = q ? (size_t)(q - t) : n;
  mc = classify_method(in->method);
  could = 0;
  if(mc != M_SAFE) {
    could = path_could_mutate(t, path_n);
    if(could < 0) {
      ambiguous(d, "out of memory while checking the target", ES_GUARD_FIX_TARGET);
      return;
    }
  }

  if(!could) {
    /* Not a create or an update, whatever a server does with it: the body
       must still not carry the mode (and must be strict JSON if present). */
    if(in->body_len == 0) {
      decide(d, ES_GUARD_ALLOW, ES_GUARD_OK, 0);
      say(d, "allowed: the request does not touch controlPlaneEgressMode");
      return;
    }
    rc = es_guard_body_analyze(&body, in->body, in->body_len, 0);
    if(rc || body.problem[0])
      ambiguous(d, body.problem[0] ? body.problem : "out of memory while checking the body",
                body.remedy ? body.remedy : ES_GUARD_FIX_JSON);
    else {
      decide(d, ES_GUARD_ALLOW, ES_GUARD_OK, 0);
      say(d, "allowed: the request does not touch controlPlaneEgressMode");
    }
    es_guard_body_free(&body);
    return;
  }

  if(mc != M_POST) {
    char shown[40], why[200];
    es_guard_copy_display(shown, sizeof(shown), in->method, strlen(in->method));
    snprintf(why, sizeof(why), "method \"%s\" on a path that could be CreateCluster or "
             "UpdateClusterConfig, which are only ever sent as uppercase POST", shown);
    ambiguous(d, why, ES_GUARD_FIX_TARGET);
    return;
  }
  op = es_guard_canonical_op(in->method, t, n, name);
  if(op != ES_GOP_CREATE && op != ES_GOP_UPDATE_CONFIG) {
    ambiguous(d, noncanonical_reason(t, n), ES_GUARD_FIX_TARGET);
    return;
  }

  rc = es_guard_body_analyze(&body, in->body, in->body_len, 1);
  if(rc || body.problem[0]) {
    ambiguous(d, body.problem[0] ? body.problem : "out of memory while checking the body",
                body.remedy ? body.remedy : ES_GUARD_FIX_JSON);
    es_guard_body_free(&body);
    return;
  }
  if(op == ES_GOP_CREATE) {
    d->cluster[0] = '\0';
    decide_create(in, &body, d);
  }
  else {
    es_guard_copy_display(d->cluster, sizeof(d->cluster), name, strlen(name));
    decide_update(in, &body, name, d);
  }
  es_guard_body_free(&body);
}

int es_guard_check(const struct es_guard_input *in, struct es_guard_decision *out)
{
  if(!out)
    return ES_EINVAL;
  memset(out, 0, sizeof(*out));
  /* Fail closed even for a caller that ignores the return code. */
  decide(out, ES_GUARD_REFUSE, ES_GUARD_AMBIGUOUS_REQUEST, 1);
  if(!in || !in->method || !in->target || (!in->body && in->body_len > 0)) {
    say(out, "refusing: the guard was called without a method, a target or a body");
    return ES_EINVAL;
  }
  check_target(in, out);
  return ES_OK;
}

/* ---- es_guard_target_cluster --------------------------------------------- */

int es_guard_target_cluster(const char *target, size_t target_len, char *out, size_t out_size)
{
  static const char pfx[] = "/clusters/";
  const size_t pl = sizeof(pfx) - 1;
  size_t i, o = 0;
  if(!out || out_size == 0)
    return 0;
  out[0] = '\0';
  if(!target || target_len <= pl || memcmp(target, pfx, pl) != 0)
    return 0;
  for(i = pl; i < target_len; i++) {
    char c = target[i];
    if(c == '/' || c == '?' || c == '#')
      break;
    if(c == '\0')
      goto fail;
    if(c == '%') {
      int h, l;
      if(i + 2 >= target_len || (h = hexval((unsigned char)target[i + 1])) < 0 ||
         (l = hexval((unsigned char)target[i + 2])) < 0)
        goto fail;
      c = (char)(h * 16 + l);
      if(c == '\0')
        goto fail;
      i += 2;
    }
    if(o + 1 >= out_size)
      goto fail;                  /* a truncated name would name another cluster */
    out[o++] = c;
  }
  if(o == 0)
    goto fail;
  out[o] = '\0';
  return 1;
fail:
  out[0] = '\0';
  return 0;
}

/* ---- es_guard_audit_line ---------------------------------------------------- */

/* Append s (at most max bytes, stops at NUL) as a JSON string, or null when
   empty and empty_is_null. Invalid UTF-8 becomes U+FFFD so the line is
   always valid JSON. */
static int json_str(struct es_buf *out, const char *s, size_t max, int empty_is_null)
{
  size_t n, i = 0;
  int rc;
  if(!s || (empty_is_null && (max == 0 || s[0] == '\0')))
    return es_buf_puts(out, "null");
  n = strnlen(s, max);
  if((rc = es_buf_putc(out, '"')))
    return rc;
  while(i < n) {
    uint32_t cp;
    size_t l = utf8_next((const unsigned char *)s, i, n, &cp);
    if(l == 0) {
      rc = es_buf_puts(out, "\\ufffd");
      i++;
    }
    else if(cp == '"')
      rc = es_buf_puts(out, "\\\""), i++;
    else if(cp == '\\')
      rc = es_buf_puts(out, "\\\\"), i++;
    else if(cp == '\n')
      rc = es_buf_puts(out, "\\n"), i++;
    else if(cp == '\r')
      rc = es_buf_puts(out, "\\r"), i++;
    else if(cp == '\t')
      rc = es_buf_puts(out, "\\t"), i++;
    else if(cp < 0x20 || cp == 0x7F || cp == 0x2028 || cp == 0x2029) {
      rc = es_buf_printf(out, "\\u%04x", (unsigned)cp);
      i += l;
    }
    else {
      rc = es_buf_append(out, s + i, l);
      i += l;
    }
    if(rc)
      return rc;
  }
  return es_buf_putc(out, '"');
}

int es_guard_audit_line(const struct es_guard_decision *d, time_t when, const char *identity,
                        struct es_buf *out)
{
  size_t start;
  struct tm tm;
  int rc;
  const char *code;
  if(!d || !out)
    return ES_EINVAL;
  start = out->len;
  code = es_guard_code_name(d->code);
  if(gmtime_r(&when, &tm) && tm.tm_year + 1900 >= 0 && tm.tm_year + 1900 <= 9999)
    rc = es_buf_printf(out, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02dZ\"", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  else
    rc = es_buf_puts(out, "{\"time\":null");
  if(!rc) rc = es_buf_puts(out, ",\"cluster\":");
  if(!rc) rc = json_str(out, d->cluster, sizeof(d->cluster), 1);
  if(!rc) rc = es_buf_puts(out, ",\"from\":");
  if(!rc) rc = json_str(out, d->from, sizeof(d->from), 1);
  if(!rc) rc = es_buf_puts(out, ",\"to\":");
  if(!rc) rc = json_str(out, d->to, sizeof(d->to), 1);
  if(!rc) rc = es_buf_puts(out, ",\"decision\":");
  if(!rc) rc = json_str(out, es_guard_action_name(d->action), 16, 0);
  if(!rc) rc = es_buf_puts(out, ",\"code\":");
  if(!rc) rc = json_str(out, code, 64, 1);
  if(!rc) rc = es_buf_puts(out, ",\"identity\":");
  if(!rc) rc = json_str(out, identity, identity ? strlen(identity) : 0, 1);
  if(!rc) rc = es_buf_puts(out, ",\"message\":");
  if(!rc) rc = json_str(out, d->message, sizeof(d->message), 0);
  if(!rc) rc = es_buf_puts(out, "}\n");
  if(rc) {
    /* no half line in the log */
    out->len = start;
    if(out->data)
      out->data[start] = '\0';
  }
  return rc;
}
