--- AWS IAM (protocol "query", API version 2010-05-08): the read-only calls the
-- network preflight and the SCP checks need (a cluster role, its attached and
-- inline policies, a managed policy's default version, and the policy
-- simulator).
--
-- Inputs and paginators follow botocore 1.29.27's data/iam/2010-05-08 model
-- (spec/21-services_spec.lua checks them against the installed botocore). Query
-- lists carry `.member.N` on the wire (ActionNames.member.1=...). Responses are
-- the shaped <{Op}Result> with IAM's PascalCase names plus
-- ResponseMetadata.RequestId. Policy documents (AssumeRolePolicyDocument,
-- PolicyDocument, Document) arrive URL-encoded JSON, as IAM sends them.
--
-- Output types (services.check_output) follow the model's required output
-- members: a member the model may leave out is declared optional ("?").
--
-- A global service: one endpoint per partition (iam.amazonaws.com, signed for
-- us-east-1 in the aws partition; botocore endpoints.json). Paginated calls
-- return Marker only while IsTruncated is true.
local model = require "eksegress.services.model"

local STRING, INTEGER = model.STRING, model.INTEGER
local req, list = model.req, model.list

local STRINGS = list(STRING)
local page = model.paginator("Marker", "Marker", "MaxItems", "IsTruncated")

-- The members every paginated IAM call takes.
local PAGING = { Marker = STRING, MaxItems = INTEGER }

-- The output types of a paginated call: its result list (optional, with "?",
-- where the model does not require it) and the paging members, both text in
-- the XML ("true"/"false" for IsTruncated).
local function paged(result_key, list_type)
  return { [result_key] = list_type, Marker = "string?", IsTruncated = "string?" }
end

local CONTEXT_ENTRIES = list(model.struct({
  ContextKeyName = STRING,
  ContextKeyValues = STRINGS,
  ContextKeyType = STRING,
}))

local operations = {
  GetRole = {
    input = { RoleName = req(STRING) },
    output_types = { Role = "table", ["Role.RoleName"] = "string", ["Role.Arn"] = "string",
                     ["Role.AssumeRolePolicyDocument"] = "string?" },
  },
  ListAttachedRolePolicies = {
    input = model.members(PAGING, { RoleName = req(STRING), PathPrefix = STRING }),
    paginator = page("AttachedPolicies"),
    output_types = paged("AttachedPolicies", "list<table>?"),
  },
  ListRolePolicies = {
    input = model.members(PAGING, { RoleName = req(STRING) }),
    paginator = page("PolicyNames"),
    output_types = paged("PolicyNames", "list<string>"),
  },
  GetRolePolicy = {
    input = { RoleName = req(STRING), PolicyName = req(STRING) },
    output_types = { RoleName = "string", PolicyName = "string", PolicyDocument = "string" },
  },
  GetPolicy = {
    input = { PolicyArn = req(STRING) },
    output_types = { Policy = "table?", ["Policy.Arn"] = "string?", ["Policy.DefaultVersionId"] = "string?" },
  },
  GetPolicyVersion = {
    input = { PolicyArn = req(STRING), VersionId = req(STRING) },
    output_types = { PolicyVersion = "table?", ["PolicyVersion.Document"] = "string?" },
  },
  SimulatePrincipalPolicy = {
    input = model.members(PAGING, {
      PolicySourceArn = req(STRING),
      ActionNames = req(STRINGS),
      PolicyInputList = STRINGS,
      PermissionsBoundaryPolicyInputList = STRINGS,
      ResourceArns = STRINGS,
      ResourcePolicy = STRING,
      ResourceOwner = STRING,
      CallerArn = STRING,
      ContextEntries = CONTEXT_ENTRIES,
      ResourceHandlingOption = STRING,
    }),
    paginator = page("EvaluationResults"),
    output_types = paged("EvaluationResults", "list<table>?"),
  },
}

-- Every list element of these operations' outputs in the model (spec/21 checks
-- it), so an empty one (<PolicyNames/>) is still an empty list; and the one map.
local XML_LISTS = model.set({ "AttachedPolicies", "EvaluationResults", "MatchedStatements",
  "MissingContextValues", "PolicyNames", "ResourceSpecificResults", "Tags" })

return model.service({
  name = "iam",
  signing_name = "iam",
  endpoint_prefix = "iam",
  protocol = "query",
  protocol_module = "query",
  api_version = "2010-05-08",
  global = true,
  -- The home region of the aws partition: used when no region is configured (a
  -- configured region still selects the partition, and so its endpoint).
  default_region = "us-east-1",
  -- Per partition: hostname, signing region, FIPS hostname (botocore endpoints.json).
  global_endpoints = {
    aws = { hostname = "iam.amazonaws.com", region = "us-east-1", fips_hostname = "iam-fips.amazonaws.com" },
    ["aws-cn"] = { hostname = "iam.cn-north-1.amazonaws.com.cn", region = "cn-north-1" },
    ["aws-us-gov"] = { hostname = "iam.us-gov.amazonaws.com", region = "us-gov-west-1",
                       fips_hostname = "iam.us-gov.amazonaws.com" },
  },
  xml_namespace = "https://iam.amazonaws.com/doc/2010-05-08/",
  xml_lists = XML_LISTS,
  xml_maps = model.set({ "EvalDecisionDetails" }),
  -- IAM names no list "...Set": only the declared names are lists.
  xml_set_suffix = false,
  model = "botocore 1.29.27 iam/2010-05-08",
}, operations, { http = { method = "POST", uri = "/" } })
