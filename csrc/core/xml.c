/*
 * xml.c: expat-based decoder of Query-protocol XML responses into the neutral
 * tree described in xml.h.
 *
 * The decoder is a flat state machine over expat's callbacks: an explicit stack of
 * open elements (bounded by max_depth), one pending-text buffer, and an arena that
 * owns every node and string. Nothing recurses, so neither parsing nor freeing a
 * deep document can exhaust the C stack.
 */
#include "xml.h"
#include "es_buf.h"
#include "es_error.h"

#include <expat.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Namespace separator handed to expat: names arrive as "URI\x01local". U+0001 is not
 * a legal XML 1.0 character, so it can appear neither in a name nor in a namespace
 * URI (not even as &#1;), and everything after the last separator is the local name.
 */
#define XML_NS_SEP '\x01'

/* Input is fed to expat in slices, because XML_Parse takes an int length. */
#define XML_FEED_MAX ((size_t)1 << 30)

/* Arena chunks start small (most responses are a few kilobytes) and double. */
#define ARENA_FIRST_CHUNK ((size_t)4096)
#define ARENA_MAX_CHUNK ((size_t)1 << 20)

/* ---- arena ---------------------------------------------------------------- */

struct arena_chunk {
  struct arena_chunk *next;
  size_t used;    /* bytes of data[] handed out */
  size_t cap;     /* bytes of data[] */
  max_align_t data[];  /* aligned for any object type */
};

struct es_xml_doc {
  struct arena_chunk *chunks;  /* head is the chunk being filled */
  size_t next_chunk;           /* size of the next regular chunk */
  struct es_xml_node *root;
  size_t n_nodes;
};

static unsigned char *chunk_bytes(struct arena_chunk *c)
{
  return (unsigned char *)c->data;
}

/* Allocate size bytes aligned to align (a power of two <= alignof(max_align_t)). */
static void *arena_alloc(struct es_xml_doc *d, size_t size, size_t align)
{
  struct arena_chunk *c = d->chunks;
  size_t off, cap;

  if(c) {
    off = (c->used + align - 1) & ~(align - 1);
    if(off <= c->cap && size <= c->cap - off) {
      c->used = off + size;
      return chunk_bytes(c) + off;
    }
  }
  if(size > ((size_t)-1) - sizeof(struct arena_chunk) - 1)
    return NULL;
  /* A big request gets a chunk of its own, linked behind the head, so the free
     space left in the head is not wasted on the next small allocations. */
  if(size > d->next_chunk / 2) {
    struct arena_chunk *big = malloc(sizeof(*big) + (size ? size : 1));
    if(!big)
      return NULL;
    big->used = size;
    big->cap = size;
    if(c) {
      big->next = c->next;
      c->next = big;
    }
    else {
      big->next = NULL;
      d->chunks = big;
    }
    return chunk_bytes(big);
  }
  cap = d->next_chunk;
  c = malloc(sizeof(*c) + cap);
  if(!c)
    return NULL;
  c->used = size;
  c->cap = cap;
  c->next = d->chunks;
  d->chunks = c;
  if(d->next_chunk < ARENA_MAX_CHUNK)
    d->next_chunk *= 2;
  return chunk_bytes(c);
}

static char *arena_strndup(struct es_xml_doc *d, const char *s, size_t n)
{
  char *p;
  if(n == (size_t)-1)
    return NULL;
  p = arena_alloc(d, n + 1, 1);
  if(!p)
    return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

/* ---- parse state ---------------------------------------------------------- */

struct open_elem {
  struct es_xml_node *node;
  struct es_xml_node *last_child;  /* for O(1) append */
};

struct xml_state {
  XML_Parser p;
  struct es_xml_doc *doc;
  struct open_elem *stack;
  size_t depth;
  size_t stack_cap;
  struct es_buf text;      /* character data of the innermost open element so far */
  size_t max_depth;
  size_t max_nodes;
  size_t max_bytes;
  size_t bytes;            /* names + committed text, counted against max_bytes */
  int err;                 /* first error raised inside a handler, else 0 */
  unsigned long long err_line;
  unsigned long long err_col;
  char err_msg[96];
};

/*
 * Record the first error raised in a handler and stop expat. Expat may still deliver
 * a few events after XML_StopParser (e.g. the end of an empty element), so every
 * handler returns early once st->err is set.
 */
static void xml_fail(struct xml_state *st, int code, const char *msg)
{
  if(st->err)
    return;
  st->err = code;
  st->err_line = (unsigned long long)XML_GetCurrentLineNumber(st->p);
  st->err_col = (unsigned long long)XML_GetCurrentColumnNumber(st->p) + 1;
  snprintf(st->err_msg, sizeof(st->err_msg), "%s", msg);
  XML_StopParser(st->p, XML_FALSE);
}

static const char *local_name(const XML_Char *name)
{
  const char *sep = strrchr(name, XML_NS_SEP);
  return sep ? sep + 1 : name;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
  struct xml_state *st = ud;
  struct es_xml_doc *d = st->doc;
  struct es_xml_node *node;
  const char *lname;
  size_t nlen;
  char msg[96];

  (void)atts;  /* Query-protocol responses carry no data in attributes */
  if(st->err)
    return;
  if(st->depth >= st->max_depth) {
    snprintf(msg, sizeof(msg), "elements nested deeper than %zu levels", st->max_depth);
    xml_fail(st, ES_ERANGE, msg);
    return;
  }
  if(d->n_nodes >= st->max_nodes) {
    snprintf(msg, sizeof(msg), "more than %zu elements", st->max_nodes);
    xml_fail(st, ES_ERANGE, msg);
    return;
  }
  lname = local_name(name);
  nlen = strlen(lname);
  if(nlen > st->max_bytes - st->bytes) {
    snprintf(msg, sizeof(msg), "decoded content exceeds %zu bytes", st->max_bytes);
    xml_fail(st, ES_ERANGE, msg);
    return;
  }
  if(st->depth == st->stack_cap) {
    /* Bounded by max_depth, so this cannot grow without limit. */
    size_t ncap = st->stack_cap ? st->stack_cap * 2 : 16;
    struct open_elem *ns;
    if(ncap > st->max_depth)
      ncap = st->max_depth;
    if(ncap > ((size_t)-1) / sizeof(*ns)) {
      xml_fail(st, ES_ENOMEM, "out of memory");
      return;
    }
    ns = realloc(st->stack, ncap * sizeof(*ns));
    if(!ns) {
      xml_fail(st, ES_ENOMEM, "out of memory");
      return;
    }
    st->stack = ns;
    st->stack_cap = ncap;
  }
  node = arena_alloc(d, sizeof(*node), alignof(struct es_xml_node));
  if(!node || !(node->name = arena_strndup(d, lname, nlen))) {
    xml_fail(st, ES_ENOMEM, "out of memory");
    return;
  }
  st->bytes += nlen;
  node->text = "";
  node->text_len = 0;
  node->first_child = NULL;
  node->next_sibling = NULL;
  node->n_children = 0;
  d->n_nodes++;

  if(st->depth == 0) {
    d->root = node;
  }
  else {
    struct open_elem *parent = &st->stack[st->depth - 1];
    if(parent->last_child)
      parent->last_child->next_sibling = node;
    else
      parent->node->first_child = node;
    parent->last_child = node;
    parent->node->n_children++;
  }
  st->stack[st->depth].node = node;
  st->stack[st->depth].last_child = NULL;
  st->depth++;
  /* Text seen in the parent so far is dropped: an element with children has none. */
  es_buf_reset(&st->text);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
  struct xml_state *st = ud;
  struct es_xml_node *node;

  (void)name;  /* expat has already checked that it matches the start tag */
  if(st->err || st->depth == 0)
    return;
  node = st->stack[st->depth - 1].node;
  if(node->n_children == 0 && st->text.len > 0) {
    char *t = arena_strndup(st->doc, st->text.data, st->text.len);
    if(!t) {
      xml_fail(st, ES_ENOMEM, "out of memory");
      return;
    }
    node->text = t;
    node->text_len = st->text.len;
    st->bytes += st->text.len;
  }
  st->depth--;
  es_buf_reset(&st->text);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
  struct xml_state *st = ud;
  size_t n = len > 0 ? (size_t)len : 0;
  char msg[96];

  if(st->err || st->depth == 0 || n == 0)
    return;
  /* Once an element has a child its own text is "", so stop collecting. */
  if(st->stack[st->depth - 1].node->n_children > 0)
    return;
  if(n > st->max_bytes - st->bytes || st->text.len > st->max_bytes - st->bytes - n) {
    snprintf(msg, sizeof(msg), "decoded content exceeds %zu bytes", st->max_bytes);
    xml_fail(st, ES_ERANGE, msg);
    return;
  }
  if(es_buf_append(&st->text, s, n))
    xml_fail(st, ES_ENOMEM, "out of memory");
}

/*
 * A DOCTYPE is where entities (internal and external) are declared. AWS responses
 * never carry one, so refusing it removes entity expansion (billion laughs) and
 * external entity resolution (XXE) altogether. Expat stops at the end of the current
 * token, before it reads the internal subset.
 */
static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
  (void)name;
  (void)sysid;
  (void)pubid;
  (void)has_internal_subset;
  xml_fail(ud, ES_EPARSE, "DOCTYPE declarations are not allowed");
}

/* Second line of defence should a declaration ever get through. */
static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int is_param,
                                   const XML_Char *value, int value_len,
                                   const XML_Char *base, const XML_Char *sysid,
                                   const XML_Char *pubid, const XML_Char *notation)
{
  (void)name;
  (void)is_param;
  (void)value;
  (void)value_len;
  (void)base;
  (void)sysid;
  (void)pubid;
  (void)notation;
  xml_fail(ud, ES_EPARSE, "entity declarations are not allowed");
}

