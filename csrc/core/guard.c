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
#include "es_text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MODE_AWS "AWS_MANAGED"
#define MODE_ROUTED "CUSTOMER_ROUTED"

/* ---- small helpers shared with the other guard files ------------------- */

int es_guard_name_valid(const char *s, size_t n)
{
  if(n < 1 || n > ES_GUARD_NAME_MAX || !es_is_alnum((unsigned char)s[0]))
    return 0;
  for(size_t i = 1; i < n; i++) {
    int c = (unsigned char)s[i];
    if(!es_is_alnum(c) && c != '_' && c != '-')
      return 0;
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
    size_t l = es_utf8_next(u, i, n, &cp);
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

/* ---- folding: what a lenient reader could take a key or a value for ------ */

/* Code points a lenient matcher could skip: white space and controls,
   zero-width and other format characters, combining marks, variation
   selectors, and the separators ('_' '-' and their look-alikes) that
   "ignore separators" matchers drop. Ranges, inclusive, sorted. */
static const uint32_t fold_skip[][2] = {
  {0x0000, 0x0020}, {0x002D, 0x002D}, {0x005F, 0x005F}, {0x007F, 0x00A0}, {0x00AD, 0x00AD},
  {0x0300, 0x036F}, {0x061C, 0x061C}, {0x115F, 0x1160}, {0x1680, 0x1680}, {0x180B, 0x180F},
  {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF}, {0x2000, 0x2015}, {0x2028, 0x202F}, {0x205F, 0x206F},
  {0x20D0, 0x20FF}, {0x2212, 0x2212}, {0x3000, 0x3000}, {0x3164, 0x3164}, {0xFE00, 0xFE0F},
  {0xFE20, 0xFE2F}, {0xFE33, 0xFE34}, {0xFE4D, 0xFE4F}, {0xFE58, 0xFE58}, {0xFE63, 0xFE63},
  {0xFEFF, 0xFEFF}, {0xFF0D, 0xFF0D}, {0xFF3F, 0xFF3F}, {0xFFA0, 0xFFA0}, {0xFFF9, 0xFFFB},
  {0x1D173, 0x1D17A}, {0xE0000, 0xE007F}, {0xE0100, 0xE01EF},
};

/* Runs of letters in alphabetical order: first code point, last, and the
   ASCII letter of the first. */
static const struct { uint32_t lo, hi; char first; } fold_runs[] = {
  {0x00C0, 0x00C5, 'a'}, {0x00C8, 0x00CB, 'e'}, {0x00CC, 0x00CF, 'i'}, {0x00D2, 0x00D6, 'o'},
  {0x00D9, 0x00DC, 'u'}, {0x00E0, 0x00E5, 'a'}, {0x00E8, 0x00EB, 'e'}, {0x00EC, 0x00EF, 'i'},
  {0x00F2, 0x00F6, 'o'}, {0x00F9, 0x00FC, 'u'}, {0x249C, 0x24B5, 'a'}, {0x24B6, 0x24CF, 'a'},
  {0x24D0, 0x24E9, 'a'}, {0xFF21, 0xFF3A, 'a'}, {0xFF41, 0xFF5A, 'a'}, {0x1F130, 0x1F149, 'a'},
  {0x1F150, 0x1F169, 'a'}, {0x1F170, 0x1F189, 'a'}, {0x1F1E6, 0x1F1FF, 'a'},
};

/* Single look-alikes: Latin-1 and Latin Extended letters, small capitals,
   letterlike symbols, Greek and Cyrillic capitals and small letters that
   render as ASCII letters. Sorted by code point. */
static const struct { uint32_t cp; char to; } fold_one[] = {
  {0x00C7, 'c'}, {0x00D1, 'n'}, {0x00D8, 'o'}, {0x00DD, 'y'}, {0x00E7, 'c'}, {0x00F1, 'n'},
  {0x00F8, 'o'}, {0x00FD, 'y'}, {0x00FF, 'y'}, {0x0130, 'i'}, {0x0131, 'i'}, {0x017F, 's'},
  {0x0262, 'g'}, {0x026A, 'i'}, {0x0274, 'n'}, {0x0280, 'r'}, {0x028F, 'y'}, {0x029C, 'h'},
  {0x029F, 'l'}, {0x0391, 'a'}, {0x0392, 'b'}, {0x0395, 'e'}, {0x0396, 'z'}, {0x0397, 'h'},
  {0x0399, 'i'}, {0x039A, 'k'}, {0x039C, 'm'}, {0x039D, 'n'}, {0x039F, 'o'}, {0x03A1, 'p'},
  {0x03A4, 't'}, {0x03A5, 'y'}, {0x03A7, 'x'}, {0x03B1, 'a'}, {0x03B9, 'i'}, {0x03BA, 'k'},
  {0x03BD, 'v'}, {0x03BF, 'o'}, {0x03C1, 'p'}, {0x03C5, 'u'}, {0x03C7, 'x'}, {0x0405, 's'},
  {0x0406, 'i'}, {0x0408, 'j'}, {0x0410, 'a'}, {0x0412, 'b'}, {0x0415, 'e'}, {0x041A, 'k'},
  {0x041C, 'm'}, {0x041D, 'h'}, {0x041E, 'o'}, {0x0420, 'p'}, {0x0421, 'c'}, {0x0422, 't'},
  {0x0423, 'y'}, {0x0425, 'x'}, {0x0430, 'a'}, {0x0435, 'e'}, {0x043A, 'k'}, {0x043C, 'm'},
  {0x043E, 'o'}, {0x0440, 'p'}, {0x0441, 'c'}, {0x0443, 'y'}, {0x0445, 'x'}, {0x0455, 's'},
  {0x0456, 'i'}, {0x0458, 'j'}, {0x04AE, 'y'}, {0x04BB, 'h'}, {0x04C0, 'i'}, {0x0500, 'd'},
  {0x0501, 'd'}, {0x051B, 'q'}, {0x051C, 'w'}, {0x051D, 'w'}, {0x1D00, 'a'}, {0x1D04, 'c'},
  {0x1D05, 'd'}, {0x1D07, 'e'}, {0x1D0A, 'j'}, {0x1D0B, 'k'}, {0x1D0D, 'm'}, {0x1D0F, 'o'},
  {0x1D18, 'p'}, {0x1D1B, 't'}, {0x1D1C, 'u'}, {0x1D20, 'v'}, {0x1D21, 'w'}, {0x1D22, 'z'},
  {0x2102, 'c'}, {0x210A, 'g'}, {0x210B, 'h'}, {0x210C, 'h'}, {0x210D, 'h'}, {0x210E, 'h'},
  {0x2110, 'i'}, {0x2111, 'i'}, {0x2112, 'l'}, {0x2113, 'l'}, {0x2115, 'n'}, {0x2119, 'p'},
  {0x211A, 'q'}, {0x211B, 'r'}, {0x211C, 'r'}, {0x211D, 'r'}, {0x2124, 'z'}, {0x212A, 'k'},
  {0x212B, 'a'}, {0x212C, 'b'}, {0x212F, 'e'}, {0x2130, 'e'}, {0x2131, 'f'}, {0x2133, 'm'},
  {0x2134, 'o'}, {0x2139, 'i'}, {0xA731, 's'},
};

/* Fold one code point: the ASCII lower-case letter or digit a lenient
   matcher could take it for; 0 for one it could skip; -1 for anything else. */
static int fold_cp(uint32_t cp)
{
  size_t lo = 0, hi = sizeof(fold_one) / sizeof(fold_one[0]);
  if(cp < 0x80 && es_is_alnum((int)cp))
    return es_ascii_lower((int)cp);
  for(size_t i = 0; i < sizeof(fold_skip) / sizeof(fold_skip[0]); i++)
    if(cp >= fold_skip[i][0] && cp <= fold_skip[i][1])
      return 0;
  if(cp < 0x80)
    return -1;                            /* other ASCII punctuation */
  for(size_t i = 0; i < sizeof(fold_runs) / sizeof(fold_runs[0]); i++)
    if(cp >= fold_runs[i].lo && cp <= fold_runs[i].hi)
      return fold_runs[i].first + (int)(cp - fold_runs[i].lo);
  if(cp >= 0xFF10 && cp <= 0xFF19)        /* fullwidth digits */
    return '0' + (int)(cp - 0xFF10);
  if(cp >= 0x1D400 && cp <= 0x1D6A3) {    /* mathematical letters: 13 alphabets A-Z a-z */
    int k = (int)((cp - 0x1D400) % 52);
    return 'a' + (k < 26 ? k : k - 26);
  }
  if(cp >= 0x1D7CE && cp <= 0x1D7FF)      /* mathematical digits */
    return '0' + (int)((cp - 0x1D7CE) % 10);
  while(lo < hi) {
    size_t mid = (lo + hi) / 2;
    if(fold_one[mid].cp == cp)
      return fold_one[mid].to;
    if(fold_one[mid].cp < cp)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}

int es_guard_folds_to(const char *s, size_t n, const char *word)
{
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  const char *w = word;
  while(i < n) {
    uint32_t cp;
    size_t l = es_utf8_next(u, i, n, &cp);
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

int es_guard_key_folds_to(const char *key, const char *word)
{
  return es_guard_folds_to(key, strlen(key), word);
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
  case ES_GUARD_INVALID_MODE_VALUE: return "InvalidModeValue";
  }
  return "AmbiguousRequest";
}

/* ---- decision helpers ---------------------------------------------------- */

static void say(struct es_guard_decision *d, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
static void say(struct es_guard_decision *d, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d->message, sizeof(d->message), fmt, ap);
  va_end(ap);
  /* Drop a UTF-8 sequence vsnprintf cut at the end. */
  d->message[es_utf8_boundary(d->message, strlen(d->message))] = '\0';
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

/* Percent-decode src[0..n) into dst (n + 1 bytes). keep_slash: leave %2F and
   %5C encoded (a server that routes before decoding). Otherwise IIS-style
   "%uXXXX" is decoded too (non-ASCII code points become the byte 0x80, which
   the caller treats as suspicious). Returns the length. */
static size_t pct_decode(char *dst, const char *src, size_t n, int keep_slash)
{
  size_t o = 0;
  for(size_t i = 0; i < n; i++) {
    if(!keep_slash && src[i] == '%' && i + 5 < n && (src[i + 1] == 'u' || src[i + 1] == 'U')) {
      long cp = 0;
      int k;
      for(k = 2; k < 6; k++) {
        int v = es_hexval((unsigned char)src[i + k]);
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
    int c = es_pct_byte(src, i, n);
    if(c >= 0) {
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

/* Split a decoded path into segments like a lenient server (split on '/'
   and '\', drop ";params", empty and "." segments, resolve ".."). segs has
   room for n + 1. Returns the count. */
static size_t split_segments(const char *path, size_t n, struct seg *segs)
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
  return count;
}

/* Bytes outside printable ASCII (an overlong "%C0%AF", fullwidth letters,
   control characters): some servers map them onto '/' or ASCII letters. */
static int has_odd_bytes(const char *s, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if(c <= 0x20 || c >= 0x7F)
      return 1;
  }
  return 0;
}

/* /clusters or /clusters/{x}/update-config: CreateCluster or UpdateClusterConfig. */
static int mutating_route(const struct seg *segs, size_t count)
{
  return (count == 1 && seg_is(segs[0].p, segs[0].n, "clusters")) ||
         (count == 3 && seg_is(segs[0].p, segs[0].n, "clusters") &&
          seg_is(segs[2].p, segs[2].n, "update-config"));
}

/* /clusters[/...], or a first segment a server might map onto "clusters". */
static int clusters_route(const struct seg *segs, size_t count)
{
  return count >= 1 && (seg_is(segs[0].p, segs[0].n, "clusters") || has_odd_bytes(segs[0].p, segs[0].n));
}

/* Could a server, after the normalizations it might apply, route this path
   (no query) the way route says? Tries the raw path, the path decoded except
   %2F/%5C, and the path decoded until stable; with odd_bytes, a decoded
   path holding bytes outside printable ASCII counts as a match too.
   Returns 1 (yes), 0 (no) or ES_ENOMEM. */
static int path_matches(const char *path, size_t n, int (*route)(const struct seg *, size_t),
                        int odd_bytes)
{
  char *a = malloc(n + 1), *b = malloc(n + 1);
  struct seg *segs = malloc((n + 2) * sizeof(*segs));
  int r = ES_ENOMEM;
  size_t an, bn;
  if(!a || !b || !segs)
    goto out;
  r = 1;
  if(route(segs, split_segments(path, n, segs)))
    goto out;
  an = pct_decode(a, path, n, 1);
  if(route(segs, split_segments(a, an, segs)))
    goto out;
  an = pct_decode(a, path, n, 0);
  for(int round = 0; round < 8; round++) {
    bn = pct_decode(b, a, an, 0);
    if(bn == an && memcmp(a, b, an) == 0)
      break;
    memcpy(a, b, bn + 1);
    an = bn;
  }
  if(route(segs, split_segments(a, an, segs)))
    goto out;
  /* No legitimate EKS path needs odd bytes on a POST-like request. */
  if(odd_bytes && has_odd_bytes(a, an))
    goto out;
  r = 0;
out:
  free(a);
  free(b);
  free(segs);
  return r;
}

int es_guard_targets_eks(const char *service, const char *url_host, const char *host_header,
                         const char *target, size_t target_len)
{
  const char *hosts[2];
  size_t path_n = 0;
  hosts[0] = url_host;
  hosts[1] = host_header;
  if(service && strcasecmp(service, "eks") == 0)
    return 1;
  for(int i = 0; i < 2; i++)
    if(hosts[i] && (strncasecmp(hosts[i], "eks.", 4) == 0 || strncasecmp(hosts[i], "eks-fips.", 9) == 0))
      return 1;
  if(!target)
    return 0;
  while(path_n < target_len && target[path_n] != '?' && target[path_n] != '#')
    path_n++;
  /* Out of memory counts as EKS-bound: the guard then runs and fails closed. */
  return path_matches(target, path_n, clusters_route, 0) != 0;
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

static int is_exactly(const char *s, size_t n, const char *mode)
{
  return n == strlen(mode) && memcmp(s, mode, n) == 0;
}

/* A value that reads as AWS_MANAGED without being spelled so. */
static int is_managed_lookalike(const char *s, size_t n)
{
  return !is_exactly(s, n, MODE_AWS) && es_guard_folds_to(s, n, "awsmanaged");
}

/* Every documented mode, and every value the guard lets through at all, is
   plain ASCII [A-Z_]+, and not a respelling of AWS_MANAGED ("AWSMANAGED"):
   anything else some reader on the way could normalize into a documented
   mode. */
static int mode_is_plain(const char *s, size_t n)
{
  if(n == 0 || is_managed_lookalike(s, n))
    return 0;
  for(size_t i = 0; i < n; i++)
    if(!es_is_upper((unsigned char)s[i]) && s[i] != '_')
      return 0;
  return 1;
}

static void invalid_value(struct es_guard_decision *d)
{
  decide(d, ES_GUARD_REFUSE, ES_GUARD_INVALID_MODE_VALUE, 1);
  say(d, "refusing to set controlPlaneEgressMode of cluster \"%s\" to \"%s\": a mode is plain "
      "upper-case ASCII letters and underscores (such as CUSTOMER_ROUTED), and EKS or anything in "
      "between could read this value as another mode. No option overrides this; spell the mode "
      "exactly", d->cluster, d->to);
}

/* The acknowledgement rule, for create and update alike. A change to
   CUSTOMER_ROUTED (documented) proceeds only with acknowledge = the cluster
   name; any other value no documentation describes also needs
   allow_undocumented. change says what the request does, for the message. */
static void decide_opt_in(const struct es_guard_input *in, int documented, int acked,
                          const char *change, struct es_guard_decision *d)
{
  if(documented) {
    if(acked) {
      decide(d, ES_GUARD_ALLOW, ES_GUARD_OK, 1);
      say(d, "allowed: %s (irreversible, acknowledged)", change);
      return;
    }
    decide(d, ES_GUARD_REFUSE, ES_GUARD_IRREVERSIBLE_NOT_ACKNOWLEDGED, 1);
    say(d, "refusing to %s: the change is irreversible, the cluster can never be switched back to "
        "AWS_MANAGED. Pass acknowledge = \"%s\" to confirm the irreversible choice%s", change,
        d->cluster, in->acknowledge ? " (the acknowledgement given does not match the cluster name)" : "");
    return;
  }
  if(in->allow_undocumented && acked) {
    decide(d, ES_GUARD_ALLOW, ES_GUARD_OK, 1);
    say(d, "allowed: %s (undocumented; allow_undocumented and acknowledged)", change);
    return;
  }
  decide(d, ES_GUARD_REFUSE, ES_GUARD_UNDOCUMENTED_MODE, 1);
  say(d, "refusing to %s: no AWS documentation describes this value or whether it can be undone. "
      "To proceed anyway pass allow_undocumented = true and acknowledge = \"%s\"", change, d->cluster);
}

static int acknowledges(const struct es_guard_input *in, const char *name, size_t n)
{
  return in->acknowledge && strlen(in->acknowledge) == n && memcmp(in->acknowledge, name, n) == 0;
}

static void decide_create(const struct es_guard_input *in, struct es_guard_body *b,
                          struct es_guard_decision *d)
{
  json_t *name = json_object_get(b->root, "name");
  const char *mode, *nm;
  size_t ml, nl;
  char change[320];

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
  if(!mode_is_plain(mode, ml)) {
    invalid_value(d);
    return;
  }
  if(is_exactly(mode, ml, MODE_AWS)) {
    decide(d, ES_GUARD_ALLOW, ES_GUARD_OK, 1);
    say(d, "allowed: create cluster \"%s\" with controlPlaneEgressMode AWS_MANAGED (the default)",
        d->cluster);
    return;
  }
  snprintf(change, sizeof(change), "create cluster \"%s\" with controlPlaneEgressMode %s%s%s",
           d->cluster, is_exactly(mode, ml, MODE_ROUTED) ? "" : "\"", d->to,
           is_exactly(mode, ml, MODE_ROUTED) ? "" : "\"");
  decide_opt_in(in, is_exactly(mode, ml, MODE_ROUTED), acknowledges(in, nm, nl), change, d);
}

static void decide_update(const struct es_guard_input *in, struct es_guard_body *b,
                          const char *cluster, struct es_guard_decision *d)
{
  const char *to, *from = in->current_mode;
  size_t tl;
  int from_known = from && from[0];
  int from_managed = from_known && strcmp(from, MODE_AWS) == 0;
  char change[320];

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
     from CUSTOMER_ISOLATED or an unknown value nobody knows what it does. A
     value that only reads as AWS_MANAGED is refused as a revert even when
     the current mode is unknown: describing the cluster would not help. */
  if(is_exactly(to, tl, MODE_AWS) ? (from_known && !from_managed)
                                  : (!from_managed && is_managed_lookalike(to, tl))) {
    decide(d, ES_GUARD_REFUSE, ES_GUARD_TRANSITION_REFUSED, 1);
    if(is_exactly(to, tl, MODE_AWS))
      say(d, "refusing to switch cluster \"%s\" from %s to AWS_MANAGED: a cluster that left "
          "AWS_MANAGED cannot be switched back, and no option overrides this. Keep the cluster as it "
          "is, or create a new cluster with AWS_MANAGED", d->cluster, d->from);
    else
      say(d, "refusing to set controlPlaneEgressMode of cluster \"%s\"%s%s to \"%s\", a spelling of "
          "AWS_MANAGED: a cluster that left AWS_MANAGED cannot be switched back, and no option "
          "overrides this", d->cluster, from_known ? " from " : "", d->from, d->to);
    return;
  }
  if(!mode_is_plain(to, tl)) {
    invalid_value(d);
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
        "is unknown. Describe the cluster first (DescribeCluster, with the same credentials) so the "
        "guard can check the transition", d->cluster, d->to);
    return;
  }
  if(strcmp(from, to) == 0 && strlen(from) == tl) {
    decide(d, ES_GUARD_NOOP, ES_GUARD_NO_CHANGE, 1);
    say(d, "cluster \"%s\" is already %s: nothing to change, the request is not sent",
        d->cluster, d->from);
    return;
  }
  snprintf(change, sizeof(change), "switch cluster \"%s\" from %s to %s", d->cluster, d->from, d->to);
  /* Only AWS_MANAGED -> CUSTOMER_ROUTED is documented. */
  decide_opt_in(in, from_managed && is_exactly(to, tl, MODE_ROUTED),
                acknowledges(in, cluster, strlen(cluster)), change, d);
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
    if(!es_is_tchar((unsigned char)*m)) {
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
    could = path_matches(t, path_n, mutating_route, 1);
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
      int b = es_pct_byte(target, i, target_len);
      if(b < 0)
        goto fail;
      c = (char)b;
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
    size_t l = es_utf8_next((const unsigned char *)s, i, n, &cp);
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
