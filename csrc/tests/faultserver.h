/*
 * faultserver.h: start and stop csrc/tests/faultserver.py from a C test
 * (header-only, for the test binaries). The server listens on 127.0.0.1,
 * prints "PORT <n>", and exits when its stdin reaches EOF, so it never
 * outlives the test that started it.
 */
#ifndef ES_FAULTSERVER_H
#define ES_FAULTSERVER_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

struct faultserver {
  pid_t pid;
  int stdin_fd;
  int port;
  int tls_port;
  char base_url[64];   /* http://127.0.0.1:PORT */
  char tls_url[64];    /* https://127.0.0.1:TLSPORT */
  char host[32];       /* 127.0.0.1:PORT */
  char ca_file[512];   /* the test CA the TLS port's certificate chains to */
};

static int faultserver_start(struct faultserver *fs) __attribute__((unused));
static int faultserver_start(struct faultserver *fs)
{
  int in[2], out[2];
  const char *py = getenv("EKSEGRESS_PYTHON");
  const char *script = "csrc/tests/faultserver.py";
  /* "PORT n TLSPORT m CAFILE path": the path alone may be long. */
  char line[700];
  FILE *f;

  fs->pid = -1;
  fs->stdin_fd = -1;
  fs->port = fs->tls_port = 0;
  fs->ca_file[0] = '\0';
  if(!py || !*py)
    py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  if(access(script, R_OK) != 0)
    return -1;
  if(pipe(in) != 0)
    return -1;
  if(pipe(out) != 0) {
    close(in[0]);
    close(in[1]);
    return -1;
  }
  fs->pid = fork();
  if(fs->pid < 0)
    return -1;
  if(fs->pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    execlp(py, py, script, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  fs->stdin_fd = in[1];
  f = fdopen(out[0], "r");
  if(!f)
    return -1;
  if(fgets(line, sizeof(line), f))
    if(sscanf(line, "PORT %d TLSPORT %d CAFILE %511s", &fs->port, &fs->tls_port, fs->ca_file) != 3)
      fs->port = 0;
  fclose(f);
  if(fs->port <= 0)
    return -1;
  snprintf(fs->base_url, sizeof(fs->base_url), "http://127.0.0.1:%d", fs->port);
  snprintf(fs->tls_url, sizeof(fs->tls_url), "https://127.0.0.1:%d", fs->tls_port);
  snprintf(fs->host, sizeof(fs->host), "127.0.0.1:%d", fs->port);
  return 0;
}

static void faultserver_stop(struct faultserver *fs) __attribute__((unused));
static void faultserver_stop(struct faultserver *fs)
{
  int st;
  if(fs->stdin_fd >= 0)
    close(fs->stdin_fd);   /* EOF on its stdin: it exits */
  fs->stdin_fd = -1;
  if(fs->pid > 0) {
    /* Let it remove its temporary CA directory; force it after ~3 s. */
    int i;
    for(i = 0; i < 300; i++) {
      if(waitpid(fs->pid, &st, WNOHANG) == fs->pid) {
        fs->pid = -1;
        return;
      }
      usleep(10000);
    }
    kill(fs->pid, SIGTERM);
    waitpid(fs->pid, &st, 0);
  }
  fs->pid = -1;
}

#endif