/* ---- public API ------------------------------------------------------------ */

static void arena_free(struct arena_chunk *c)
{
  while(c) {
    struct arena_chunk *next = c->next;
    OPENSSL_cleanse(chunk_bytes(c), c->used);
    free(c);
    c = next;
  }
}

void es_xml_free(struct es_xml_doc *d)
{
  if(!d)
    return;
  arena_free(d->chunks);
  free(d);
}

const struct es_xml_node *es_xml_root(const struct es_xml_doc *d)
{
  return d ? d->root : NULL;
}

size_t es_xml_node_count(const struct es_xml_doc *d)
{
  return d ? d->n_nodes : 0;
}

const struct es_xml_node *es_xml_child(const struct es_xml_node *n, const char *name)
{
  const struct es_xml_node *c;
  if(!n || !name)
    return NULL;
  for(c = n->first_child; c; c = c->next_sibling)
    if(strcmp(c->name, name) == 0)
      return c;
  return NULL;
}

static void set_err(char *errbuf, size_t errlen, const char *what, unsigned long long line,
                    unsigned long long col, const char *detail)
{
  if(!errbuf || errlen == 0)
    return;
  if(line)
    snprintf(errbuf, errlen, "%s at line %llu, column %llu: %s", what, line, col, detail);
  else
    snprintf(errbuf, errlen, "%s: %s", what, detail);
}

