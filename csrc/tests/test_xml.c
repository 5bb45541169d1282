/*
 * test_xml.c: the XML decoder (csrc/core/xml.c) against the wire fixtures in
 * spec/fixtures/wire/ and generated hostile / large inputs. Run from the repo root.
 */
#include "es_buf.h"
#include "es_error.h"
#include "tap.h"
#include "xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURES "spec/fixtures/wire/"

static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  struct es_buf b = ES_BUF_INIT;
  char tmp[4096];
  size_t n;
  if(!f)
    return NULL;
  while((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
    if(es_buf_append(&b, tmp, n)) {
      fclose(f);
      es_buf_free(&b);
      return NULL;
    }
  }
  fclose(f);
  if(!b.data && es_buf_append(&b, "", 0))
    return NULL;
  *len = b.len;
  return b.data;
}

/* Parse a fixture with the default limits; NULL on failure (with a diagnostic). */
static struct es_xml_doc *load(const char *name)
{
  char path[512];
  char err[256];
  size_t len = 0;
  char *data;
  struct es_xml_doc *d = NULL;
  int rc;
  snprintf(path, sizeof(path), FIXTURES "%s", name);
  data = slurp(path, &len);
  if(!data) {
    diag("cannot read %s", path);
    return NULL;
  }
  rc = es_xml_parse(data, len, NULL, &d, err, sizeof(err));
  free(data);
  if(rc != ES_OK) {
    diag("%s: rc=%d %s", name, rc, err);
    return NULL;
  }
  return d;
}

/* Follow a '/'-separated path of child names; a segment "name[N]" picks the Nth
   (0-based) child with that name. */
static const struct es_xml_node *at(const struct es_xml_node *n, const char *path)
{
  char seg[128];
  while(n && *path) {
    const char *slash = strchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : strlen(path);
    char *br;
    long idx = 0;
    const struct es_xml_node *c;
    if(len >= sizeof(seg))
      return NULL;
    memcpy(seg, path, len);
    seg[len] = '\0';
    br = strchr(seg, '[');
    if(br) {
      idx = strtol(br + 1, NULL, 10);
      *br = '\0';
    }
    c = n->first_child;
    while(c && (strcmp(c->name, seg) != 0 || idx-- != 0))
      c = c->next_sibling;
    n = c;
    path = slash ? slash + 1 : path + len;
  }
  return n;
}

static const char *text_at(const struct es_xml_node *n, const char *path)
{
  n = at(n, path);
  return n ? n->text : NULL;
}

/* Compact structural dump: name(child,child) for parents, name=text for leaves. */
static void dump(const struct es_xml_node *n, struct es_buf *out)
{
  const struct es_xml_node *c;
  es_buf_puts(out, n->name);
  if(n->first_child) {
    es_buf_putc(out, '(');
    for(c = n->first_child; c; c = c->next_sibling) {
      dump(c, out);
      if(c->next_sibling)
        es_buf_putc(out, ',');
    }
    es_buf_putc(out, ')');
  }
  else if(n->text_len) {
    es_buf_putc(out, '=');
    es_buf_append(out, n->text, n->text_len);
  }
}

/* Check invariants on a whole tree without recursion: n_children matches the
   sibling list, parents have text "", text_len matches strlen. */
static int tree_consistent(const struct es_xml_doc *d)
{
  const struct es_xml_node **stack;
  size_t sp = 0, seen = 0, cap = es_xml_node_count(d) + 1;
  int good = 1;
  stack = malloc(cap * sizeof(*stack));
  if(!stack)
    return 0;
  stack[sp++] = es_xml_root(d);
  while(sp) {
    const struct es_xml_node *n = stack[--sp], *c;
    size_t k = 0;
    seen++;
    if(!n->name || !n->text || strlen(n->text) != n->text_len)
      good = 0;
    for(c = n->first_child; c; c = c->next_sibling) {
      k++;
      if(sp < cap)
        stack[sp++] = c;
      else
        good = 0;
    }
    if(k != n->n_children || (k && n->text_len))
      good = 0;
  }
  free(stack);
  return good && seen == es_xml_node_count(d);
}

static int parse_str(const char *s, const struct es_xml_limits *lim, struct es_xml_doc **d,
                     char *err, size_t errlen)
{
  return es_xml_parse(s, strlen(s), lim, d, err, errlen);
}

/* ---- fixtures ------------------------------------------------------------- */

