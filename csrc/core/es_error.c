/* es_error.c: names and descriptions of the core's error codes. */
#include "es_error.h"

#include <stddef.h>

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