int es_xml_parse(const char *data, size_t len, const struct es_xml_limits *lim,
                 struct es_xml_doc **out, char *errbuf, size_t errlen)
{
  struct xml_state st;
  size_t off = 0;
  int rc = ES_OK;

  if(errbuf && errlen)
    errbuf[0] = '\0';
  if(!out || (!data && len)) {
    if(out)
      *out = NULL;
    set_err(errbuf, errlen, "XML decoder", 0, 0, "invalid argument");
    return ES_EINVAL;
  }
  *out = NULL;
  if(!data)
    data = "";

  memset(&st, 0, sizeof(st));
  es_buf_set_secret(&st.text);   /* leaf text may be a secret key: no stale copies */
  st.max_depth = lim && lim->max_depth ? lim->max_depth : ES_XML_DEFAULT_MAX_DEPTH;
  st.max_nodes = lim && lim->max_nodes ? lim->max_nodes : ES_XML_DEFAULT_MAX_NODES;
  /* Without a DTD nothing expands (a reference is never shorter than what it decodes
     to); only transcoding grows text, by at most 2x (ISO-8859-1 to UTF-8). */
  st.max_bytes = lim && lim->max_bytes ? lim->max_bytes
                 : len > ((size_t)-1) / 2 ? (size_t)-1 : 2 * len;
  st.doc = calloc(1, sizeof(*st.doc));
  if(!st.doc) {
    set_err(errbuf, errlen, "XML decoder", 0, 0, "out of memory");
    return ES_ENOMEM;
  }
  st.doc->next_chunk = ARENA_FIRST_CHUNK;
  st.p = XML_ParserCreateNS(NULL, XML_NS_SEP);
  if(!st.p) {
    es_xml_free(st.doc);
    set_err(errbuf, errlen, "XML decoder", 0, 0, "out of memory");
    return ES_ENOMEM;
  }
  XML_SetUserData(st.p, &st);
  XML_SetElementHandler(st.p, on_start, on_end);
  XML_SetCharacterDataHandler(st.p, on_text);
  XML_SetStartDoctypeDeclHandler(st.p, on_doctype);
  XML_SetEntityDeclHandler(st.p, on_entity_decl);
  /* Never read an external DTD subset or parameter entity (the default, made explicit). */
  XML_SetParamEntityParsing(st.p, XML_PARAM_ENTITY_PARSING_NEVER);

  do {
    size_t n = len - off > XML_FEED_MAX ? XML_FEED_MAX : len - off;
    int final = off + n == len;
    if(XML_Parse(st.p, data + off, (int)n, final) != XML_STATUS_OK) {
      if(st.err) {
        rc = st.err;
        if(rc == ES_ENOMEM)
          set_err(errbuf, errlen, "XML decoder", 0, 0, "out of memory");
        else
          set_err(errbuf, errlen, rc == ES_ERANGE ? "XML limit exceeded" : "XML parse error",
                  st.err_line, st.err_col, st.err_msg);
      }
      else {
        enum XML_Error code = XML_GetErrorCode(st.p);
        rc = code == XML_ERROR_NO_MEMORY ? ES_ENOMEM : ES_EPARSE;
        set_err(errbuf, errlen, "XML parse error",
                (unsigned long long)XML_GetCurrentLineNumber(st.p),
                (unsigned long long)XML_GetCurrentColumnNumber(st.p) + 1,
                XML_ErrorString(code) ? XML_ErrorString(code) : "unknown error");
      }
      break;
    }
    off += n;
  } while(off < len);

  if(rc == ES_OK && !st.doc->root) {
    /* Unreachable with a conforming expat (a document needs an element), kept so a
       caller can rely on es_xml_root() != NULL. */
    rc = ES_EPARSE;
    set_err(errbuf, errlen, "XML parse error", 0, 0, "no element found");
  }

  XML_ParserFree(st.p);
  free(st.stack);
  es_buf_wipe_free(&st.text);
  if(rc != ES_OK) {
    es_xml_free(st.doc);
    return rc;
  }
  *out = st.doc;
  return ES_OK;
}