static void test_all_fixtures_parse(void)
{
  static const char *const names[] = {
    "ec2-DescribeRouteTables-response.xml", "ec2-DescribeSubnets-response.xml",
    "ec2-error-response.xml", "ec2-throttle-error-response.xml",
    "sts-AssumeRole-response.xml", "sts-GetCallerIdentity-response.xml",
    "sts-error-response.xml", "ec2-DescribeVpcEndpoints-nested-sets.xml",
    "ec2-DescribeSecurityGroups-nested-sets.xml", "ec2-DescribeSubnets-empty-sets.xml",
    "ec2-DescribeNatGateways-entities-cdata.xml", "ec2-latin1-encoding.xml",
    "sts-GetCallerIdentity-prefixed-ns.xml", "iam-ListRoles-members.xml",
    "deep-nesting-64.xml",
  };
  size_t i;
  for(i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    struct es_xml_doc *d = load(names[i]);
    ok(d && es_xml_root(d) && tree_consistent(d), "fixture %s parses into a consistent tree",
       names[i]);
    es_xml_free(d);
  }
}

static void test_describe_subnets(void)
{
  struct es_xml_doc *d = load("ec2-DescribeSubnets-response.xml");
  const struct es_xml_node *r = es_xml_root(d), *set, *item;
  if(!ok(d != NULL, "DescribeSubnets parses"))
    return;
  is_str(r->name, "DescribeSubnetsResponse", "root name without namespace URI");
  ok(r->text_len == 0 && strcmp(r->text, "") == 0, "root with children has empty text");
  is_str(text_at(r, "requestId"), "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE", "requestId");
  set = es_xml_child(r, "subnetSet");
  ok(set && set->n_children == 2, "subnetSet has 2 items");
  item = set ? set->first_child : NULL;
  ok(item && strcmp(item->name, "item") == 0, "first subnetSet child is <item>");
  is_str(text_at(item, "subnetId"), "subnet-0aaa1111bbbb2222c", "first subnetId");
  is_str(text_at(item, "availableIpAddressCount"), "250", "availableIpAddressCount as text");
  is_str(text_at(item, "tagSet/item[0]/key"), "kubernetes.io/role/internal-elb", "tag 0 key");
  is_str(text_at(item, "tagSet/item[0]/value"), "1", "tag 0 value");
  is_str(text_at(item, "tagSet/item[1]/key"), "Name", "tag 1 key");
  is_str(text_at(item, "tagSet/item[1]/value"), "private-a", "tag 1 value");
  ok(at(item, "ipv6CidrBlockAssociationSet") &&
     at(item, "ipv6CidrBlockAssociationSet")->n_children == 0 &&
     at(item, "ipv6CidrBlockAssociationSet")->text_len == 0, "self-closing empty set");
  is_str(text_at(r, "subnetSet/item[1]/subnetId"), "subnet-0ddd3333eeee4444f", "second subnetId");
  is_str(text_at(r, "subnetSet/item[1]/mapPublicIpOnLaunch"), "true", "second subnet boolean");
  ok(at(r, "subnetSet/item[1]/tagSet") && at(r, "subnetSet/item[1]/tagSet")->n_children == 0,
     "second subnet has an empty tagSet");
  ok(es_xml_child(r, "nextToken") == NULL, "no nextToken in a single page");
  ok(es_xml_node_count(d) == 34, "node count (%zu)", es_xml_node_count(d));
  es_xml_free(d);
}

static void test_describe_route_tables(void)
{
  struct es_xml_doc *d = load("ec2-DescribeRouteTables-response.xml");
  const struct es_xml_node *r = es_xml_root(d);
  if(!ok(d != NULL, "DescribeRouteTables parses"))
    return;
  is_str(text_at(r, "nextToken"), "eyJ2IjoiMSIsImMiOiJhYmMvZGVmK2doaT0ifQ==", "nextToken");
  is_str(text_at(r, "routeTableSet/item/routeTableId"), "rtb-0123456789abcdef0", "routeTableId");
  ok(at(r, "routeTableSet/item/routeSet")->n_children == 2, "two routes");
  is_str(text_at(r, "routeTableSet/item/routeSet/item[0]/gatewayId"), "local", "local route");
  is_str(text_at(r, "routeTableSet/item/routeSet/item[1]/natGatewayId"), "nat-0abc1234def567890",
         "NAT route");
  is_str(text_at(r, "routeTableSet/item/associationSet/item/associationState/state"), "associated",
         "associationState/state");
  is_str(text_at(r, "routeTableSet/item/associationSet/item/main"), "false", "association main");
  ok(at(r, "routeTableSet/item/propagatingVgwSet")->n_children == 0, "empty propagatingVgwSet");
  es_xml_free(d);
}

