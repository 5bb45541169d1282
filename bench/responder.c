/*
 * responder.c: the server of the `calls` benchmark (bench/run.sh).
 *
 *   responder [--latency-ms N]        prints "responder listening on PORT"
 *
 * A single-threaded epoll HTTP/1.1 keep-alive server on 127.0.0.1 that answers
 * EKS DescribeCluster (GET /clusters/NAME) after holding each response for
 * the given latency, so that a client's throughput is bounded by
 * concurrency / latency and by nothing on this side. The simulator
 * (tools/ekssim) does far more per request and, being Python, tops out near
 * the rates this benchmark needs at concurrency 128 on a 2-core machine.
 *
 * Every request's SigV4 signature is verified: the canonical request is
 * rebuilt from the request as received (its SignedHeaders, the SHA-256 of the
 * body) and signed here with OpenSSL, independently of the eksegress signer,
 * for the key pair the simulator uses (AKIDEXAMPLE). A request with a missing
 * or wrong signature gets 403 InvalidSignatureException and is counted.
 *
 *   GET  /_stats        {"requests", "in_flight", "in_flight_max", "bad_signatures", "cpu_us"}
 *   POST /_stats/reset  zero the counters (cpu_us is the process's own user+sys time)
 *
 * Loopback only; stops on SIGTERM/SIGINT.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ACCESS_KEY "AKIDEXAMPLE"
#define SECRET_KEY "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define MAX_HEAD 65536
#define MAX_HEADERS 64

struct conn {
  int fd;
  int dead;                 /* peer gone while a response was held */
  int held;                 /* a response waits in the timer queue */
  char *in;
  size_t in_len, in_cap;
  char *out;
  size_t out_len, out_off;
  int close_after;
  struct conn *tnext;       /* timer queue (responses are due in arrival order) */
  double due;
};

static volatile sig_atomic_t stop;
static int epfd;
static double latency_ms;
static struct conn *tq_head, *tq_tail;
static unsigned long long n_requests, n_bad, in_flight, in_flight_max;

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void on_signal(int s)
{
  (void)s;
  stop = 1;
}

static void conn_free(struct conn *c)
{
  free(c->in);
  free(c->out);
  free(c);
}

static void conn_close(struct conn *c)
{
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  if(c->held)
    c->dead = 1;            /* freed when its timer fires */
  else
    conn_free(c);
}

static void hex(const unsigned char *d, size_t n, char *out)
{
  static const char h[] = "0123456789abcdef";
  for(size_t i = 0; i < n; i++) {
    out[2 * i] = h[d[i] >> 4];
    out[2 * i + 1] = h[d[i] & 15];
  }
  out[2 * n] = '\0';
}

struct hdr {
  const char *name, *value;
  size_t nlen, vlen;
};

static const struct hdr *find_hdr(const struct hdr *h, int n, const char *name, size_t nlen)
{
  for(int i = 0; i < n; i++)
    if(h[i].nlen == nlen && strncasecmp(h[i].name, name, nlen) == 0)
      return &h[i];
  return NULL;
}

/* Append s[0..n) to b (cap is large enough by construction, else 0). */
static int put(char *b, size_t cap, size_t *len, const char *s, size_t n)
{
  if(*len + n >= cap)
    return 0;
  memcpy(b + *len, s, n);
  *len += n;
  return 1;
}

/* Copy p up to the next ',' into out (NUL-terminated); returns the ',' or
   NULL when there is none or the field does not fit. */
static char *copy_field(char *p, char *out, size_t cap)
{
  char *q = strchr(p, ',');
  if(!q || (size_t)(q - p) >= cap)
    return NULL;
  memcpy(out, p, (size_t)(q - p));
  out[q - p] = '\0';
  return q;
}

