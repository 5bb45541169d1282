/*
 * embedded.h: the Lua modules compiled into libeksegress.a, as text.
 * The table is generated from lua/ by `tools/dist.lua embed` at build time
 * ($(BUILD)/gen/embedded_lua.c); openlibs.c registers it in package.preload.
 */
#ifndef ES_HOST_EMBEDDED_H
#define ES_HOST_EMBEDDED_H

#include <stddef.h>

struct es_embedded_module {
  const char *name;        /* "eksegress.client" */
  const char *chunkname;   /* "@lua/eksegress/client.lua" */
  const char *source;      /* the file's bytes */
  size_t len;
};

/* Ends with an entry whose name is NULL. */
extern const struct es_embedded_module es_embedded_modules[];

#endif
