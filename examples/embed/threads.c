/*
 * threads.c: a long-lived host with several lua_States on different threads,
 * each running eksegress scripts concurrently.
 *
 *   threads LUA_DIR ENDPOINT_URL [THREADS [ROUNDS]]
 *
 * LUA_DIR is where the eksegress Lua modules are (lua/ of a checkout, or
 * <tree>/share/lua/5.4 of a LuaRocks tree): this host takes them from
 * package.path and links only the C module (eksegress_preload_core).
 * THREADS workers (default 3) each open one lua_State and keep it for their
 * whole life; the jobs (every region of REGIONS, ROUNDS times, default 2)
 * come from one queue. A job describes every cluster of its region through
 * the worker's client, which stays in its state from job to job (one
 * connection pool per state). All workers hold a job and an open state
 * before any of them starts (a barrier), so THREADS states run at once.
 *
 * Prints one line per job ("job N thread T REGION: C clusters ...") in job
 * order, then "jobs: J, threads used: U, clusters described: D".
 * Exits 0 when every job succeeded, 1 otherwise, 64 on a usage error.
 *
 * Build: make embed (build/examples/embed/threads).
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eksegress.h"

#define MAX_THREADS 16
#define MAX_JOBS 256

static const char *const REGIONS[] = { "us-east-1", "us-west-2", "eu-west-1" };
#define N_REGIONS (sizeof(REGIONS) / sizeof(REGIONS[0]))

/* Run once per state: defines job(region) -> count, text | nil, err, with a
   client kept in the state between jobs. */
static const char *SETUP =
  "local endpoint = ...\n"
  "local eksegress = require 'eksegress'\n"
  "local function env(name)\n"
  "  if name == 'AWS_ENDPOINT_URL' then return endpoint end\n"
  "  return os.getenv(name)\n"
  "end\n"
  "local client = assert(eksegress.client{ env = env })\n"
  "function job(region)\n"
  "  local names, err = client:collect('eks', 'ListClusters', {}, { region = region })\n"
  "  if not names then return nil, tostring(err) end\n"
  "  local described, errs = eksegress.parallel(names, function(name)\n"
  "    return client:call('eks', 'DescribeCluster', { name = name }, { region = region })\n"
  "  end, { concurrency = 8 })\n"
  "  local parts = {}\n"
  "  for i, name in ipairs(names) do\n"
  "    if not described[i] then return nil, name .. ': ' .. tostring(errs[i]) end\n"
  "    local c = described[i].cluster\n"
  "    parts[#parts + 1] = c.name .. '=' .. (c.resourcesVpcConfig.controlPlaneEgressMode or 'UNKNOWN')\n"
  "  end\n"
  "  table.sort(parts)\n"
  "  return #names, table.concat(parts, ' ')\n"
  "end\n";

struct job {
  const char *region;
  int thread;             /* the worker that ran it, -1 until then */
  int ok;
  long clusters;
  char text[1024];        /* copied out of the state before its value is popped */
};

static struct {
  pthread_mutex_t lock;
  pthread_barrier_t start;
  struct job jobs[MAX_JOBS];
  int n_jobs, next;
  const char *lua_dir, *endpoint;
} host = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct job *take_job(void)
{
  struct job *j = NULL;
  pthread_mutex_lock(&host.lock);
  if(host.next < host.n_jobs)
    j = &host.jobs[host.next++];
  pthread_mutex_unlock(&host.lock);
  return j;
}

/* A state for this thread: standard libraries, the C module preloaded, the
   Lua modules on package.path, SETUP run. NULL (reason printed) on failure. */
