/* es_version.c: the version string (see es_version.h). */
#include "es_version.h"

const char *es_version(void)
{
  return ES_VERSION;
}
