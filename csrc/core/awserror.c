/* awserror.c: AWS error shapes of rest-json, json-1.1, EC2 and query XML (see awserror.h). */
#include "awserror.h"

#include <expat.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "es_error.h"
#include "es_text.h"

/* Normalize a JSON/header error code: drop anything from the first ':', then keep
   what follows the last '#' (botocore's split(':')[0].rsplit('#')[-1]). */
static void es_set_code(struct es_aws_error *out, const char *s, size_t n)
{
  const char *colon = memchr(s, ':', n);
  size_t i;
  if(colon)
    n = (size_t)(colon - s);
  for(i = n; i > 0; i--)
    if(s[i - 1] == '#') {
      s += i;
      n -= i;
      break;
    }
  while(n && (*s == ' ' || *s == '\t')) {
    s++;
    n--;
  }
  while(n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  es_copy_trunc(out->code, sizeof(out->code), s, n);
}

static const struct es_header *es_find(const struct es_header *h, size_t n, const char *name)
{
  size_t i, len = strlen(name);
  if(!h)
    return NULL;
  for(i = 0; i < n; i++)
    if(h[i].name && h[i].name_len == len && strncasecmp(h[i].name, name, len) == 0 && h[i].value)
      return &h[i];
  return NULL;
}

/* ---- JSON ------------------------------------------------------------------ */

static const char *es_json_str(json_t *obj, const char *a, const char *b, size_t *len)
{
  json_t *v = json_object_get(obj, a);
  if(!json_is_string(v) && b)
    v = json_object_get(obj, b);
  if(!json_is_string(v))
    return NULL;
  *len = json_string_length(v);
  return json_string_value(v);
}

static void es_parse_json(const char *body, size_t len, struct es_aws_error *out, int want_code)
{
  json_error_t jerr;
  json_t *root = json_loadb(body, len, 0, &jerr);
  const char *s;
  size_t n = 0;
  if(!json_is_object(root)) {
    json_decref(root);
    return;
  }
  if(want_code) {
    s = es_json_str(root, "__type", NULL, &n);
    if(!s)
      s = es_json_str(root, "code", "Code", &n);
    if(s)
      es_set_code(out, s, n);
  }
  s = es_json_str(root, "message", "Message", &n);
  if(!s)
    s = es_json_str(root, "errorMessage", NULL, &n);
  if(s)
    es_copy_trunc(out->message, sizeof(out->message), s, n);
  if(!out->request_id[0]) {
    s = es_json_str(root, "requestId", "RequestId", &n);
    if(s)
      es_copy_trunc(out->request_id, sizeof(out->request_id), s, n);
  }
  json_decref(root);
}

/* ---- XML ------------------------------------------------------------------- */

#define ES_XML_DEPTH 16    /* element names tracked; deeper elements are ignored */
#define ES_XML_TEXT 512

enum es_xml_field { ES_F_NONE, ES_F_CODE, ES_F_MESSAGE, ES_F_TYPE, ES_F_REQID };

struct es_xml {
  XML_Parser p;
  int depth;                       /* current depth (root = 1) */
  int in_error;                    /* depth of the innermost open <Error>, 0 if none */
  enum es_xml_field field;         /* the field whose text is being collected */
  int field_depth;
  char text[ES_XML_TEXT];
  size_t text_len;
  int have_code, have_msg, have_type, have_reqid;
  char code[128], message[512], type[16], reqid[128];
  int refused;                     /* DOCTYPE seen */
};

static const char *es_local(const char *name)
{
  const char *c = strrchr(name, ':');
  return c ? c + 1 : name;
}

static void XMLCALL es_xml_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
  struct es_xml *x = ud;
  const char *l = es_local(name);
  (void)atts;
  x->depth++;
  if(x->field != ES_F_NONE)
    return;                         /* markup inside a collected field: ignore its text order */
  if(strcmp(l, "Error") == 0) {
    x->in_error = x->depth;
    return;
  }
  if(x->in_error && x->depth == x->in_error + 1) {
    if(strcmp(l, "Code") == 0 && !x->have_code)
      x->field = ES_F_CODE;
    else if(strcmp(l, "Message") == 0 && !x->have_msg)
      x->field = ES_F_MESSAGE;
    else if(strcmp(l, "Type") == 0 && !x->have_type)
      x->field = ES_F_TYPE;
  }
  if(x->field == ES_F_NONE && !x->have_reqid && x->depth <= ES_XML_DEPTH &&
     (strcmp(l, "RequestID") == 0 || strcmp(l, "RequestId") == 0 || strcmp(l, "requestId") == 0))
    x->field = ES_F_REQID;
  if(x->field != ES_F_NONE) {
    x->field_depth = x->depth;
    x->text_len = 0;
  }
}