static lua_State *open_state(int id)
{
  lua_State *L = luaL_newstate();
  if(!L)
    return NULL;
  luaL_openlibs(L);
  eksegress_preload_core(L);
  lua_getglobal(L, "package");
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", host.lua_dir, host.lua_dir);
  lua_getfield(L, -2, "path");
  lua_concat(L, 2);
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
  if(luaL_loadbuffer(L, SETUP, strlen(SETUP), "=setup") != LUA_OK) {
    fprintf(stderr, "thread %d: %s\n", id, lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  lua_pushstring(L, host.endpoint);
  if(lua_pcall(L, 1, 0, 0) != LUA_OK) {
    fprintf(stderr, "thread %d: setup failed: %s\n", id, lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  return L;
}

static void run_job(lua_State *L, int id, struct job *j)
{
  j->thread = id;
  lua_getglobal(L, "job");
  lua_pushstring(L, j->region);
  if(lua_pcall(L, 1, 2, 0) != LUA_OK) {
    snprintf(j->text, sizeof(j->text), "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return;
  }
  j->ok = !lua_isnil(L, -2);
  j->clusters = j->ok ? (long)lua_tointeger(L, -2) : 0;
  /* The string belongs to the state: copied before it is popped. */
  snprintf(j->text, sizeof(j->text), "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
  lua_pop(L, 2);
}

static void *worker(void *arg)
{
  int id = (int)(size_t)arg;
  struct job *j = take_job();
  lua_State *L = open_state(id);
  /* Every worker waits here with its state open, so they all run at once
     (even one whose state failed, so the others are never left waiting). */
  pthread_barrier_wait(&host.start);
  if(!L)
    return NULL;
  for(; j; j = take_job())
    run_job(L, id, j);
  lua_close(L);
  return NULL;
}

int main(int argc, char **argv)
{
  pthread_t tid[MAX_THREADS];
  int threads = argc > 3 ? atoi(argv[3]) : 3, rounds = argc > 4 ? atoi(argv[4]) : 2;
  int i, used = 0, failed = 0, seen[MAX_THREADS] = { 0 };
  long described = 0;
  char err[256];

  if(argc < 3 || argc > 5 || threads < 1 || threads > MAX_THREADS || rounds < 1 ||
     (size_t)rounds * N_REGIONS > MAX_JOBS || (size_t)rounds * N_REGIONS < (size_t)threads) {
    fprintf(stderr, "usage: %s LUA_DIR ENDPOINT_URL [THREADS 1..%d [ROUNDS]] (ROUNDS x %d jobs, at least "
            "one per thread)\n", argv[0], MAX_THREADS, (int)N_REGIONS);
    return 64;
  }
  host.lua_dir = argv[1];
  host.endpoint = argv[2];
  for(i = 0; i < rounds * (int)N_REGIONS; i++) {
    host.jobs[i].region = REGIONS[(size_t)i % N_REGIONS];
    host.jobs[i].thread = -1;
  }
  host.n_jobs = rounds * (int)N_REGIONS;

  /* libcurl is initialised here, before any thread exists (eksegress.h). */
  if(eksegress_global_init(err, sizeof(err)) != 0) {
    fprintf(stderr, "threads: %s\n", err);
    return 1;
  }
  pthread_barrier_init(&host.start, NULL, (unsigned)threads);
  for(i = 0; i < threads; i++)
    if(pthread_create(&tid[i], NULL, worker, (void *)(size_t)i) != 0) {
      fprintf(stderr, "threads: cannot start thread %d\n", i);
      return 1;   /* the started ones wait at the barrier: leave at once */
    }
  for(i = 0; i < threads; i++)
    pthread_join(tid[i], NULL);
  pthread_barrier_destroy(&host.start);

  for(i = 0; i < host.n_jobs; i++) {
    const struct job *j = &host.jobs[i];
    printf("job %d thread %d %s: %s%ld clusters %s\n", i, j->thread, j->region, j->ok ? "" : "FAILED ",
           j->clusters, j->text);
    if(!j->ok)
      failed++;
    described += j->clusters;
    if(j->thread >= 0 && !seen[j->thread]) {
      seen[j->thread] = 1;
      used++;
    }
  }
  printf("jobs: %d, threads used: %d, clusters described: %ld\n", host.n_jobs, used, described);
  return failed ? 1 : 0;
}
