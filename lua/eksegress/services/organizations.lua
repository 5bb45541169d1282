--- AWS Organizations (protocol json 1.1, API version 2016-11-28).
--
-- A global service: one endpoint per partition, signed for that partition's home
-- region (botocore endpoints.json: partitionEndpoint "aws-global" and friends).
-- Every call is POST / with X-Amz-Target: AWSOrganizationsV20161128.<Op>.
local M = {
  name = "organizations",
  signing_name = "organizations",
  endpoint_prefix = "organizations",
  protocol = "json",
  protocol_module = "json",
  api_version = "2016-11-28",
  json_version = "1.1",
  target_prefix = "AWSOrganizationsV20161128",
  content_type = "application/x-amz-json-1.1",
  global = true,
  -- The home region of the aws partition: used when no region is configured (a
  -- configured region still selects the partition, and so its endpoint).
  default_region = "us-east-1",
  -- The aws partition's endpoint and signing region (the common case).
  global_endpoint = "organizations.us-east-1.amazonaws.com",
  signing_region = "us-east-1",
  -- Per partition: hostname, signing region, FIPS hostname.
  global_endpoints = {
    aws = { hostname = "organizations.us-east-1.amazonaws.com", region = "us-east-1",
            fips_hostname = "organizations-fips.us-east-1.amazonaws.com" },
    ["aws-cn"] = { hostname = "organizations.cn-northwest-1.amazonaws.com.cn", region = "cn-northwest-1" },
    ["aws-us-gov"] = { hostname = "organizations.us-gov-west-1.amazonaws.com", region = "us-gov-west-1",
                       fips_hostname = "organizations.us-gov-west-1.amazonaws.com" },
  },
  model = "botocore 1.29.27 organizations/2016-11-28",
}

M.operations = {
  ListAccounts = {
    http = { method = "POST", uri = "/" },
    input = {
      NextToken = { type = "string" },
      MaxResults = { type = "integer" },
    },
    paginator = { input_token = "NextToken", output_token = "NextToken", limit_key = "MaxResults",
                  result_key = "Accounts" },
    output_types = { Accounts = "list<table>", NextToken = "string?" },
  },
}

for name, op in pairs(M.operations) do op.name = name end

M.waiters = {}

return M
