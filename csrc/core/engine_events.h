/*
 * engine_events.h: libcurl's socket interface driven over epoll (poll(2)
 * where epoll is missing), for the engine (engine.c).
 *
 * libcurl tells us, through CURLMOPT_SOCKETFUNCTION and
 * CURLMOPT_TIMERFUNCTION, which sockets to watch for what and when its next
 * timeout is; es_events_drive() waits for exactly those and hands each ready
 * socket to curl_multi_socket_action(). So a wake-up costs the sockets that
 * are ready, not every transfer in flight (curl_multi_perform would visit
 * them all). The callbacks only record what libcurl asked for; no transfer
 * is driven from inside one.
 */
#ifndef ES_ENGINE_EVENTS_H
#define ES_ENGINE_EVENTS_H

#include <curl/curl.h>
#include <time.h>

/* Monotonic milliseconds: the one clock of every engine deadline. */
static inline double es_mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

struct es_events;

/* Watch for the transfers of multi. use_poll: 1 for poll(2) even where
   epoll exists (tests of the fallback). Installs the multi handle's socket
   and timer callbacks. NULL on failure (out of memory, epoll_create1). */
struct es_events *es_events_new(CURLM *multi, int use_poll);

/* NULL is accepted. Call before curl_multi_cleanup(): the cleanup still
   reports sockets being removed, which the callbacks then ignore. */
void es_events_free(struct es_events *ev);

/* Milliseconds until libcurl's next timeout (0: due now), or -1 if it set none. */
long es_events_timeout(const struct es_events *ev);

/* Hand libcurl its due timeout, then wait at most wait_ms (0: do not wait)
   for the watched sockets and pass each ready one to libcurl, then its
   timeout again if that came due meanwhile. Returns the number of sockets
   that were ready, or ES_ECURL. */
int es_events_drive(struct es_events *ev, long wait_ms);

/* Hand libcurl its timeout if it is due (a transfer just added is due at
   once: this starts it). ES_OK or ES_ECURL. */
int es_events_run_due(struct es_events *ev);

/* 1 if the epoll backend is in use, 0 for poll(2). */
int es_events_uses_epoll(const struct es_events *ev);

#endif
