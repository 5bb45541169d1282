/*
 * awserror.h: the error shape of an AWS response, for every protocol the
 * project speaks, detected from the response itself:
 *
 *   rest-json (EKS)   x-amzn-ErrorType header "Code:..." (after any "ns#"), else
 *                     the body's code / Code / __type; message / Message
 *   json-1.1 (Orgs)   body __type "ns#Code"; message / Message
 *   EC2 query XML     <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>
 *   query XML (STS)   <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>
 *
 * The request id comes from x-amzn-RequestId / x-amz-request-id, else the body.
 * awsQueryCompatible services may send x-amzn-query-error: "Code;Sender", which
 * wins over everything (it is the code the Query protocol would have sent).
 *
 * Malformed bodies yield an empty code (the HTTP status still tells). A fuzz
 * target: no input may crash it; DOCTYPEs are refused (no entity expansion).
 */
#ifndef ES_AWSERROR_H
#define ES_AWSERROR_H

#include <stddef.h>

#include "es_types.h"   /* struct es_header */

struct es_aws_error {
  char code[128];        /* "" when none */
  char message[512];
  char request_id[128];
  char type[16];         /* query XML <Type>: "Sender" | "Receiver", else "" */
};

/* Parse. Fields not found are "". Over-long values are truncated (at a UTF-8
   boundary). Returns ES_OK, or ES_EINVAL when out is NULL. headers may be NULL
   with n_headers 0; body may be NULL with body_len 0. */
int es_aws_error_parse(const struct es_header *headers, size_t n_headers,
                       const char *body, size_t body_len, struct es_aws_error *out);

#endif
