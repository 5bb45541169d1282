/*
 * lua_xml.c: binding of the XML decoder: core.xml_decode(s) -> tree | nil, err.
 * A node becomes { name = "...", text = "...", [1] = child, [2] = child, ... };
 * shaping the tree into AWS-style tables (lists, scalars) is Lua's job.
 */
#include "lua_util.h"
#include "xml.h"

static void push_node(lua_State *L, const struct es_xml_node *n)
{
  const struct es_xml_node *c;
  lua_Integer i = 1;
  /* Depth is bounded by the decoder's limit (64), so recursion is bounded. */
  luaL_checkstack(L, 4, "xml: document too deep");
  lua_createtable(L, (int)n->n_children, 2);
  lua_pushstring(L, n->name);
  lua_setfield(L, -2, "name");
  lua_pushlstring(L, n->text, n->text_len);
  lua_setfield(L, -2, "text");
  for(c = n->first_child; c; c = c->next_sibling) {
    push_node(L, c);
    lua_rawseti(L, -2, i++);
  }
}

static int doc_gc(lua_State *L)
{
  struct es_xml_doc **d = lua_touserdata(L, 1);
  if(*d) {
    es_xml_free(*d);
    *d = NULL;
  }
  return 0;
}

static int l_xml_decode(lua_State *L)
{
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  char errbuf[256];
  struct es_xml_doc **box;
  int rc;
  static const luaL_Reg doc_meta[] = {{"__gc", doc_gc}, {NULL, NULL}};
  /* Box the doc so a memory error while building tables cannot leak it. */
  box = es_lua_newbox(L, sizeof(*box), 0, "eksegress.xml_doc", doc_meta, NULL);
  errbuf[0] = '\0';
  rc = es_xml_parse(s, len, NULL, box, errbuf, sizeof(errbuf));
  if(rc)
    return es_lua_fail(L, rc == ES_ENOMEM ? "OutOfMemory" : "XmlParseError",
                       errbuf[0] ? errbuf : es_strerror(rc));
  push_node(L, es_xml_root(*box));
  es_xml_free(*box);
  *box = NULL;
  return 1;
}

void es_lua_open_xml(lua_State *L)
{
  static const luaL_Reg fns[] = {
    {"xml_decode", l_xml_decode},
    {NULL, NULL}
  };
  luaL_setfuncs(L, fns, 0);
}
