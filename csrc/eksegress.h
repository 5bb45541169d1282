/*
 * eksegress.h: the host API, for C programs that host Lua 5.4 and use
 * eksegress inside their own lua_States.
 *
 * LINKING
 *   build/libeksegress.a (`make`) holds the C core, the Lua binding, this API
 *   and every Lua module of eksegress compiled in as text. Link it with Lua
 *   5.4 and the core's libraries:
 *
 *     cc host.c -Icsrc $(pkg-config --cflags lua5.4) build/libeksegress.a \
 *        $(pkg-config --libs libcurl libcrypto jansson expat lua5.4) -lm -lpthread
 *
 *   A host may instead load the LuaRocks-installed module (eksegress/core.so
 *   and the .lua files) through package.cpath and package.path; it then needs
 *   none of the functions below.
 *   The Lua modules also need lua-cjson ("cjson", on package.cpath; Debian:
 *   lua-cjson). A host that reads no file at all links lua-cjson's library
 *   too and sets package.preload.cjson = luaopen_cjson. argparse is needed by
 *   the CLI's modules only.
 *
 * OPENING THE LIBRARY INTO A lua_State
 *   Open the standard libraries first (luaL_openlibs), then either:
 *   - eksegress_openlibs(L): every module from memory. package.preload gets
 *     "eksegress.core" (the C module) and every eksegress.* Lua module of the
 *     release the library was built from; a script's require "eksegress" (or
 *     "eksegress.workflows.audit", ...) then reads nothing from disk, so a
 *     host ships one binary. package.preload is searched before
 *     package.path, so these are always the modules used.
 *   - eksegress_preload_core(L): only the C module from memory; the Lua
 *     modules come from package.path (a LuaRocks tree, or lua/ of a
 *     checkout), which the host sets before the first require.
 *   Either may be called again on the same state (it only sets preload
 *   entries), and luaopen_eksegress_core may run more than once per state:
 *   its shared metatables are created once per state.
 *   Like luaL_openlibs, these raise a Lua error only on memory errors; call
 *   them through lua_pcall to survive that.
 *
 * WHAT A HOST MAY SET
 *   Nothing is process-wide and nothing must be set before opening: every
 *   setting is an option of eksegress.client{...} (see README "The Lua API in
 *   brief" and `require("eksegress.options").list`), given by the script the
 *   host runs, per client:
 *   - log sink: wire_log = function(line) ... end receives one line per
 *     request and response (never a body, a signature or a secret); a C
 *     function the host pushed (lua_pushcfunction) is fine.
 *   - CA bundle: ca_bundle = "/path/ca.pem" (or AWS_CA_BUNDLE through env).
 *   - environment: env = function(name) -> string|nil replaces os.getenv for
 *     everything the client reads (credentials, region, endpoints, profile
 *     files): the way to give different states different configurations,
 *     since getenv is process-wide.
 *   - credentials: credentials = {access_key_id = ..., ...} or a provider.
 *   - clock: now = function() -> epoch seconds, for credential expiry. The
 *     signing clock is the system's wall clock, corrected by the engine from
 *     the Date header of a clock-skew error; scripts cannot replace it.
 *   - audit_path: the guard's decision log (one JSON line per decision).
 *
 * THREADS
 *   - One lua_State per thread at a time: a lua_State, and every client,
 *     runtime and engine made in it, must only be used by one thread at a
 *     time (Lua states are not thread-safe). Moving a state to another thread
 *     between uses is fine when the host synchronises the hand-over.
 *   - Several states in one process, on different threads, are fine and
 *     independent: the binding keeps no mutable C globals; each state has
 *     its own runtime, engines, connection pools, guard observations and
 *     retry quotas. Close each state (lua_close) on the thread using it.
 *   - libcurl's global initialisation happens once per process:
 *     eksegress calls curl_global_init(CURL_GLOBAL_DEFAULT) under
 *     pthread_once when the first engine is created, in whichever thread that
 *     is, and never calls curl_global_cleanup. That is safe from any thread
 *     when libcurl is thread-safe (curl_version_info(CURLVERSION_NOW)->features
 *     has CURL_VERSION_THREADSAFE: libcurl 7.84 and later, Debian 12's 7.88).
 *     A host that uses libcurl itself, or whose libcurl is older, calls
 *     eksegress_global_init() in main() before starting threads: the library
 *     then never initialises libcurl from another thread. A host that calls
 *     curl_global_init itself should do so before that, also from main().
 *   - Signals: the library installs no signal handler (libcurl runs with
 *     CURLOPT_NOSIGNAL). Only core.signal_watch, which the CLI uses for
 *     Ctrl-C, changes a process-wide disposition; host scripts should not call
 *     it. OpenSSL 3 initialises itself.
 *
 * OWNERSHIP
 *   - luaopen_eksegress_core pushes the module table; it belongs to L.
 *   - Every value a script returns belongs to its lua_State: a string from
 *     lua_tostring is valid only while that value stays on the stack (copy it
 *     before lua_pop). The host frees nothing the library returns.
 *   - Engines, journals and other handles are userdata of the state: closed
 *     by :close(), by <close> variables, or by the garbage collector; lua_close
 *     closes all of them, aborting transfers still in flight; the engine's
 *     copies of credentials are wiped when the requests holding them are
 *     freed.
 *   - eksegress_version() returns a static string.
 *   - eksegress_global_init writes its message into the caller's errbuf.
 */
#ifndef EKSEGRESS_H
#define EKSEGRESS_H

#include <stddef.h>

#include <lua.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The C module eksegress.core (a lua_CFunction): pushes its table. */
int luaopen_eksegress_core(lua_State *L);

/* package.preload["eksegress.core"] = luaopen_eksegress_core. The Lua
   modules are then found through package.path. */
void eksegress_preload_core(lua_State *L);

/* package.preload entries for eksegress.core and every Lua module built into
   the library (each compiled on its first require, with the chunk name
   "@lua/eksegress/<path>.lua" in error messages). Returns the number of
   entries set, the C module included. */
int eksegress_openlibs(lua_State *L);

/* libcurl's process-wide initialisation, now, in the calling thread (see
   THREADS). Idempotent: libcurl is initialised once, whoever calls first. Returns 0, or a
   negative ES_E* code (ES_ECURL, ES_ECRYPTO, ES_ENOMEM) with a one-line
   message in errbuf (when errbuf is not NULL and errlen > 0). */
int eksegress_global_init(char *errbuf, size_t errlen);

/* The library's version, "0.1.0" (the same as require("eksegress").version). */
const char *eksegress_version(void);

#ifdef __cplusplus
}
#endif

#endif
