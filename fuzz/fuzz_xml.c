/* fuzz-sources: xml.c es_buf.c es_error.c */
/*
 * fuzz_xml.c: libFuzzer target for the XML decoder (csrc/core/xml.c).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icsrc/core csrc/core/xml.c \
 *     csrc/core/es_buf.c csrc/core/es_error.c fuzz/fuzz_xml.c \
 *     $(pkg-config --cflags --libs expat libcrypto)
 *   ./a.out -max_total_time=60 fuzz/corpus/xml/
 *
 * Each input is parsed twice: with the default limits and with tight ones. Checked:
 *   - failure leaves *out NULL, returns a known code and writes a message;
 *   - every node is well-formed (text_len == strlen(text), n_children matches the
 *     sibling list, parents have text "", the node count is right), with every
 *     string read so ASan sees any bad pointer;
 *   - tightening the limits never turns a failure into a success, and when both
 *     parses succeed the trees are identical.
 */
#include "es_buf.h"
#include "es_error.h"
#include "xml.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
  fprintf(stderr, "fuzz_xml invariant violated: %s\n", what);
  __builtin_trap();
}

/* Pre-order serialisation without recursion; also checks per-node invariants. */
static void serialise(const struct es_xml_doc *d, struct es_buf *out)
{
  size_t cap = es_xml_node_count(d) + 1, sp = 0, seen = 0;
  const struct es_xml_node **stack = malloc(cap * sizeof(*stack));
  if(!stack)
    fail("test harness out of memory");
  if(!es_xml_root(d))
    fail("successful parse without a root");
  stack[sp++] = es_xml_root(d);
  while(sp) {
    const struct es_xml_node *n = stack[--sp], *c;
    size_t k = 0, first;
    seen++;
    if(!n->name || !n->text || strlen(n->text) != n->text_len)
      fail("bad name/text");
    if(n->name[0] == '\0')
      fail("empty element name");
    if(es_buf_puts(out, n->name) || es_buf_putc(out, '\0') ||
       es_buf_append(out, n->text, n->text_len) || es_buf_putc(out, '\0') ||
       es_buf_printf(out, "%zu;", n->n_children))
      fail("test harness out of memory");
    /* Push children reversed so they pop in document order. */
    first = sp;
    for(c = n->first_child; c; c = c->next_sibling) {
      if(sp >= cap)
        fail("more nodes than es_xml_node_count");
      stack[sp++] = c;
      k++;
    }
    if(k != n->n_children)
      fail("n_children does not match the child list");
    if(k && n->text_len)
      fail("element with children has text");
    if(k) {
      size_t i = first, j = sp - 1;
      while(i < j) {
        const struct es_xml_node *t = stack[i];
        stack[i++] = stack[j];
        stack[j--] = t;
      }
    }
  }
  free(stack);
  if(seen != es_xml_node_count(d))
    fail("node count mismatch");
  if(es_xml_root(d)->next_sibling)
    fail("root has a sibling");
}

static int known_rc(int rc)
{
  return rc == ES_EPARSE || rc == ES_ERANGE || rc == ES_ENOMEM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const struct es_xml_limits tight = {8, 64, 256};
  struct es_xml_doc *d1 = NULL, *d2 = NULL;
  struct es_buf s1 = ES_BUF_INIT, s2 = ES_BUF_INIT;
  char err[256];
  int rc1, rc2;

  err[0] = 'x';
  rc1 = es_xml_parse((const char *)data, size, NULL, &d1, err, sizeof(err));
  if(rc1 != ES_OK && (d1 || !known_rc(rc1) || err[0] == '\0'))
    fail("failure contract (default limits)");
  if(rc1 == ES_OK)
    serialise(d1, &s1);

  err[0] = 'x';
  rc2 = es_xml_parse((const char *)data, size, &tight, &d2, err, sizeof(err));
  if(rc2 != ES_OK && (d2 || !known_rc(rc2) || err[0] == '\0'))
    fail("failure contract (tight limits)");
  if(rc2 == ES_OK) {
    /* The tight limits are below the defaults, except max_bytes for inputs shorter
       than 128 bytes, and those can never decode to more than 2 * size bytes (the
       default), so success here implies success above. */
    if(rc1 != ES_OK && rc1 != ES_ENOMEM)
      fail("tight limits accepted what default limits refused");
    serialise(d2, &s2);
    if(rc1 == ES_OK && (s1.len != s2.len || memcmp(s1.data, s2.data, s1.len) != 0))
      fail("trees differ between limit settings");
  }

  es_buf_free(&s1);
  es_buf_free(&s2);
  es_xml_free(d1);
  es_xml_free(d2);
  return 0;
}