/* 1 if the request carries a valid SigV4 header signature by ACCESS_KEY. */
static int signature_ok(const char *method, size_t mlen, const char *target, size_t tlen,
                        const struct hdr *h, int nh, const char *body, size_t blen)
{
  const struct hdr *auth = find_hdr(h, nh, "authorization", 13);
  const struct hdr *date = find_hdr(h, nh, "x-amz-date", 10);
  char a[2048], scope[256], signed_list[1024], sig[65], creq[16384], sts[1024];
  char bodyhash[65], crhash[65], mine[65];
  unsigned char dig[SHA256_DIGEST_LENGTH], k[32], k2[32];
  unsigned int kl;
  size_t cl = 0, sl = 0;
  char *p, *q;
  const char *path_end;

  if(!auth || !date || auth->vlen >= sizeof(a) || date->vlen != 16)
    return 0;
  memcpy(a, auth->value, auth->vlen);
  a[auth->vlen] = '\0';
  if(strncmp(a, "AWS4-HMAC-SHA256 Credential=" ACCESS_KEY "/", 28 + sizeof(ACCESS_KEY)) != 0)
    return 0;
  p = a + 28 + strlen(ACCESS_KEY) + 1;
  if(!(q = copy_field(p, scope, sizeof(scope))) || !(p = strstr(q, "SignedHeaders=")) ||
     !(q = copy_field(p + 14, signed_list, sizeof(signed_list))))
    return 0;
  p = strstr(q, "Signature=");
  if(!p || strlen(p + 10) != 64)
    return 0;
  memcpy(sig, p + 10, 65);

  SHA256((const unsigned char *)body, blen, dig);
  hex(dig, sizeof(dig), bodyhash);
  /* Canonical request: the path is sent already encoded; EKS names need none more. */
  path_end = memchr(target, '?', tlen);
  if(!put(creq, sizeof(creq), &cl, method, mlen) || !put(creq, sizeof(creq), &cl, "\n", 1) ||
     !put(creq, sizeof(creq), &cl, target, path_end ? (size_t)(path_end - target) : tlen) ||
     !put(creq, sizeof(creq), &cl, "\n", 1))
    return 0;
  if(path_end && !put(creq, sizeof(creq), &cl, path_end + 1, tlen - (size_t)(path_end + 1 - target)))
    return 0;   /* single-parameter queries only (ListClusters' are not sent here) */
  if(!put(creq, sizeof(creq), &cl, "\n", 1))
    return 0;
  for(char *s = signed_list; *s;) {
    char *e = strchr(s, ';');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    const struct hdr *x = find_hdr(h, nh, s, n);
    const char *v;
    size_t vl;
    if(!x)
      return 0;
    v = x->value;
    vl = x->vlen;
    while(vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
      vl--;
    if(!put(creq, sizeof(creq), &cl, s, n) || !put(creq, sizeof(creq), &cl, ":", 1) ||
       !put(creq, sizeof(creq), &cl, v, vl) || !put(creq, sizeof(creq), &cl, "\n", 1))
      return 0;
    s = e ? e + 1 : s + n;
  }
  if(!put(creq, sizeof(creq), &cl, "\n", 1) ||
     !put(creq, sizeof(creq), &cl, signed_list, strlen(signed_list)) ||
     !put(creq, sizeof(creq), &cl, "\n", 1) || !put(creq, sizeof(creq), &cl, bodyhash, 64))
    return 0;
  SHA256((const unsigned char *)creq, cl, dig);
  hex(dig, sizeof(dig), crhash);
  sl = (size_t)snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%.16s\n%s\n%s", date->value, scope, crhash);
  if(sl >= sizeof(sts))
    return 0;

  /* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
  {
    char scope_copy[256], *parts[4], *save = NULL;
    int i = 0;
    strcpy(scope_copy, scope);
    for(char *t = strtok_r(scope_copy, "/", &save); t && i < 4; t = strtok_r(NULL, "/", &save))
      parts[i++] = t;
    if(i != 4)
      return 0;
    HMAC(EVP_sha256(), "AWS4" SECRET_KEY, (int)strlen("AWS4" SECRET_KEY), (unsigned char *)parts[0],
         strlen(parts[0]), k, &kl);
    for(int j = 1; j < 4; j++) {
      HMAC(EVP_sha256(), k, 32, (unsigned char *)parts[j], strlen(parts[j]), k2, &kl);
      memcpy(k, k2, 32);
    }
  }
  HMAC(EVP_sha256(), k, 32, (unsigned char *)sts, sl, dig, &kl);
  hex(dig, 32, mine);
  return strcmp(mine, sig) == 0;
}

#define CLUSTER_JSON \
  "{\"cluster\":{\"name\":\"%.*s\",\"arn\":\"arn:aws:eks:us-west-2:111122223333:cluster/%.*s\"," \
  "\"createdAt\":1700000000.0,\"version\":\"1.31\",\"endpoint\":\"https://0123456789ABCDEF0123456789ABCDEF." \
  "gr7.us-west-2.eks.amazonaws.com\",\"roleArn\":\"arn:aws:iam::111122223333:role/eks-cluster\"," \
  "\"resourcesVpcConfig\":{\"subnetIds\":[\"subnet-0a1b2c3d4e5f60001\",\"subnet-0a1b2c3d4e5f60002\"]," \
  "\"securityGroupIds\":[\"sg-0a1b2c3d4e5f60001\"],\"clusterSecurityGroupId\":\"sg-0a1b2c3d4e5f60002\"," \
  "\"vpcId\":\"vpc-0a1b2c3d4e5f60001\",\"endpointPublicAccess\":true,\"endpointPrivateAccess\":true," \
  "\"publicAccessCidrs\":[\"0.0.0.0/0\"],\"controlPlaneEgressMode\":\"AWS_MANAGED\"}," \
  "\"kubernetesNetworkConfig\":{\"serviceIpv4Cidr\":\"10.100.0.0/16\",\"ipFamily\":\"ipv4\"}," \
  "\"logging\":{\"clusterLogging\":[{\"types\":[\"api\",\"audit\"],\"enabled\":false}]}," \
  "\"identity\":{\"oidc\":{\"issuer\":\"https://oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF\"}}," \
  "\"status\":\"ACTIVE\",\"certificateAuthority\":{\"data\":\"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=\"}," \
  "\"platformVersion\":\"eks.10\",\"tags\":{},\"accessConfig\":{\"authenticationMode\":\"API_AND_CONFIG_MAP\"}}}"

static int respond(struct conn *c, int status, const char *reason, const char *body, size_t blen)
{
  char head[512];
  int hl = snprintf(head, sizeof(head),
                    "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                    "x-amzn-RequestId: 00000000-0000-4000-8000-%012llx\r\n%s\r\n",
                    status, reason, blen, n_requests, c->close_after ? "Connection: close\r\n" : "");
  free(c->out);
  c->out = malloc((size_t)hl + blen);
  if(!c->out)
    return -1;
  memcpy(c->out, head, (size_t)hl);
  memcpy(c->out + hl, body, blen);
  c->out_len = (size_t)hl + blen;
  c->out_off = 0;
  return 0;
}

static void flush_out(struct conn *c);
static void handle_input(struct conn *c);

/* Send what is buffered; then go on with the next request of the connection. */
static void flush_out(struct conn *c)
{
  while(c->out && c->out_off < c->out_len) {
    ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if(n < 0 && errno == EAGAIN) {
      struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
      epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
      return;
    }
    if(n <= 0) {
      conn_close(c);
      return;
    }
    c->out_off += (size_t)n;
  }
  free(c->out);
  c->out = NULL;
  if(c->close_after) {
    conn_close(c);
    return;
  }
  {
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
  }
  handle_input(c);
}

static void stats_body(char *b, size_t cap, size_t *len)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *len = (size_t)snprintf(b, cap,
                          "{\"requests\":%llu,\"in_flight\":%llu,\"in_flight_max\":%llu,"
                          "\"bad_signatures\":%llu,\"cpu_us\":%lld}",
                          n_requests, in_flight, in_flight_max, n_bad,
                          (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
                            (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec);
}

/* Parse one complete request from c->in, if there is one, and answer it. */
static void handle_input(struct conn *c)
{
  struct hdr h[MAX_HEADERS];
  int nh = 0;
  char *end, *line, *sp1, *sp2, *p;
  size_t head_len, clen = 0, total;
  const struct hdr *x;
  char body[4096];
  size_t blen;

  if(c->held || c->out || c->fd < 0)
    return;
  end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
  if(!end) {
    if(c->in_len > MAX_HEAD)
      conn_close(c);
    return;
  }
  head_len = (size_t)(end - c->in) + 4;
  line = c->in;
  sp1 = memchr(line, ' ', head_len);
  sp2 = sp1 ? memchr(sp1 + 1, ' ', head_len - (size_t)(sp1 + 1 - line)) : NULL;
  if(!sp2) {
    conn_close(c);
    return;
  }
  p = (char *)memchr(line, '\n', head_len) + 1;
  while(p < end + 2 && nh < MAX_HEADERS) {
    char *eol = memchr(p, '\r', (size_t)(end + 2 - p));
    char *colon = memchr(p, ':', (size_t)(eol - p));
    if(!eol || !colon)
      break;
    h[nh].name = p;
    h[nh].nlen = (size_t)(colon - p);
    colon++;
    while(colon < eol && (*colon == ' ' || *colon == '\t'))
      colon++;
    h[nh].value = colon;
    h[nh].vlen = (size_t)(eol - colon);
    nh++;
    p = eol + 2;
  }
  if((x = find_hdr(h, nh, "content-length", 14)))
    clen = strtoul(x->value, NULL, 10);
  total = head_len + clen;
  if(clen > 1 << 20) {
    conn_close(c);
    return;
  }
  if(c->in_len < total)
    return;
  c->close_after = (x = find_hdr(h, nh, "connection", 10)) && x->vlen == 5 &&
                   strncasecmp(x->value, "close", 5) == 0;

  {
    const char *method = line, *target = sp1 + 1;
    size_t mlen = (size_t)(sp1 - line), tlen = (size_t)(sp2 - target);
    int held = 1, status = 200;
    const char *reason = "OK";
    if(tlen >= 6 && memcmp(target, "/_stats", 7) == 0) {
      if(tlen == 13 && mlen == 4 && memcmp(method, "POST", 4) == 0)
        n_requests = n_bad = in_flight_max = 0;
      stats_body(body, sizeof(body), &blen);
      held = 0;
    }
    else {
      n_requests++;
      if(!signature_ok(method, mlen, target, tlen, h, nh, c->in + head_len, clen)) {
        n_bad++;
        status = 403;
        reason = "Forbidden";
        blen = (size_t)snprintf(body, sizeof(body),
                                "{\"__type\":\"InvalidSignatureException\",\"message\":\"signature "
                                "does not match\"}");
      }
      else if(mlen == 3 && memcmp(method, "GET", 3) == 0 && tlen > 10 && tlen < 120 &&
              memcmp(target, "/clusters/", 10) == 0) {
        int n = (int)(tlen - 10);
        blen = (size_t)snprintf(body, sizeof(body), CLUSTER_JSON, n, target + 10, n, target + 10);
      }
      else {
        status = 404;
        reason = "Not Found";
        blen = (size_t)snprintf(body, sizeof(body),
                                "{\"__type\":\"ResourceNotFoundException\",\"message\":\"no such route\"}");
      }
    }
    if(respond(c, status, reason, body, blen) != 0) {
      conn_close(c);
      return;
    }
    memmove(c->in, c->in + total, c->in_len - total);
    c->in_len -= total;
    if(held && latency_ms > 0) {
      c->held = 1;
      c->due = now_ms() + latency_ms;
      c->tnext = NULL;
      if(tq_tail)
        tq_tail->tnext = c;
      else
        tq_head = c;
      tq_tail = c;
      if(++in_flight > in_flight_max)
        in_flight_max = in_flight;
      return;
    }
    if(held && ++in_flight > in_flight_max)
      in_flight_max = in_flight;
    if(held)
      in_flight--;
    flush_out(c);
  }
}

static void on_readable(struct conn *c)
{
  for(;;) {
    ssize_t n;
    if(c->in_cap - c->in_len < 4096) {
      size_t nc = c->in_cap ? c->in_cap * 2 : 8192;
      char *ni = realloc(c->in, nc);
      if(!ni) {
        conn_close(c);
        return;
      }
      c->in = ni;
      c->in_cap = nc;
    }
    n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    if(n < 0 && errno == EAGAIN)
      break;
    if(n <= 0) {
      conn_close(c);
      return;
    }
    c->in_len += (size_t)n;
  }
  handle_input(c);
}

static void fire_timers(void)
{
  double t = now_ms();
  while(tq_head && tq_head->due <= t) {
    struct conn *c = tq_head;
    tq_head = c->tnext;
    if(!tq_head)
      tq_tail = NULL;
    c->held = 0;
    in_flight--;
    if(c->dead)
      conn_free(c);
    else
      flush_out(c);
  }
}

int main(int argc, char **argv)
{
  struct sockaddr_in sa;
  socklen_t sl = sizeof(sa);
  int lfd, one = 1;
  struct epoll_event ev, evs[256];

  for(int i = 1; i < argc; i++) {
    if(strcmp(argv[i], "--latency-ms") == 0 && i + 1 < argc)
      latency_ms = atof(argv[++i]);
    else {
      fprintf(stderr, "usage: responder [--latency-ms N]\n");
      return 64;
    }
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 1024) != 0 ||
     getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0) {
    perror("responder: listen");
    return 69;
  }
  epfd = epoll_create1(EPOLL_CLOEXEC);
  ev.events = EPOLLIN;
  ev.data.ptr = NULL;
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
  printf("responder listening on %d\n", ntohs(sa.sin_port));
  fflush(stdout);

  while(!stop) {
    /* Wake exactly when the next held response is due (epoll_wait's
       millisecond timeout would add up to 1 ms to every latency). */
    struct timespec ts = {0, 500000000L};
    int n;
    if(tq_head) {
      double w = tq_head->due - now_ms();
      if(w < 0)
        w = 0;
      ts.tv_sec = (time_t)(w / 1000.0);
      ts.tv_nsec = (long)((w - (double)ts.tv_sec * 1000.0) * 1e6);
    }
    n = epoll_pwait2(epfd, evs, 256, &ts, NULL);
    for(int i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      if(!c) {
        int fd;
        while((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          struct conn *nc = calloc(1, sizeof(*nc));
          if(!nc) {
            close(fd);
            continue;
          }
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          nc->fd = fd;
          ev.events = EPOLLIN;
          ev.data.ptr = nc;
          epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
        }
        continue;
      }
      if(c->fd < 0)
        continue;
      if(evs[i].events & EPOLLOUT)
        flush_out(c);
      else if(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        on_readable(c);
    }
    fire_timers();
  }
  return 0;
}
