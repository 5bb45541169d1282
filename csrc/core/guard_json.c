/*
 * guard_json.c: strict reading of EKS request bodies for the guard.
 *
 * The guard must see the body the way the most lenient server could: a key
 * that EKS (or anything between us and EKS) might read as the egress mode is
 * either in the one legal place with the exact spelling, or the request is
 * refused. jansson decodes escapes in keys (so "controlPlaneEgressMod\u0065"
 * is compared decoded), rejects "\u0000" in keys and strings, invalid UTF-8,
 * lone surrogates and, with JSON_REJECT_DUPLICATES, duplicate keys.
 */
#include "guard_internal.h"
#include "es_error.h"
#include "es_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where a value sits, for deciding whether a mode-like key is legal there. */
enum place {
  PLACE_TOP,      /* the root object */
  PLACE_VPC,      /* the object under the root's exact "resourcesVpcConfig" */
  PLACE_OTHER
};

struct walk {
  struct es_guard_body *b;
  int legal_place;
};

static void problem(struct es_guard_body *b, const char *what, const char *key, const char *remedy)
{
  char shown[80];
  if(b->problem[0])
    return;                       /* keep the first reason */
  b->remedy = remedy;
  if(key) {
    es_guard_copy_display(shown, sizeof(shown), key, strlen(key));
    snprintf(b->problem, sizeof(b->problem), "%s \"%s\"", what, shown);
  }
  else
    snprintf(b->problem, sizeof(b->problem), "%s", what);
}

/* Order keys by their folded form so keys a case-insensitive reader would
   merge end up next to each other. */
static int cmp_folded(const void *pa, const void *pb)
{
  const unsigned char *a = *(const unsigned char *const *)pa;
  const unsigned char *b = *(const unsigned char *const *)pb;
  while(*a && es_ascii_lower(*a) == es_ascii_lower(*b)) {
    a++;
    b++;
  }
  return es_ascii_lower(*a) - es_ascii_lower(*b);
}

/* Keys that differ only in ASCII letter case ("name" and "Name") in the root
   or in resourcesVpcConfig: a case-insensitive reader would pick one of them,
   we cannot know which. Only checked there: tag maps legitimately hold "Env"
   and "env". Returns 1 when such a pair exists (or on ENOMEM: fail closed). */
static int has_case_duplicates(struct es_guard_body *b, json_t *obj)
{
  size_t n = json_object_size(obj), i = 0;
  const char **keys;
  int dup = 0;
  if(n < 2)
    return 0;
  keys = malloc(n * sizeof(*keys));
  if(!keys) {
    problem(b, "out of memory while checking the body", NULL, ES_GUARD_FIX_JSON);
    return 1;
  }
  for(void *it = json_object_iter(obj); it && i < n; it = json_object_iter_next(obj, it))
    keys[i++] = json_object_iter_key(it);
  qsort(keys, i, sizeof(*keys), cmp_folded);
  for(size_t j = 1; j < i && !dup; j++) {
    if(cmp_folded(&keys[j - 1], &keys[j]) == 0) {
      problem(b, "keys differing only in letter case, e.g.", keys[j], ES_GUARD_FIX_JSON);
      dup = 1;
    }
  }
  free(keys);
  return dup;
}

/* Recursion depth is bounded by jansson's parser (JSON_PARSER_MAX_DEPTH). */
static void walk_value(struct walk *w, json_t *v, enum place where);