static void es_trim_copy(char *dst, size_t size, const char *s, size_t n)
{
  while(n && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
    s++;
    n--;
  }
  while(n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
    n--;
  es_copy_trunc(dst, size, s, n);
}

static void XMLCALL es_xml_end(void *ud, const XML_Char *name)
{
  struct es_xml *x = ud;
  (void)name;
  if(x->field != ES_F_NONE && x->depth == x->field_depth) {
    switch(x->field) {
    case ES_F_CODE:
      es_trim_copy(x->code, sizeof(x->code), x->text, x->text_len);
      x->have_code = 1;
      break;
    case ES_F_MESSAGE:
      es_trim_copy(x->message, sizeof(x->message), x->text, x->text_len);
      x->have_msg = 1;
      break;
    case ES_F_TYPE:
      es_trim_copy(x->type, sizeof(x->type), x->text, x->text_len);
      x->have_type = 1;
      break;
    case ES_F_REQID:
      es_trim_copy(x->reqid, sizeof(x->reqid), x->text, x->text_len);
      x->have_reqid = 1;
      break;
    case ES_F_NONE:
      break;
    }
    x->field = ES_F_NONE;
  }
  if(x->in_error == x->depth)
    x->in_error = 0;
  x->depth--;
}

static void XMLCALL es_xml_text(void *ud, const XML_Char *s, int len)
{
  struct es_xml *x = ud;
  size_t room;
  if(x->field == ES_F_NONE || len <= 0)
    return;
  room = sizeof(x->text) - x->text_len;
  if((size_t)len > room)
    len = (int)room;
  memcpy(x->text + x->text_len, s, (size_t)len);
  x->text_len += (size_t)len;
}

static void XMLCALL es_xml_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                                   const XML_Char *pubid, int has_internal_subset)
{
  struct es_xml *x = ud;
  (void)name;
  (void)sysid;
  (void)pubid;
  (void)has_internal_subset;
  /* AWS never sends a DOCTYPE; refusing it rules out entity tricks. */
  x->refused = 1;
  XML_StopParser(x->p, XML_FALSE);
}

static void es_parse_xml(const char *body, size_t len, struct es_aws_error *out, int want_code)
{
  struct es_xml *x;
  int ok = 1;
  size_t off = 0;

  x = calloc(1, sizeof(*x));   /* ~1.4 KiB: keep it off the (possibly small) stack */
  if(!x)
    return;
  x->p = XML_ParserCreate("UTF-8");
  if(!x->p) {
    free(x);
    return;
  }
  XML_SetUserData(x->p, x);
  XML_SetElementHandler(x->p, es_xml_start, es_xml_end);
  XML_SetCharacterDataHandler(x->p, es_xml_text);
  XML_SetStartDoctypeDeclHandler(x->p, es_xml_doctype);
  do {
    size_t chunk = len - off;
    int final;
    if(chunk > (size_t)1 << 20)
      chunk = (size_t)1 << 20;
    final = off + chunk == len;
    if(XML_Parse(x->p, body + off, (int)chunk, final) != XML_STATUS_OK) {
      ok = 0;
      break;
    }
    off += chunk;
  } while(off < len);
  if(ok && !x->refused) {
    if(want_code && x->have_code)
      es_copy_trunc(out->code, sizeof(out->code), x->code, strlen(x->code));
    if(x->have_msg)
      es_copy_trunc(out->message, sizeof(out->message), x->message, strlen(x->message));
    if(x->have_type)
      es_copy_trunc(out->type, sizeof(out->type), x->type, strlen(x->type));
    if(x->have_reqid && !out->request_id[0])
      es_copy_trunc(out->request_id, sizeof(out->request_id), x->reqid, strlen(x->reqid));
  }
  XML_ParserFree(x->p);
  free(x);
}

int es_aws_error_parse(const struct es_header *headers, size_t n_headers,
                       const char *body, size_t body_len, struct es_aws_error *out)
{
  const struct es_header *h;
  size_t i = 0;
  int want_code = 1;

  if(!out)
    return ES_EINVAL;
  memset(out, 0, sizeof(*out));
  if(!body)
    body_len = 0;

  if((h = es_find(headers, n_headers, "x-amzn-RequestId")) ||
     (h = es_find(headers, n_headers, "x-amz-request-id")))
    es_trim_copy(out->request_id, sizeof(out->request_id), h->value, h->value_len);

  if((h = es_find(headers, n_headers, "x-amzn-query-error"))) {
    const char *semi = memchr(h->value, ';', h->value_len);
    size_t n = semi ? (size_t)(semi - h->value) : h->value_len;
    es_trim_copy(out->code, sizeof(out->code), h->value, n);
    if(semi)
      es_trim_copy(out->type, sizeof(out->type), semi + 1,
                   h->value_len - (size_t)(semi + 1 - h->value));
  }
  else if((h = es_find(headers, n_headers, "x-amzn-ErrorType")))
    es_set_code(out, h->value, h->value_len);
  if(out->code[0])
    want_code = 0;

  while(i < body_len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
    i++;
  if(i < body_len && body[i] == '{')
    es_parse_json(body, body_len, out, want_code);
  else if(i < body_len && body[i] == '<')
    es_parse_xml(body, body_len, out, want_code);
  return ES_OK;
}
