/*
 * engine_events.c: libcurl's socket interface over epoll or poll(2) (see
 * engine_events.h).
 */
#include "engine_events.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "es_error.h"

#if defined(__linux__)
#include <sys/epoll.h>
#include <unistd.h>
#define ES_HAVE_EPOLL 1
#else
#define ES_HAVE_EPOLL 0
#endif

#define ES_EVENTS_BATCH 16   /* ready sockets taken per wait; the rest wait for the next */

struct es_events {
  CURLM *multi;
  int epfd;                  /* -1: the poll(2) backend */
  struct pollfd *fds;        /* poll backend: the watched sockets */
  size_t n_fds, cap_fds;
  double due;                /* libcurl's next timeout (monotonic ms), < 0: none */
};

static short es_poll_mask(int what)
{
  return (short)(((what & CURL_POLL_IN) ? POLLIN : 0) | ((what & CURL_POLL_OUT) ? POLLOUT : 0));
}

/* poll backend: watch s for what (CURL_POLL_REMOVE: stop watching). */
static int es_poll_watch(struct es_events *ev, curl_socket_t s, int what)
{
  size_t i;
  for(i = 0; i < ev->n_fds; i++)
    if(ev->fds[i].fd == s)
      break;
  if(what == CURL_POLL_REMOVE) {
    if(i < ev->n_fds)
      ev->fds[i] = ev->fds[--ev->n_fds];
    return 0;
  }
  if(i == ev->n_fds) {
    if(ev->n_fds == ev->cap_fds) {
      size_t nc = ev->cap_fds ? ev->cap_fds * 2 : 16;
      struct pollfd *p = realloc(ev->fds, nc * sizeof(*p));
      if(!p)
        return -1;
      ev->fds = p;
      ev->cap_fds = nc;
    }
    ev->n_fds++;
  }
  ev->fds[i].fd = s;
  ev->fds[i].events = es_poll_mask(what);
  ev->fds[i].revents = 0;
  return 0;
}

#if ES_HAVE_EPOLL
/* A socket libcurl has handed us carries this mark (curl_multi_assign)
   until it says CURL_POLL_REMOVE, which drops the mark too: so the first
   watch is an EPOLL_CTL_ADD and the next ones MODs, one system call each. */
static char es_in_epoll;

static int es_epoll_watch(struct es_events *ev, curl_socket_t s, int what, void *socketp)
{
  struct epoll_event e;
  if(what == CURL_POLL_REMOVE) {
    /* ENOENT/EBADF: libcurl already closed it, which removed it too. */
    (void)epoll_ctl(ev->epfd, EPOLL_CTL_DEL, s, NULL);
    return 0;
  }
  memset(&e, 0, sizeof(e));
  e.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
  e.data.fd = s;
  if(socketp && epoll_ctl(ev->epfd, EPOLL_CTL_MOD, s, &e) == 0)
    return 0;
  /* New to us (or, should libcurl reuse a descriptor number, not registered after all). */
  if(epoll_ctl(ev->epfd, EPOLL_CTL_ADD, s, &e) != 0 &&
     (errno != EEXIST || epoll_ctl(ev->epfd, EPOLL_CTL_MOD, s, &e) != 0))
    return -1;
  if(!socketp)
    (void)curl_multi_assign(ev->multi, s, &es_in_epoll);
  return 0;
}
#endif

/* CURLMOPT_SOCKETFUNCTION: record what libcurl wants watched. */
static int es_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
  struct es_events *ev = userp;
  (void)easy;
#if ES_HAVE_EPOLL
  if(ev->epfd >= 0)
    return es_epoll_watch(ev, s, what, socketp);
#else
  (void)socketp;
#endif
  return es_poll_watch(ev, s, what);
}

/* CURLMOPT_TIMERFUNCTION: record libcurl's next timeout. */
static int es_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
  struct es_events *ev = userp;
  (void)multi;
  ev->due = timeout_ms < 0 ? -1.0 : es_mono_ms() + (double)timeout_ms;
  return 0;
}

struct es_events *es_events_new(CURLM *multi, int use_poll)
{
  struct es_events *ev = calloc(1, sizeof(*ev));
  if(!ev)
    return NULL;
  ev->multi = multi;
  ev->epfd = -1;
  ev->due = -1.0;
#if ES_HAVE_EPOLL
  if(!use_poll) {
    ev->epfd = epoll_create1(EPOLL_CLOEXEC);
    if(ev->epfd < 0) {
      free(ev);
      return NULL;
    }
  }
#else
  (void)use_poll;
#endif
  if(curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, es_socket_cb) != CURLM_OK ||
     curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, (void *)ev) != CURLM_OK ||
     curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, es_timer_cb) != CURLM_OK ||
     curl_multi_setopt(multi, CURLMOPT_TIMERDATA, (void *)ev) != CURLM_OK) {
    es_events_free(ev);
    return NULL;
  }
  return ev;
}

