/* test_httpdate.c: HTTP Date parsing (IMF-fixdate, RFC 850, asctime) and formatting. */
#include <string.h>

#include "es_error.h"
#include "httpdate.h"
#include "tap.h"

static int parse(const char *s, time_t *t)
{
  return es_httpdate_parse(s, strlen(s), t);
}

int main(void)
{
  time_t t = 0;
  char out[30];
  size_t i;
  static const char *const bad[] = {
    "", "GMT", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC",
    "Sun, 06 Nov 1994 08:49:37 +0000", "Sun, 6 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 94 08:49:37 GMT", "Sun, 31 Nov 1994 08:49:37 GMT", "Sun, 29 Feb 1900 00:00:00 GMT",
    "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT",
    "Sun, 06 Nov 1994 08:49:61 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun,06 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMTX", "Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 06 nov 1994 08:49:37 GMT",
    "Sunday, 06-Nov-1994 08:49:37 GMT", "Sun Nov 6 08:49:37 1994", "Sun, 06 Nov 1994 8:49:37 GMT",
    "Sun, 0a Nov 1994 08:49:37 GMT", "Sun"
  };

  ok(parse("Sun, 06 Nov 1994 08:49:37 GMT", &t) == ES_OK && t == 784111777, "IMF-fixdate");
  ok(parse("Sunday, 06-Nov-94 08:49:37 GMT", &t) == ES_OK && t == 784111777, "RFC 850");
  ok(parse("Sun Nov  6 08:49:37 1994", &t) == ES_OK && t == 784111777, "asctime");
  ok(parse("Thu, 01 Jan 1970 00:00:00 GMT", &t) == ES_OK && t == 0, "epoch");
  ok(parse("  Thu, 26 Nov 2026 07:18:20 GMT\r\n", &t) == ES_OK && t == 1795677500,
     "surrounding whitespace (t=%lld)", (long long)t);
  ok(parse("Tue, 29 Feb 2000 12:00:00 GMT", &t) == ES_OK && t == 951825600, "leap day 2000");
  ok(parse("Wed, 31 Dec 2036 23:59:60 GMT", &t) == ES_OK && t == 2114380799, "leap second as :59");
  ok(parse("Mon, 01 Jan 2001 00:00:00 GMT", &t) == ES_OK && t == 978307200, "weekday not checked against date");
  ok(parse("Thursday, 01-Jan-70 00:00:00 GMT", &t) == ES_OK && t == 0, "RFC 850 year 70 -> 1970");
  ok(parse("Friday, 01-Jan-38 00:00:00 GMT", &t) == ES_OK && t == 2145916800, "RFC 850 year 38 -> 2038");
  ok(parse("Wed Feb 13 15:46:11 2013", &t) == ES_OK && t == 1360770371, "asctime two-digit day");
  for(i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    ok(parse(bad[i], &t) == ES_EPARSE, "rejects '%s'", bad[i]);
  ok(es_httpdate_parse(NULL, 0, &t) == ES_EPARSE, "NULL input");
  ok(es_httpdate_parse("Sun, 06 Nov 1994 08:49:37 GMT", 10, &t) == ES_EPARSE, "length respected");

  es_httpdate_format(784111777, out);
  is_str(out, "Sun, 06 Nov 1994 08:49:37 GMT", "format");
  es_httpdate_format(0, out);
  is_str(out, "Thu, 01 Jan 1970 00:00:00 GMT", "format epoch");
  es_httpdate_format(951825600, out);
  is_str(out, "Tue, 29 Feb 2000 12:00:00 GMT", "format leap day");
  es_httpdate_format(-86400, out);
  is_str(out, "Wed, 31 Dec 1969 00:00:00 GMT", "format before the epoch");
  {
    time_t x, back;
    int bad_rt = 0;
    for(x = 0; x < 4102444800; x += 7654321) {
      es_httpdate_format(x, out);
      if(parse(out, &back) != ES_OK || back != x)
        bad_rt++;
    }
    ok(bad_rt == 0, "format/parse round trip 1970..2100");
  }
  return done_testing();
}