static void test_sts(void)
{
  struct es_xml_doc *d = load("sts-AssumeRole-response.xml");
  const struct es_xml_node *r = es_xml_root(d), *cr;
  if(ok(d != NULL, "AssumeRole parses")) {
    cr = at(r, "AssumeRoleResult/Credentials");
    ok(cr && cr->n_children == 4, "Credentials has 4 fields");
    is_str(text_at(cr, "AccessKeyId"), "ASIAEXAMPLEACCESSKEY", "AccessKeyId");
    /* Compare secrets without printing them on mismatch. */
    ok(text_at(cr, "SecretAccessKey") &&
       strcmp(text_at(cr, "SecretAccessKey"), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY") == 0,
       "SecretAccessKey");
    ok(text_at(cr, "SessionToken") &&
       strcmp(text_at(cr, "SessionToken"), "FQoGZXIvYXdzEXAMPLEsessiontoken/with+slash==") == 0,
       "SessionToken");
    is_str(text_at(cr, "Expiration"), "2015-08-30T13:36:00Z", "Expiration");
    is_str(text_at(r, "AssumeRoleResult/AssumedRoleUser/Arn"),
           "arn:aws:sts::123456789012:assumed-role/demo/lua-session", "AssumedRoleUser/Arn");
    is_str(text_at(r, "ResponseMetadata/RequestId"), "c6104cbe-af31-11e0-8154-cbc7ccf896c7",
           "ResponseMetadata/RequestId");
  }
  es_xml_free(d);

  d = load("sts-GetCallerIdentity-response.xml");
  r = es_xml_root(d);
  if(ok(d != NULL, "GetCallerIdentity parses")) {
    is_str(text_at(r, "GetCallerIdentityResult/Account"), "123456789012", "Account");
    is_str(text_at(r, "GetCallerIdentityResult/UserId"), "AROAEXAMPLEROLEID1234:lua-session",
           "UserId");
  }
  es_xml_free(d);
}

static void test_errors(void)
{
  struct es_xml_doc *d = load("ec2-error-response.xml");
  const struct es_xml_node *r = es_xml_root(d);
  struct es_buf b = ES_BUF_INIT;
  if(ok(d != NULL, "EC2 error parses")) {
    is_str(r->name, "Response", "EC2 error root");
    is_str(text_at(r, "Errors/Error/Code"), "InvalidSubnetID.NotFound", "EC2 error Code");
    is_str(text_at(r, "Errors/Error/Message"),
           "The subnet ID 'subnet-00000000000000000' does not exist", "EC2 error Message");
    is_str(text_at(r, "RequestID"), "ea966190-f9aa-478e-9ede-example", "EC2 error RequestID");
  }
  es_xml_free(d);

  d = load("ec2-throttle-error-response.xml");
  if(ok(d != NULL, "EC2 throttle error parses")) {
    dump(es_xml_root(d), &b);
    is_str(b.data, "Response(Errors(Error(Code=RequestLimitExceeded,Message=Request limit "
                   "exceeded.)),RequestID=5f0c9e3a-0000-4000-8000-example)",
           "EC2 throttle error, whole structure");
  }
  es_xml_free(d);
  es_buf_free(&b);

  d = load("sts-error-response.xml");
  r = es_xml_root(d);
  if(ok(d != NULL, "STS error parses")) {
    is_str(r->name, "ErrorResponse", "STS error root");
    is_str(text_at(r, "Error/Type"), "Sender", "STS error Type");
    is_str(text_at(r, "Error/Code"), "SignatureDoesNotMatch", "STS error Code");
    is_str(text_at(r, "RequestId"), "4b5a8a3e-0000-4000-8000-example", "STS error RequestId");
  }
  es_xml_free(d);
}

static void test_nested_and_empty_sets(void)
{
  struct es_xml_doc *d = load("ec2-DescribeVpcEndpoints-nested-sets.xml");
  const struct es_xml_node *r = es_xml_root(d), *n;
  if(ok(d != NULL, "DescribeVpcEndpoints parses")) {
    n = at(r, "vpcEndpointSet/item[0]/subnetIdSet");
    ok(n && n->n_children == 2, "string list has 2 items");
    is_str(text_at(n, "item[0]"), "subnet-0aaa1111bbbb2222c", "string list item 0 is text");
    is_str(text_at(n, "item[1]"), "subnet-0ddd3333eeee4444f", "string list item 1 is text");
    is_str(text_at(r, "vpcEndpointSet/item[0]/groupSet/item/groupName"), "endpoints",
           "groupSet item is a structure");
    is_str(text_at(r, "vpcEndpointSet/item[1]/routeTableIdSet/item"), "rtb-0123456789abcdef0",
           "single-item string list");
    n = at(r, "vpcEndpointSet/item[1]/subnetIdSet");
    ok(n && n->n_children == 0 && n->text_len == 0, "empty string list");
  }
  es_xml_free(d);

  d = load("ec2-DescribeSecurityGroups-nested-sets.xml");
  r = es_xml_root(d);
  if(ok(d != NULL, "DescribeSecurityGroups parses")) {
    is_str(text_at(r, "securityGroupInfo/item/ipPermissions/item/groups/item/groupId"),
           "sg-0fedcba9876543210", "set in item in set in item in set");
    is_str(text_at(r, "securityGroupInfo/item/ipPermissions/item/ipRanges/item[1]/cidrIp"),
           "192.168.0.0/24", "second ipRange");
    is_str(text_at(r, "securityGroupInfo/item/ipPermissionsEgress/item/ipProtocol"), "-1",
           "egress protocol");
  }
  es_xml_free(d);

  d = load("ec2-DescribeSubnets-empty-sets.xml");
  r = es_xml_root(d);
  if(ok(d != NULL, "empty-set response parses")) {
    n = es_xml_child(r, "subnetSet");
    /* Faithful structure: an empty set written across lines is a leaf whose text is
       the whitespace; the Lua layer treats a set with no children as an empty list. */
    ok(n && n->n_children == 0 && n->first_child == NULL, "empty set has no children");
    is_str(n ? n->text : NULL, "\n    ", "empty set keeps its whitespace text (leaf)");
    n = es_xml_child(r, "nextToken");
    ok(n && n->text_len == 0 && strcmp(n->text, "") == 0, "empty nextToken is \"\"");
  }
  es_xml_free(d);

  d = load("iam-ListRoles-members.xml");
  r = es_xml_root(d);
  if(ok(d != NULL, "IAM ListRoles parses")) {
    ok(at(r, "ListRolesResult/Roles")->n_children == 2, "two <member> elements");
    is_str(text_at(r, "ListRolesResult/Roles/member[1]/RoleName"), "node-role", "member[1]");
    is_str(text_at(r, "ListRolesResult/Roles/member[0]/Tags/member/Value"), "platform",
           "nested member list");
  }
  es_xml_free(d);
}

/* Transcoded text may be longer than the input: the default max_bytes allows it. */
static void test_transcoding_growth(void)
{
  struct es_buf b = ES_BUF_INIT;
  struct es_xml_doc *d = NULL;
  char err[256];
  size_t i;
  int rc, good;
  static const unsigned char u16[] = {
    0xff, 0xfe, '<', 0, 'a', 0, '>', 0, 0xe5, 0x65, 0x2c, 0x67, 0x9e, 0x8a,
    '<', 0, '/', 0, 'a', 0, '>', 0};

  es_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>");
  for(i = 0; i < 1000; i++)
    es_buf_putc(&b, (char)0xe9);
  es_buf_puts(&b, "</a>");
  rc = es_xml_parse(b.data, b.len, NULL, &d, err, sizeof(err));
  good = rc == ES_OK && es_xml_root(d)->text_len == 2000;
  for(i = 0; good && i < 1000; i++)
    good = memcmp(es_xml_root(d)->text + 2 * i, "\xc3\xa9", 2) == 0;
  ok(good, "1000 ISO-8859-1 bytes decode to 2000 UTF-8 bytes within default limits (%s)",
     rc ? err : "ok");
  es_xml_free(d);
  d = NULL;
  es_buf_free(&b);

  rc = es_xml_parse((const char *)u16, sizeof(u16), NULL, &d, err, sizeof(err));
  is_str(rc == ES_OK ? es_xml_root(d)->text : err, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
         "UTF-16LE with BOM decoded to UTF-8");
  es_xml_free(d);
}

static void test_entities_cdata_whitespace(void)
{
  struct es_xml_doc *d = load("ec2-DescribeNatGateways-entities-cdata.xml");
  const struct es_xml_node *tags = at(es_xml_root(d), "natGatewaySet/item/tagSet");
  if(!ok(d != NULL && tags != NULL, "entities/CDATA response parses"))
    return;
  is_str(text_at(tags, "item[0]/value"), "R&D <net> \"team\" 'a'", "predefined entities");
  is_str(text_at(tags, "item[1]/value"), "caf\xc3\xa9 \xe2\x98\xba \xe6\x97\xa5\xe6\x9c\xac",
         "character references and raw UTF-8");
  is_str(text_at(tags, "item[2]/value"), "if a < b && c > d then \"x\" end", "CDATA verbatim");
  is_str(text_at(tags, "item[3]/value"), "pre-<raw>-&-post", "text + CDATA + entity concatenated");
  is_str(text_at(tags, "item[4]/value"), "  two  inner   spaces\nsecond line\ttab  ",
         "leaf whitespace kept exactly");
  is_str(text_at(tags, "item[5]/value"), "   ", "whitespace-only leaf kept");
  ok(at(tags, "item[6]/value") && at(tags, "item[6]/value")->text_len == 0,
     "<value></value> is \"\"");
  es_xml_free(d);

  d = load("ec2-latin1-encoding.xml");
  is_str(d ? text_at(es_xml_root(d), "Value") : NULL, "caf\xc3\xa9", "ISO-8859-1 decoded to UTF-8");
  es_xml_free(d);
}

static void test_namespaces(void)
{
  struct es_xml_doc *d = load("sts-GetCallerIdentity-prefixed-ns.xml");
  const struct es_xml_node *r = es_xml_root(d);
  struct es_buf b = ES_BUF_INIT;
  if(!ok(d != NULL, "prefixed-namespace response parses"))
    return;
  dump(r, &b);
  is_str(b.data,
         "GetCallerIdentityResponse(GetCallerIdentityResult(Arn=arn:aws:iam::123456789012:user/"
         "prefixed,UserId=AIDAEXAMPLEUSERID0001,Account=123456789012),ResponseMetadata(RequestId="
         "11111111-2222-4333-8444-555555555555))",
         "prefixes and URIs stripped; comments, PIs, attributes ignored");
  es_buf_free(&b);
  es_xml_free(d);
}

static void test_mixed_content(void)
{
  struct es_xml_doc *d = NULL;
  struct es_buf b = ES_BUF_INIT;
  int rc = parse_str("<a>x<b>y</b>z<c> </c>w</a>", NULL, &d, NULL, 0);
  if(ok(rc == ES_OK, "mixed content parses")) {
    dump(es_xml_root(d), &b);
    is_str(b.data, "a(b=y,c= )", "parent text dropped, leaf text kept");
    ok(es_xml_root(d)->text_len == 0, "parent with mixed content has text \"\"");
  }
  es_buf_free(&b);
  es_xml_free(d);
}

/* ---- failures ------------------------------------------------------------- */

static void expect_fail_str(const char *label, const char *data, size_t len,
                            const struct es_xml_limits *lim, int want_rc, const char *want_msg)
{
  struct es_xml_doc *d = (struct es_xml_doc *)&d;  /* must be reset to NULL */
  char err[256];
  int rc = es_xml_parse(data, len, lim, &d, err, sizeof(err));
  ok(rc == want_rc && d == NULL, "%s -> %s", label, es_errname(want_rc));
  if(rc != want_rc)
    diag("rc=%d err=%s", rc, err);
  ok(err[0] != '\0' && (!want_msg || strstr(err, want_msg)), "%s: message '%s'", label, err);
  if(rc == ES_OK)
    es_xml_free(d);
}

static void expect_fail_file(const char *name, int want_rc, const char *want_msg)
{
  char path[512];
  size_t len = 0;
  char *data;
  snprintf(path, sizeof(path), FIXTURES "%s", name);
  data = slurp(path, &len);
  if(!ok(data != NULL, "read %s", name))
    return;
  expect_fail_str(name, data, len, NULL, want_rc, want_msg);
  free(data);
}

static void test_malformed(void)
{
  expect_fail_file("hostile/truncated.xml", ES_EPARSE, "line 1, column");
  expect_fail_file("hostile/mismatched-tags.xml", ES_EPARSE, "mismatched tag");
  expect_fail_file("hostile/garbage.xml", ES_EPARSE, "XML parse error at line 1");
  expect_fail_file("hostile/two-roots.xml", ES_EPARSE, "junk after document element");
  expect_fail_file("hostile/undefined-entity.xml", ES_EPARSE, "undefined entity");
  expect_fail_file("hostile/unbound-prefix.xml", ES_EPARSE, "unbound prefix");
  expect_fail_str("empty input", "", 0, NULL, ES_EPARSE, "no element found");
  expect_fail_str("NULL input of length 0", NULL, 0, NULL, ES_EPARSE, "no element found");
  expect_fail_str("whitespace only", "  \n ", 4, NULL, ES_EPARSE, NULL);
  expect_fail_str("embedded NUL", "<a>x\0y</a>", 10, NULL, ES_EPARSE, NULL);
  expect_fail_str("invalid UTF-8", "<a>\xff\xfe</a>", 9, NULL, ES_EPARSE, NULL);
  expect_fail_str("unknown encoding", "<?xml version=\"1.0\" encoding=\"EBCDIC-XX\"?><a/>", 45,
                  NULL, ES_EPARSE, "encoding");
  expect_fail_str("mismatch position", "<a>\n  <b></c>\n</a>", 18, NULL, ES_EPARSE,
                  "line 2, column 8");
  expect_fail_str("&#0; is not a character", "<a>&#0;</a>", 11, NULL, ES_EPARSE, NULL);
}

static void test_hostile(void)
{
  expect_fail_file("hostile/billion-laughs.xml", ES_EPARSE, "DOCTYPE declarations are not allowed");
  expect_fail_file("hostile/xxe-external-entity.xml", ES_EPARSE, "DOCTYPE");
  expect_fail_file("hostile/xxe-external-dtd.xml", ES_EPARSE, "DOCTYPE");
  expect_fail_file("hostile/parameter-entity.xml", ES_EPARSE, "DOCTYPE");
  expect_fail_str("bare DOCTYPE", "<!DOCTYPE a><a/>", 16, NULL, ES_EPARSE, "line 1, column 12:");
}

static void test_secret_not_in_message(void)
{
  static const char body[] =
    "<AssumeRoleResponse><AssumeRoleResult><Credentials><SecretAccessKey>"
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzTOPSECRET</SecretAccessKey><SessionToken>TOKENSECRET";
  static const char body2[] =
    "<Credentials><SecretAccessKey>wJalrXUtnFEMI/TOPSECRET</SecretAccessKeyX></Credentials>";
  char err[512];
  struct es_xml_doc *d = NULL;
  int rc = parse_str(body, NULL, &d, err, sizeof(err));
  ok(rc == ES_EPARSE && !strstr(err, "SECRET") && !strstr(err, "Secret"),
     "truncated credentials: message quotes no content (%s)", err);
  rc = parse_str(body2, NULL, &d, err, sizeof(err));
  ok(rc == ES_EPARSE && !strstr(err, "SECRET") && !strstr(err, "Secret"),
     "mismatched credentials: message quotes no content (%s)", err);
}

static void test_limits(void)
{
  struct es_xml_limits lim;
  char path[] = FIXTURES "deep-nesting-65.xml";
  size_t len = 0;
  char *data = slurp(path, &len);
  struct es_xml_doc *d = NULL;
  char err[256];
  int rc;

  if(ok(data != NULL, "read deep-nesting-65.xml")) {
    expect_fail_str("65 levels with the default limit", data, len, NULL, ES_ERANGE,
                    "XML limit exceeded at line 1, column 311: elements nested deeper than 64 levels");
    memset(&lim, 0, sizeof(lim));
    lim.max_depth = 65;
    rc = es_xml_parse(data, len, &lim, &d, err, sizeof(err));
    ok(rc == ES_OK, "65 levels with max_depth 65");
    is_str(d ? text_at(es_xml_root(d), "d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/d13/d14/d15/d16/"
                                        "d17/d18/d19/d20/d21/d22/d23/d24/d25/d26/d27/d28/d29/d30/d31/"
                                        "d32/d33/d34/d35/d36/d37/d38/d39/d40/d41/d42/d43/d44/d45/d46/"
                                        "d47/d48/d49/d50/d51/d52/d53/d54/d55/d56/d57/d58/d59/d60/d61/"
                                        "d62/d63/d64")
                : NULL, "bottom", "deepest leaf text");
    es_xml_free(d);
    d = NULL;
    lim.max_depth = 3;
    expect_fail_str("custom max_depth 3", data, len, &lim, ES_ERANGE, "deeper than 3 levels");
    free(data);
  }

  memset(&lim, 0, sizeof(lim));
  lim.max_nodes = 3;
  expect_fail_str("max_nodes 3", "<a><b/><c/><d/></a>", 19, &lim, ES_ERANGE, "more than 3 elements");
  rc = parse_str("<a><b/><c/></a>", &lim, &d, err, sizeof(err));
  ok(rc == ES_OK && es_xml_node_count(d) == 3, "exactly max_nodes elements is fine");
  es_xml_free(d);
  d = NULL;

  memset(&lim, 0, sizeof(lim));
  lim.max_bytes = 8;
  expect_fail_str("max_bytes 8 (text)", "<a>0123456789</a>", 17, &lim, ES_ERANGE,
                  "exceeds 8 bytes");
  expect_fail_str("max_bytes 8 (names)", "<abcdefghij/>", 13, &lim, ES_ERANGE, "exceeds 8 bytes");
  rc = parse_str("<a>1234567</a>", &lim, &d, err, sizeof(err));
  ok(rc == ES_OK, "8 bytes of names + text fit max_bytes 8");
  es_xml_free(d);
  d = NULL;
  /* Whitespace between children is not kept, so only its longest single run (while
     it is collected) counts: here 3 bytes of names + runs of 2, though 9 in total. */
  rc = parse_str("<a>  <b/>  <c/>  </a>", &lim, &d, err, sizeof(err));
  ok(rc == ES_OK, "whitespace between children is not counted as kept (%s)", rc ? err : "ok");
  es_xml_free(d);
}

static void test_api_edges(void)
{
  struct es_xml_doc *d = (struct es_xml_doc *)&d;
  char err[8];
  char big[256];
  int rc;

  ok(es_xml_parse("<a/>", 4, NULL, NULL, big, sizeof(big)) == ES_EINVAL, "out NULL -> EINVAL");
  ok(es_xml_parse(NULL, 4, NULL, &d, big, sizeof(big)) == ES_EINVAL && d == NULL,
     "data NULL with len -> EINVAL, *out NULL");
  rc = es_xml_parse("<a>", 3, NULL, &d, NULL, 0);
  ok(rc == ES_EPARSE && d == NULL, "errbuf NULL is allowed");
  rc = es_xml_parse("<a>", 3, NULL, &d, err, sizeof(err));
  ok(rc == ES_EPARSE && strlen(err) == sizeof(err) - 1, "small errbuf is truncated, terminated");
  rc = es_xml_parse("<a>", 3, NULL, &d, err, 0);
  ok(rc == ES_EPARSE, "errlen 0 is allowed");
  ok(es_xml_root(NULL) == NULL && es_xml_node_count(NULL) == 0, "NULL doc accessors");
  ok(es_xml_child(NULL, "a") == NULL, "es_xml_child(NULL)");
  es_xml_free(NULL);
  rc = es_xml_parse("<a><b>1</b><c>2</c><b>3</b></a>", 31, NULL, &d, big, sizeof(big));
  if(ok(rc == ES_OK, "small doc parses")) {
    ok(es_xml_child(es_xml_root(d), NULL) == NULL, "es_xml_child(n, NULL)");
    is_str(es_xml_child(es_xml_root(d), "b")->text, "1", "es_xml_child finds the first match");
    ok(es_xml_child(es_xml_root(d), "z") == NULL, "es_xml_child miss");
    ok(es_xml_root(d)->next_sibling == NULL, "root has no sibling");
  }
  es_xml_free(d);
  /* Input need not be NUL-terminated: parse a prefix of a longer buffer. */
  rc = es_xml_parse("<a>xy</a>GARBAGE", 9, NULL, &d, big, sizeof(big));
  ok(rc == ES_OK && d && strcmp(es_xml_root(d)->text, "xy") == 0, "length, not NUL, ends input");
  es_xml_free(d);
}

/* ---- big inputs ----------------------------------------------------------- */

static void test_big_response(void)
{
  struct es_buf b = ES_BUF_INIT;
  struct es_xml_doc *d = NULL;
  char err[256];
  size_t i, n = 0;
  const struct es_xml_node *set, *it, *last = NULL;
  int rc, good = 1;

  es_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeSubnetsResponse "
                  "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n<requestId>r</requestId>"
                  "\n<subnetSet>\n");
  for(i = 0; b.len < 5u * 1024 * 1024; i++)
    es_buf_printf(&b,
                  "  <item>\n    <subnetId>subnet-%017zx</subnetId>\n    <state>available</state>\n"
                  "    <vpcId>vpc-0123456789abcdef0</vpcId>\n    <cidrBlock>10.%zu.%zu.0/24</cidrBlock>\n"
                  "    <tagSet><item><key>Name</key><value>s&amp;%zu</value></item></tagSet>\n"
                  "  </item>\n", i, (i >> 8) & 255, i & 255, i);
  es_buf_puts(&b, "</subnetSet>\n<nextToken>tok</nextToken>\n</DescribeSubnetsResponse>\n");
  rc = es_xml_parse(b.data, b.len, NULL, &d, err, sizeof(err));
  if(ok(rc == ES_OK, "%zu-byte DescribeSubnets (%zu items) parses", b.len, i)) {
    set = es_xml_child(es_xml_root(d), "subnetSet");
    for(it = set->first_child; it; it = it->next_sibling) {
      char want[64];
      snprintf(want, sizeof(want), "subnet-%017zx", n);
      if(strcmp(text_at(it, "subnetId"), want) != 0)
        good = 0;
      last = it;
      n++;
    }
    ok(good && n == i && set->n_children == i, "every item in order (%zu)", n);
    snprintf(err, sizeof(err), "s&%zu", i - 1);
    is_str(last ? text_at(last, "tagSet/item/value") : NULL, err, "last tag value decoded");
    is_str(text_at(es_xml_root(d), "nextToken"), "tok", "nextToken after the big set");
    ok(tree_consistent(d), "big tree consistent");
  }
  es_xml_free(d);
  d = NULL;

  /* One 5 MB text node, split by expat into many callbacks (entities, newlines). */
  es_buf_reset(&b);
  es_buf_puts(&b, "<Response><Message>");
  for(i = 0; b.len < 5u * 1024 * 1024; i++)
    es_buf_puts(&b, "0123456789abcdef&lt;\n<![CDATA[]]>");
  es_buf_puts(&b, "</Message></Response>");
  rc = es_xml_parse(b.data, b.len, NULL, &d, err, sizeof(err));
  if(ok(rc == ES_OK, "5 MB single text node parses")) {
    const struct es_xml_node *m = es_xml_child(es_xml_root(d), "Message");
    size_t k;
    good = m && m->text_len == i * 18 && strlen(m->text) == m->text_len;
    for(k = 0; good && k < i; k++)
      good = memcmp(m->text + k * 18, "0123456789abcdef<\n", 18) == 0;
    ok(good, "huge text intact (%zu bytes)", m ? m->text_len : 0);
  }
  es_xml_free(d);
  es_buf_free(&b);
}

