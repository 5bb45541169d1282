/* test_awserror.c: AWS error shapes of every protocol, and robustness on junk. */
#include <stdlib.h>
#include <string.h>

#include "awserror.h"
#include "es_error.h"
#include "tap.h"

#define H(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}

static void parse(const struct es_header *h, size_t nh, const char *body, struct es_aws_error *e)
{
  es_aws_error_parse(h, nh, body, body ? strlen(body) : 0, e);
}

static void test_rest_json(void)
{
  struct es_aws_error e;
  struct es_header h1[] = {
    H("x-amzn-RequestId", "req-123"),
    H("x-amzn-ErrorType", "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.eks/"),
  };
  struct es_header h2[] = {H("X-AMZN-ERRORTYPE", "aws.eks#InvalidParameterException:http://x/")};

  parse(h1, 2, "{\"message\":\"No cluster found for name: demo.\",\"clusterName\":\"demo\"}", &e);
  is_str(e.code, "ResourceNotFoundException", "EKS code from x-amzn-ErrorType, before ':'");
  is_str(e.message, "No cluster found for name: demo.", "EKS message");
  is_str(e.request_id, "req-123", "request id from x-amzn-RequestId");
  parse(h2, 1, "{\"Message\":\"bad\",\"code\":\"Other\"}", &e);
  is_str(e.code, "InvalidParameterException", "header wins; namespace# stripped, case-insensitive name");
  is_str(e.message, "bad", "Message (capitalised)");
  parse(NULL, 0, "{\"code\":\"ResourceInUseException\",\"message\":\"in use\"}", &e);
  is_str(e.code, "ResourceInUseException", "body code when no header");
  parse(NULL, 0, "{\"Code\":\"X#Y:z\",\"message\":\"m\"}", &e);
  is_str(e.code, "Y", "body Code normalised like the header");
  parse(NULL, 0, "{\"message\":\"only a message\"}", &e);
  is_str(e.code, "", "no code anywhere: empty");
  is_str(e.message, "only a message", "message still read");
}

static void test_json11(void)
{
  struct es_aws_error e;
  struct es_header h[] = {H("x-amz-request-id", "rid-9")};
  parse(h, 1,
        "{\"__type\":\"com.amazonaws.organizations.model#AWSOrganizationsNotInUseException\","
        "\"Message\":\"Your account is not a member of an organization.\"}",
        &e);
  is_str(e.code, "AWSOrganizationsNotInUseException", "json-1.1 __type after '#'");
  is_str(e.message, "Your account is not a member of an organization.", "json-1.1 Message");
  is_str(e.request_id, "rid-9", "request id from x-amz-request-id");
  parse(NULL, 0, "{\"__type\":\"TooManyRequestsException\",\"message\":\"slow down\"}", &e);
  is_str(e.code, "TooManyRequestsException", "__type without namespace");
}

static void test_xml(void)
{
  struct es_aws_error e;
  struct es_header hq[] = {H("x-amzn-query-error", "Throttling;Sender")};

  parse(NULL, 0,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>InvalidSubnetID.NotFound"
        "</Code><Message>The subnet ID 'subnet-1' does not exist</Message></Error></Errors>"
        "<RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>",
        &e);
  is_str(e.code, "InvalidSubnetID.NotFound", "EC2 code");
  is_str(e.message, "The subnet ID 'subnet-1' does not exist", "EC2 message");
  is_str(e.request_id, "ea966190-f9aa-478e-9ede-example", "EC2 RequestID");

  parse(NULL, 0,
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n"
        "    <Type>Sender</Type>\n    <Code>SignatureDoesNotMatch</Code>\n"
        "    <Message>Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z"
        " (20150830T124600Z - 5 min.)</Message>\n  </Error>\n"
        "  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n</ErrorResponse>",
        &e);
  is_str(e.code, "SignatureDoesNotMatch", "query code");
  is_str(e.type, "Sender", "query type");
  ok(strncmp(e.message, "Signature expired: ", 19) == 0, "query message");
  is_str(e.request_id, "c6104cbe-af31-11e0-8154-cbc7ccf896c7", "query RequestId, trimmed");

  parse(NULL, 0, "<Error><Code>NoSuchKey</Code><Message>m</Message><RequestId>r1</RequestId></Error>", &e);
  is_str(e.code, "NoSuchKey", "S3-style bare <Error>");
  is_str(e.request_id, "r1", "S3-style request id");

  parse(NULL, 0, "<a:ErrorResponse xmlns:a=\"x\"><a:Error><a:Code>P</a:Code></a:Error></a:ErrorResponse>", &e);
  is_str(e.code, "P", "namespace prefixes ignored");

  parse(NULL, 0, "<Response><Code>NotInError</Code></Response>", &e);
  is_str(e.code, "", "Code outside <Error> ignored");

  parse(NULL, 0, "<Response><Errors><Error><Code>A&amp;B</Code></Error></Errors></Response>", &e);
  is_str(e.code, "A&B", "entities decoded");

  parse(hq, 1, "<ErrorResponse><Error><Code>Other</Code></Error></ErrorResponse>", &e);
  is_str(e.code, "Throttling", "x-amzn-query-error wins");
  is_str(e.type, "Sender", "x-amzn-query-error type");
}

