/*
 * httpdate.h: HTTP dates (RFC 9110 section 5.6.7): IMF-fixdate
 * "Sun, 06 Nov 1994 08:49:37 GMT" (what servers send, RFC 1123), plus the two
 * obsolete forms recipients must accept: RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT"
 * and asctime "Sun Nov  6 08:49:37 1994". No locale, no TZ, no timegm().
 */
#ifndef ES_HTTPDATE_H
#define ES_HTTPDATE_H

#include <stddef.h>
#include <time.h>

/* Parse s[0..n) (surrounding whitespace allowed). Returns ES_OK with the UNIX
   time in *out, or ES_EPARSE. The weekday name is checked for form but not
   against the date. Leap seconds (:60) are accepted as :59. */
int es_httpdate_parse(const char *s, size_t n, time_t *out);

/* Format t as an IMF-fixdate into out[30] (29 characters + NUL). */
void es_httpdate_format(time_t t, char out[30]);

#endif
