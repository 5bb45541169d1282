/* es_error.c: names and descriptions of the core's error codes. */
#include "es_error.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "es_text.h"

struct es_errinfo {
  int code;
  const char *name;
  const char *text;
};

static const struct es_errinfo es_errors[] = {
  {ES_OK, "OK", "success"},
  {ES_ENOMEM, "OutOfMemory", "out of memory"},
  {ES_EINVAL, "InvalidArgument", "invalid argument"},
  {ES_ERANGE, "OutOfRange", "value out of range"},
  {ES_EPARSE, "ParseError", "malformed input"},
  {ES_ECRYPTO, "CryptoError", "OpenSSL failure"},
  {ES_ECURL, "CurlError", "libcurl failure"},
  {ES_ETIMEOUT, "Timeout", "request timed out"},
  {ES_ECONNECT, "ConnectionError", "could not connect"},
  {ES_ECONNRESET, "ConnectionReset", "connection reset or dropped"},
  {ES_ETOOBIG, "ResponseTooLarge", "response exceeds the size limit"},
  {ES_ETLS, "TlsError", "TLS failure"},
  {ES_EQUOTA, "RetryQuotaExceeded", "retry quota exhausted"},
  {ES_ECLOSED, "Closed", "object is closed"},
  {ES_EGUARD, "GuardRefused", "refused by the irreversibility guard"},
  {ES_ENOTFOUND, "NotFound", "not found"},
  {ES_EHTTP, "HttpError", "transport failure"},
  {ES_EIO, "IoError", "input/output error"},
  {ES_ELOCKED, "JournalLocked", "the journal is locked by another writer"},
  {ES_ENOTREG, "NotARegularFile", "not a regular file"},
  {ES_EFILETOOBIG, "FileTooLarge", "file exceeds the size limit"},
};

static const struct es_errinfo *es_errlookup(int code)
{
  size_t i;
  for(i = 0; i < sizeof(es_errors) / sizeof(es_errors[0]); i++)
    if(es_errors[i].code == code)
      return &es_errors[i];
  return NULL;
}

const char *es_strerror(int code)
{
  const struct es_errinfo *e = es_errlookup(code);
  return e ? e->text : "unknown error";
}

const char *es_errname(int code)
{
  const struct es_errinfo *e = es_errlookup(code);
  return e ? e->name : "UnknownError";
}

int es_error_set(struct es_error_info *info, int code, int sys_errno, const char *fmt, ...)
{
  va_list ap;
  size_t n;
  if(!info)
    return code;
  info->code = code;
  va_start(ap, fmt);
  vsnprintf(info->message, sizeof(info->message), fmt, ap);
  va_end(ap);
  n = strlen(info->message);
  if(sys_errno && n < sizeof(info->message)) {
    char buf[128];
    /* GNU strerror_r (we build with _GNU_SOURCE): thread-safe, returns the text. */
    snprintf(info->message + n, sizeof(info->message) - n, ": %s", strerror_r(sys_errno, buf, sizeof(buf)));
  }
  /* A path cut at the end must not leave half a UTF-8 character. */
  info->message[es_utf8_boundary(info->message, strlen(info->message))] = '\0';
  return code;
}
