/*
 * xml.h: decode EC2 / STS / IAM Query-protocol XML responses into a neutral tree.
 *
 * The tree is deliberately dumb: elements only, in document order, each with its
 * local name and, for leaf elements, its text. Deciding what is a list (`...Set`,
 * `item`, `member`) and what is a scalar is the Lua layer's business; this module
 * reports the structure faithfully and nothing else.
 *
 * What the decoder keeps and drops:
 *   - element names lose their namespace (URI or prefix): <a:Foo xmlns:a="..."> is "Foo";
 *   - a leaf element's text is kept byte for byte (inner and surrounding whitespace
 *     included), with entities, character references and CDATA decoded by expat; text
 *     is always UTF-8, whatever encoding the document declared;
 *   - an element with child elements has text "" (indentation and any mixed-content
 *     text between children are dropped: AWS responses have no mixed content);
 *   - attributes, comments and processing instructions are ignored.
 *
 * Safety: a DOCTYPE declaration is refused outright (ES_EPARSE), so no entity can be
 * declared, expanded or fetched (no billion laughs, no XXE). Depth, node count and the
 * number of decoded bytes kept are bounded (struct es_xml_limits). Parsing and freeing
 * use no recursion, so deep documents cannot overflow the C stack.
 *
 * Memory: the whole tree (nodes and strings) lives in one arena owned by the
 * es_xml_doc; every pointer reachable from es_xml_root() stays valid until
 * es_xml_free(). The arena is zeroed before release, because STS responses carry
 * credentials. A doc is immutable once returned and may be read from any thread.
 */
#ifndef ES_XML_H
#define ES_XML_H

#include <stddef.h>

/* An element. All strings are NUL-terminated and owned by the doc. */
struct es_xml_node {
  const char *name;                 /* local name, namespace URI/prefix stripped */
  const char *text;                 /* leaf: its exact character data; with children: "" */
  size_t text_len;                  /* strlen(text) (XML text cannot contain NUL) */
  struct es_xml_node *first_child;  /* NULL for a leaf */
  struct es_xml_node *next_sibling; /* NULL for the last child (and for the root) */
  size_t n_children;                /* number of direct child elements */
};

/* The parsed document: owns every node and string (opaque). */
struct es_xml_doc;

#define ES_XML_DEFAULT_MAX_DEPTH 64u
#define ES_XML_DEFAULT_MAX_NODES 1000000u

/* Limits; a zero field takes its default. Pass NULL for all defaults. */
struct es_xml_limits {
  unsigned max_depth;  /* nesting depth, the root element being 1 (default 64) */
  size_t max_nodes;    /* elements in the document (default 1,000,000) */
  size_t max_bytes;    /* bytes of names + leaf text kept in the tree, plus the text
                          being collected for the innermost open element (default: twice
                          the input length, the most an entity-free document can decode
                          to: ISO-8859-1 0xE9 becomes 2 UTF-8 bytes) */
};

/*
 * Parse data[0..len) (need not be NUL-terminated).
 * Returns ES_OK and sets *out (free with es_xml_free), or:
 *   ES_EPARSE  malformed XML, DOCTYPE present, unsupported encoding, empty input;
 *   ES_ERANGE  a limit was exceeded;
 *   ES_ENOMEM  out of memory;
 *   ES_EINVAL  out or data NULL (data may be NULL only when len is 0).
 * On failure *out is NULL and, when errbuf is non-NULL and errlen > 0, errbuf holds a
 * one-line message with the 1-based line and column, e.g.
 *   "XML parse error at line 3, column 7: mismatched tag".
 * Messages never quote document content (responses may carry credentials).
 */
int es_xml_parse(const char *data, size_t len, const struct es_xml_limits *lim,
                 struct es_xml_doc **out, char *errbuf, size_t errlen);

/* The document element (never NULL for a doc returned by es_xml_parse). */
const struct es_xml_node *es_xml_root(const struct es_xml_doc *d);

/* First direct child of n named name (local name, exact match), or NULL.
   NULL-safe: returns NULL if n or name is NULL. */
const struct es_xml_node *es_xml_child(const struct es_xml_node *n, const char *name);

/* Number of elements in the document. */
size_t es_xml_node_count(const struct es_xml_doc *d);

/* Release the doc and everything it owns (zeroed first). NULL is a no-op. */
void es_xml_free(struct es_xml_doc *d);

#endif
