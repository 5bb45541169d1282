/* httpdate.c: HTTP date parsing and formatting (see httpdate.h). */
#include "httpdate.h"

#include <stdio.h>
#include <string.h>

#include "es_error.h"
#include "es_text.h"

static const char es_months[12][4] = {
  "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};
static const char es_wdays[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const es_wdays_long[7] = {
  "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"
};

/* A bounded cursor over the input: every read checks the end. */
struct es_cur {
  const char *p;
  const char *end;
};

static int es_lit(struct es_cur *c, const char *lit)
{
  size_t n = strlen(lit);
  if((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
    return 0;
  c->p += n;
  return 1;
}

/* Exactly `digits` decimal digits. */
static int es_num(struct es_cur *c, int digits, int *out)
{
  int v = 0, i;
  if(c->end - c->p < digits)
    return 0;
  for(i = 0; i < digits; i++) {
    char ch = c->p[i];
    if(!es_is_digit((unsigned char)ch))
      return 0;
    v = v * 10 + (ch - '0');
  }
  c->p += digits;
  *out = v;
  return 1;
}

static int es_month(struct es_cur *c, int *mon)
{
  int i;
  for(i = 0; i < 12; i++)
    if(es_lit(c, es_months[i])) {
      *mon = i + 1;
      return 1;
    }
  return 0;
}

static int es_hms(struct es_cur *c, int *h, int *m, int *s)
{
  return es_num(c, 2, h) && es_lit(c, ":") && es_num(c, 2, m) && es_lit(c, ":") && es_num(c, 2, s);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static long long es_days_from_civil(long long y, int m, int d)
{
  long long era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int es_days_in_month(int y, int m)
{
  static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if(m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
    return 29;
  return dm[m - 1];
}

int es_httpdate_parse(const char *s, size_t n, time_t *out)
{
  struct es_cur c;
  int day = 0, mon = 0, year = 0, h = 0, mi = 0, sec = 0, i, parsed = 0;
  long long days, t;

  if(!s || !out)
    return ES_EPARSE;
  c.p = s;
  c.end = s + n;
  while(c.p < c.end && (*c.p == ' ' || *c.p == '\t'))
    c.p++;
  while(c.end > c.p && (c.end[-1] == ' ' || c.end[-1] == '\t' || c.end[-1] == '\r' ||
                        c.end[-1] == '\n'))
    c.end--;

  /* RFC 850: long weekday name followed by ", " */
  for(i = 0; i < 7 && !parsed; i++) {
    struct es_cur k = c;
    if(es_lit(&k, es_wdays_long[i]) && es_lit(&k, ", ")) {
      int yy;
      if(!(es_num(&k, 2, &day) && es_lit(&k, "-") && es_month(&k, &mon) && es_lit(&k, "-") &&
           es_num(&k, 2, &yy) && es_lit(&k, " ") && es_hms(&k, &h, &mi, &sec) &&
           es_lit(&k, " GMT") && k.p == k.end))
        return ES_EPARSE;
      /* RFC 9110: a two-digit year more than 50 years in the future is in the past century;
         without a clock here, use the fixed pivot 70 (like curl). */
      year = yy < 70 ? 2000 + yy : 1900 + yy;
      parsed = 1;
    }
  }
  for(i = 0; i < 7 && !parsed; i++) {
    struct es_cur k = c;
    if(!es_lit(&k, es_wdays[i]))
      continue;
    if(es_lit(&k, ", ")) {
      /* IMF-fixdate */
      if(!(es_num(&k, 2, &day) && es_lit(&k, " ") && es_month(&k, &mon) && es_lit(&k, " ") &&
           es_num(&k, 4, &year) && es_lit(&k, " ") && es_hms(&k, &h, &mi, &sec) &&
           es_lit(&k, " GMT") && k.p == k.end))
        return ES_EPARSE;
      parsed = 1;
    }
    else if(es_lit(&k, " ")) {
      /* asctime: "Sun Nov  6 08:49:37 1994" (day padded with a space) */
      if(!(es_month(&k, &mon) && es_lit(&k, " ")))
        return ES_EPARSE;
      if(k.p < k.end && *k.p == ' ') {
        k.p++;
        if(!es_num(&k, 1, &day))
          return ES_EPARSE;
      }
      else if(!es_num(&k, 2, &day))
        return ES_EPARSE;
      if(!(es_lit(&k, " ") && es_hms(&k, &h, &mi, &sec) && es_lit(&k, " ") &&
           es_num(&k, 4, &year) && k.p == k.end))
        return ES_EPARSE;
      parsed = 1;
    }
    else
      return ES_EPARSE;
  }
  if(!parsed)
    return ES_EPARSE;
  if(mon < 1 || mon > 12 || day < 1 || day > es_days_in_month(year, mon) || h > 23 ||
     mi > 59 || sec > 60)
    return ES_EPARSE;
  if(sec == 60)
    sec = 59;
  days = es_days_from_civil(year, mon, day);
  t = days * 86400LL + h * 3600LL + mi * 60LL + sec;
  if(sizeof(time_t) < 8 && (t > 2147483647LL || t < -2147483647LL - 1))
    return ES_EPARSE;
  *out = (time_t)t;
  return ES_OK;
}

void es_httpdate_format(time_t t, char out[30])
{
  long long tt = (long long)t, days, secs, z, era, doe, yoe, y, doy, mp, d, m;
  int wday;
  days = tt / 86400;
  secs = tt % 86400;
  if(secs < 0) {
    secs += 86400;
    days--;
  }
  wday = (int)((days % 7 + 11) % 7);   /* 1970-01-01 was a Thursday */
  /* civil_from_days (Hinnant) */
  z = days + 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = yoe + era * 400;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  if(y < 0 || y > 9999) {
    /* Outside what the 4-digit form can carry: clamp to a well-formed string. */
    snprintf(out, 30, "Thu, 01 Jan 1970 00:00:00 GMT");
    return;
  }
  snprintf(out, 30, "%s, %02d %s %04d %02d:%02d:%02d GMT", es_wdays[wday], (int)d,
           es_months[m - 1], (int)y, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}
