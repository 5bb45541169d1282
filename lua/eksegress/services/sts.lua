--- AWS STS (protocol "query", API version 2011-06-15).
--
-- Inputs follow botocore 1.29.27's data/sts/2011-06-15 model plus ProvidedContexts
-- (added to AssumeRole later). Query lists carry `.member.N` on the wire
-- (PolicyArns.member.1.arn=..., Tags.member.1.Key=...). Responses are the shaped
-- <{Op}Result> with PascalCase names (Credentials.AccessKeyId, ...) plus
-- ResponseMetadata.RequestId.
--
-- AssumeRoleWithWebIdentity is sent unsigned (op.unsigned = true): the web identity
-- token is the credential, as in the AWS SDKs.
local model = require "eksegress.services.model"

local STRING = { type = "string" }
local INTEGER = { type = "integer" }

local req = model.req

local POLICY_ARNS = { type = "list", member = { type = "structure", members = { arn = STRING } } }

local M = {
  name = "sts",
  signing_name = "sts",
  endpoint_prefix = "sts",
  fips_endpoints = { ["aws-us-gov"] = "sts.{region}.{dns}" },
  protocol = "query",
  protocol_module = "query",
  api_version = "2011-06-15",
  global = false,
  xml_namespace = "https://sts.amazonaws.com/doc/2011-06-15/",
  model = "botocore 1.29.27 sts/2011-06-15",
  -- Without a configured region, STS calls go to us-east-1 (the AWS CLI's global
  -- endpoint region; eksegress.endpoints maps it to the regional host).
  default_region = "us-east-1",
  -- STS outputs of these operations have no list elements.
  xml_lists = {},
}

M.operations = {
  GetCallerIdentity = {
    input = {},
    output_types = { Account = "string", Arn = "string", UserId = "string" },
  },
  AssumeRole = {
    input = {
      RoleArn = req(STRING),
      RoleSessionName = req(STRING),
      PolicyArns = POLICY_ARNS,
      Policy = STRING,
      DurationSeconds = INTEGER,
      Tags = { type = "list", member = { type = "structure", members = {
        Key = req(STRING), Value = req(STRING) } } },
      TransitiveTagKeys = { type = "list", member = STRING },
      ExternalId = STRING,
      SerialNumber = STRING,
      TokenCode = STRING,
      SourceIdentity = STRING,
      ProvidedContexts = { type = "list", member = { type = "structure", members = {
        ProviderArn = STRING, ContextAssertion = STRING } } },
    },
  },
  AssumeRoleWithWebIdentity = {
    input = {
      RoleArn = req(STRING),
      RoleSessionName = req(STRING),
      WebIdentityToken = req(STRING),
      ProviderId = STRING,
      PolicyArns = POLICY_ARNS,
      Policy = STRING,
      DurationSeconds = INTEGER,
    },
    unsigned = true,
  },
}

for name, op in pairs(M.operations) do
  op.name = name
  op.http = { method = "POST", uri = "/" }
end

M.waiters = {}

return M
