/*
 * es_version.h: the one version string of eksegress. The engine's User-Agent
 * and the Lua module's core.version both come from here.
 */
#ifndef ES_VERSION_H
#define ES_VERSION_H

#define ES_VERSION "0.1.0"

/* ES_VERSION, for callers linked against the library rather than built with its headers. */
const char *es_version(void);

#endif