static void test_malformed(void)
{
  struct es_aws_error e;
  struct es_header h[] = {H("x-amzn-ErrorType", "ThrottlingException")};
  struct es_header hbad[] = {{"x-amzn-ErrorType", 16, NULL, 0}, {NULL, 0, NULL, 0}};
  static const char *const junk[] = {
    "", " ", "{", "{\"code\":", "{\"code\":5,\"message\":[1]}", "[1,2]", "<", "<Response>",
    "<Response><Errors><Error><Code>X</Code>",
    "<Response><Errors><Error><Code>X</Code></Error></Errors></Respons>",
    "<!DOCTYPE r [<!ENTITY a \"aaaa\">]><Response><Errors><Error><Code>&a;</Code></Error></Errors></Response>",
    "\xff\xfe<\x00R", "plain text error", "null", "{\"__type\":null}",
    "<?xml version=\"1.0\"?>", "<a><b><c><d><e><f><g><h><i><j><k><l><m><n><o><p><q><r><s><Error><Code>deep</Code></Error></s></r></q></p></o></n></m></l></k></j></i></h></g></f></e></d></c></b></a>"
  };
  size_t i;
  int bad = 0;
  char big[2000];

  for(i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
    parse(NULL, 0, junk[i], &e);
    if(strcmp(junk[i], junk[sizeof(junk) / sizeof(junk[0]) - 1]) == 0)
      continue;   /* the deep one is well-formed */
    if(e.code[0])
      bad++, diag("junk %zu gave code '%s'", i, e.code);
  }
  ok(bad == 0, "malformed bodies give an empty code");
  parse(NULL, 0, junk[sizeof(junk) / sizeof(junk[0]) - 1], &e);
  is_str(e.code, "deep", "deeply nested <Error> still found");

  parse(h, 1, "{not json", &e);
  is_str(e.code, "ThrottlingException", "header code survives a malformed body");
  ok(es_aws_error_parse(hbad, 2, NULL, 5, &e) == ES_OK && e.code[0] == '\0',
     "NULL header values and NULL body are safe");
  ok(es_aws_error_parse(NULL, 0, NULL, 0, NULL) == ES_EINVAL, "NULL out is EINVAL");

  memset(big, 'A', sizeof(big));
  memcpy(big, "{\"code\":\"", 9);
  memcpy(big + sizeof(big) - 3, "\"}", 3);
  parse(NULL, 0, big, &e);
  ok(strlen(e.code) == sizeof(e.code) - 1, "over-long code truncated to %zu", sizeof(e.code) - 1);
  {
    /* truncation never splits a UTF-8 sequence */
    char u[600];
    size_t k, n = 0;
    n += (size_t)sprintf(u, "{\"message\":\"");
    for(k = 0; k < 200; k++) {
      memcpy(u + n, "\xc3\xa9", 2);   /* U+00E9 */
      n += 2;
    }
    memcpy(u + n, "x\"}", 4);
    parse(NULL, 0, u, &e);
    ok(strlen(e.message) == 400 + 1 && e.message[400] == 'x', "fits: kept whole");
  }
  {
    char u[1200];
    size_t k, n = 0;
    n += (size_t)sprintf(u, "{\"message\":\"");
    for(k = 0; k < 500; k++) {
      memcpy(u + n, "\xc3\xa9", 2);
      n += 2;
    }
    memcpy(u + n, "\"}", 3);
    parse(NULL, 0, u, &e);
    ok(strlen(e.message) == 510, "truncated at a character boundary (%zu)", strlen(e.message));
  }
  {
    /* random bytes: must not crash (ASan/valgrind watch) */
    unsigned s = 12345;
    char buf[512];
    int r;
    for(r = 0; r < 3000; r++) {
      size_t len = (size_t)(r % 500), k;
      for(k = 0; k < len; k++) {
        s = s * 1103515245u + 12345u;
        buf[k] = "<>{}\"/:#ErrorCodeMsag \x80\xc3"[(s >> 16) % 24];
      }
      if(len)
        buf[0] = r & 1 ? '<' : '{';
      es_aws_error_parse(NULL, 0, buf, len, &e);
    }
    ok(1, "3000 random bodies parsed without crashing");
  }
}

int main(void)
{
  test_rest_json();
  test_json11();
  test_xml();
  test_malformed();
  return done_testing();
}