static void walk_object(struct walk *w, json_t *obj, enum place where)
{
  struct es_guard_body *b = w->b;

  if(w->legal_place && (where == PLACE_TOP || where == PLACE_VPC))
    (void)has_case_duplicates(b, obj);

  /* Explicit iterator loops rather than jansson's foreach macros, which
     cppcheck cannot see (it does not read system headers). */
  for(void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
    const char *k = json_object_iter_key(it);
    json_t *v = json_object_iter_value(it);
    int is_mode = es_guard_key_folds_to(k, "controlplaneegressmode");
    int is_vpc = es_guard_key_folds_to(k, "resourcesvpcconfig");
    if(is_mode) {
      b->mode_mentions++;
      if(w->legal_place && where == PLACE_VPC && strcmp(k, "controlPlaneEgressMode") == 0)
        b->mode = v;
      else if(w->legal_place)
        problem(b, "the egress mode key is in an unexpected place or spelling:", k, ES_GUARD_FIX_PLACE);
      else
        problem(b, "only CreateCluster and UpdateClusterConfig may carry the egress mode; "
                "this request's body has the key", k, ES_GUARD_FIX_OTHER_OP);
      walk_value(w, v, PLACE_OTHER);
      continue;
    }
    if(is_vpc && w->legal_place) {
      if(where == PLACE_TOP && strcmp(k, "resourcesVpcConfig") == 0) {
        if(!json_is_object(v))
          problem(b, "resourcesVpcConfig is not a JSON object", NULL, ES_GUARD_FIX_PLACE);
        walk_value(w, v, PLACE_VPC);
      }
      else {
        problem(b, "resourcesVpcConfig appears in an unexpected place or spelling:", k, ES_GUARD_FIX_PLACE);
        walk_value(w, v, PLACE_OTHER);
      }
      continue;
    }
    if(w->legal_place && where == PLACE_TOP && !b->extra_key &&
       strcmp(k, "clientRequestToken") != 0)
      b->extra_key = k;
    if(w->legal_place && where == PLACE_VPC && !b->extra_vpc_key)
      b->extra_vpc_key = k;
    walk_value(w, v, PLACE_OTHER);
  }
}

static void walk_value(struct walk *w, json_t *v, enum place where)
{
  if(json_is_object(v))
    walk_object(w, v, where);
  else if(json_is_array(v)) {
    for(size_t i = 0; i < json_array_size(v); i++)
      walk_value(w, json_array_get(v, i), PLACE_OTHER);
  }
}

int es_guard_body_analyze(struct es_guard_body *b, const char *body, size_t len, int legal_place)
{
  json_error_t err;
  struct walk w;

  memset(b, 0, sizeof(*b));
  if(len == 0 || !body) {
    problem(b, "the request body is empty", NULL, ES_GUARD_FIX_JSON);
    return ES_OK;
  }
  if(len > ES_GUARD_MAX_BODY) {
    problem(b, "the request body is larger than the guard accepts (1 MiB)", NULL, ES_GUARD_FIX_JSON);
    return ES_OK;
  }
  /* jansson would reject both, but a precise reason helps the caller, and
     the check covers bytes outside strings too. */
  if(memchr(body, '\0', len)) {
    problem(b, "the request body contains a NUL byte", NULL, ES_GUARD_FIX_JSON);
    return ES_OK;
  }
  if(!es_utf8_valid(body, len)) {
    problem(b, "the request body is not valid UTF-8", NULL, ES_GUARD_FIX_JSON);
    return ES_OK;
  }
  b->root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
  if(!b->root) {
    char shown[120];
    if(json_error_code(&err) == json_error_out_of_memory) {
      problem(b, "out of memory while parsing the body", NULL, ES_GUARD_FIX_JSON);
      return ES_ENOMEM;
    }
    es_guard_copy_display(shown, sizeof(shown), err.text, strnlen(err.text, sizeof(err.text)));
    snprintf(b->problem, sizeof(b->problem), "the body is not strict JSON (line %d, column %d: %s)",
             err.line, err.column, shown);
    b->remedy = ES_GUARD_FIX_JSON;
    return ES_OK;
  }
  if(legal_place && !json_is_object(b->root)) {
    problem(b, "the body is not a JSON object", NULL, ES_GUARD_FIX_JSON);
    return ES_OK;
  }
  w.b = b;
  w.legal_place = legal_place;
  walk_value(&w, b->root, PLACE_TOP);
  if(b->mode_mentions > 1)
    problem(b, "the egress mode key appears more than once", NULL, ES_GUARD_FIX_PLACE);
  if(legal_place) {
    json_t *tok = json_object_get(b->root, "clientRequestToken");
    if(tok && !json_is_string(tok))
      problem(b, "clientRequestToken is not a string", NULL, ES_GUARD_FIX_JSON);
  }
  return ES_OK;
}

void es_guard_body_free(struct es_guard_body *b)
{
  if(b->root)
    json_decref(b->root);
  b->root = NULL;
  b->mode = NULL;
  b->extra_key = NULL;
  b->extra_vpc_key = NULL;
}
