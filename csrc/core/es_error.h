/*
 * es_error.h: error codes shared by every component of the eksegress C core.
 *
 * Core functions return 0 on success and a negative ES_E* code on failure.
 * No core function aborts the process; out of memory is ES_ENOMEM.
 * This header includes no Lua header: the core links without Lua.
 */
#ifndef ES_ERROR_H
#define ES_ERROR_H

#define ES_OK          0
#define ES_ENOMEM     -1   /* allocation failed */
#define ES_EINVAL     -2   /* invalid argument (caller misuse) */
#define ES_ERANGE     -3   /* value out of the accepted range */
#define ES_EPARSE     -4   /* malformed input (JSON, XML, date, request line) */
#define ES_ECRYPTO    -5   /* OpenSSL failure */
#define ES_ECURL      -6   /* libcurl setup failure */
#define ES_ETIMEOUT   -7   /* connect or total timeout */
#define ES_ECONNECT   -8   /* could not connect */
#define ES_ECONNRESET -9   /* connection dropped or reset mid-transfer */
#define ES_ETOOBIG   -10   /* response larger than the configured limit */
#define ES_ETLS      -11   /* TLS handshake or verification failure */
#define ES_EQUOTA    -12   /* retry quota exhausted */
#define ES_ECLOSED   -13   /* object already closed */
#define ES_EGUARD    -14   /* refused by the irreversibility guard */
#define ES_ENOTFOUND -15   /* lookup failed */
#define ES_EHTTP     -16   /* other transport failure */
#define ES_EIO       -17   /* a file could not be opened, written, synced or read */
#define ES_ELOCKED   -18   /* a journal file is held by another writer */
#define ES_ENOTREG   -19   /* the path names a FIFO, a device or a directory, not a regular file */
#define ES_EFILETOOBIG -20 /* a file is larger than the caller's limit */

/* A failure and its explanation, for operations that fail in more than one
   way a caller should tell apart (engine creation, opening a file). The
   message never contains a secret. */
struct es_error_info {
  int code;                 /* ES_OK or ES_E* */
  char message[512];        /* "" when code is ES_OK */
};

/* Set info (when not NULL): code, and a printf-style message; with
   sys_errno != 0, ": <strerror(sys_errno)>" is appended. Returns code. */
int es_error_set(struct es_error_info *info, int code, int sys_errno, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));

/* A static, human-readable description of an ES_E* code ("unknown error" otherwise). */
const char *es_strerror(int code);

/* A stable symbolic name ("Timeout", "ConnectionError", ...) used as err.code in Lua. */
const char *es_errname(int code);

#endif