void es_events_free(struct es_events *ev)
{
  if(!ev)
    return;
  /* libcurl keeps calling back while the multi handle is cleaned up: point
     the callbacks at nothing first. */
  (void)curl_multi_setopt(ev->multi, CURLMOPT_SOCKETFUNCTION, (curl_socket_callback)NULL);
  (void)curl_multi_setopt(ev->multi, CURLMOPT_TIMERFUNCTION, (curl_multi_timer_callback)NULL);
#if ES_HAVE_EPOLL
  if(ev->epfd >= 0)
    close(ev->epfd);
#endif
  free(ev->fds);
  free(ev);
}

int es_events_uses_epoll(const struct es_events *ev)
{
  return ev && ev->epfd >= 0;
}

long es_events_timeout(const struct es_events *ev)
{
  double w;
  if(ev->due < 0)
    return -1;
  w = ev->due - es_mono_ms();
  return w <= 0 ? 0 : (long)w + 1;   /* round up: waking early only costs another loop */
}

/* Run libcurl's timeout if it is due. */
int es_events_run_due(struct es_events *ev)
{
  int running;
  if(ev->due < 0 || ev->due > es_mono_ms())
    return ES_OK;
  ev->due = -1.0;   /* libcurl sets the next one from inside the call */
  return curl_multi_socket_action(ev->multi, CURL_SOCKET_TIMEOUT, 0, &running) == CURLM_OK ? ES_OK
                                                                                           : ES_ECURL;
}

static int es_act(struct es_events *ev, curl_socket_t s, int mask)
{
  int running;
  return curl_multi_socket_action(ev->multi, s, mask, &running) == CURLM_OK ? ES_OK : ES_ECURL;
}

/* poll backend: wait, then act on a snapshot of the ready sockets (acting may
   change the watched set). */
static int es_poll_wait(struct es_events *ev, int wait)
{
  curl_socket_t ready[ES_EVENTS_BATCH];
  int masks[ES_EVENTS_BATCH];
  int n, k = 0;
  size_t i;
  n = poll(ev->fds, (nfds_t)ev->n_fds, wait);
  if(n < 0)
    return errno == EINTR ? 0 : ES_ECURL;
  for(i = 0; i < ev->n_fds && k < ES_EVENTS_BATCH; i++) {
    short r = ev->fds[i].revents;
    if(!r)
      continue;
    ready[k] = ev->fds[i].fd;
    masks[k] = ((r & POLLIN) ? CURL_CSELECT_IN : 0) | ((r & POLLOUT) ? CURL_CSELECT_OUT : 0) |
               ((r & (POLLERR | POLLHUP | POLLNVAL)) ? CURL_CSELECT_ERR : 0);
    k++;
  }
  for(i = 0; i < (size_t)k; i++)
    if(es_act(ev, ready[i], masks[i]) != ES_OK)
      return ES_ECURL;
  return k;
}

#if ES_HAVE_EPOLL
static int es_epoll_wait(struct es_events *ev, int wait)
{
  struct epoll_event evs[ES_EVENTS_BATCH];
  int n = epoll_wait(ev->epfd, evs, ES_EVENTS_BATCH, wait);
  if(n < 0)
    return errno == EINTR ? 0 : ES_ECURL;
  for(int i = 0; i < n; i++) {
    unsigned r = evs[i].events;
    int mask = ((r & EPOLLIN) ? CURL_CSELECT_IN : 0) | ((r & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
               ((r & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
    if(es_act(ev, evs[i].data.fd, mask) != ES_OK)
      return ES_ECURL;
  }
  return n;
}
#endif

int es_events_drive(struct es_events *ev, long wait_ms)
{
  long t;
  int n;
  if(es_events_run_due(ev) != ES_OK)
    return ES_ECURL;
  t = es_events_timeout(ev);
  if(t >= 0 && t < wait_ms)
    wait_ms = t;
  if(wait_ms < 0)
    wait_ms = 0;
  if(wait_ms > 0x7fffffffL)
    wait_ms = 0x7fffffffL;
#if ES_HAVE_EPOLL
  if(ev->epfd >= 0)
    n = es_epoll_wait(ev, (int)wait_ms);
  else
#endif
    n = es_poll_wait(ev, (int)wait_ms);
  if(n < 0)
    return n;
  if(es_events_run_due(ev) != ES_OK)
    return ES_ECURL;
  return n;
}