static void test_deep_nesting_free(void)
{
  const size_t depth = 200000;
  struct es_buf b = ES_BUF_INIT;
  struct es_xml_limits lim;
  struct es_xml_doc *d = NULL;
  const struct es_xml_node *n;
  char err[256];
  size_t i, seen = 0;
  int rc;

  for(i = 0; i < depth; i++)
    es_buf_puts(&b, "<e>");
  es_buf_puts(&b, "leaf");
  for(i = 0; i < depth; i++)
    es_buf_puts(&b, "</e>");
  expect_fail_str("200000 levels with default limits", b.data, b.len, NULL, ES_ERANGE,
                  "deeper than 64");
  memset(&lim, 0, sizeof(lim));
  lim.max_depth = 1000000;
  rc = es_xml_parse(b.data, b.len, &lim, &d, err, sizeof(err));
  if(ok(rc == ES_OK, "200000 levels parse with max_depth 1000000 (%s)", rc ? err : "ok")) {
    for(n = es_xml_root(d); n->first_child; n = n->first_child)
      seen++;
    ok(seen + 1 == depth && strcmp(n->text, "leaf") == 0, "chain is %zu deep", seen + 1);
  }
  es_xml_free(d);  /* must not recurse */
  ok(1, "deep tree freed without stack overflow");
  es_buf_free(&b);
}

static void test_node_limit_default(void)
{
  struct es_buf b = ES_BUF_INIT;
  size_t i;
  es_buf_puts(&b, "<r>");
  for(i = 0; i < ES_XML_DEFAULT_MAX_NODES; i++)
    es_buf_puts(&b, "<a/>");
  es_buf_puts(&b, "</r>");
  expect_fail_str("1,000,001 elements with the default limit", b.data, b.len, NULL, ES_ERANGE,
                  "more than 1000000 elements");
  es_buf_free(&b);
}

int main(void)
{
  test_all_fixtures_parse();
  test_describe_subnets();
  test_describe_route_tables();
  test_sts();
  test_errors();
  test_nested_and_empty_sets();
  test_entities_cdata_whitespace();
  test_transcoding_growth();
  test_namespaces();
  test_mixed_content();
  test_malformed();
  test_hostile();
  test_secret_not_in_message();
  test_limits();
  test_api_edges();
  test_big_response();
  test_deep_nesting_free();
  test_node_limit_default();
  return done_testing();
}
