--- Amazon EC2 (protocol "ec2", API version 2016-11-15): the read-only calls preflight
-- and audit need.
--
-- Operation inputs, wire names, paginators and the response list names below are
-- taken from botocore 1.29.27's data/ec2/2016-11-15 model (service-2.json and
-- paginators-1.json), restricted to these operations; spec/21-services_spec.lua
-- checks them against the installed botocore. Inputs use the API member names
-- (Filters, SubnetIds, MaxResults, NextToken, DryRun); `wire` is the name EC2
-- expects (queryName, or the capitalised locationName). Members not listed here
-- are still sent, under their own name.
--
-- Responses keep the XML element names, so paginators name the wire elements:
-- `output_token = "nextToken"` (absent or "" on the last page) and `result_key` is the
-- list element (`subnetSet`, `securityGroupInfo`, ...).
local model = require "eksegress.services.model"

local STRING, INTEGER, BOOLEAN = model.STRING, model.INTEGER, model.BOOLEAN
local req, list = model.req, model.list

-- Filters = { { Name = "vpc-id", Values = { "vpc-1", "vpc-2" } }, ... }
--   -> Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&Filter.1.Value.2=vpc-2
local FILTERS = list(model.struct({ Name = STRING, Values = list(STRING, "Value") }), "Filter")

local page = model.paginator("NextToken", "nextToken", "MaxResults")

-- The members every paginated Describe* call takes.
local LISTING = { DryRun = BOOLEAN, Filters = FILTERS, MaxResults = INTEGER, NextToken = STRING }

-- The output types of a paginated call (services.check_output): its result
-- list, which EC2 always sends (an empty one as <subnetSet/>) and callers
-- iterate, and the page token (absent, or "" on the last page).
local function paged(result_key)
  return { [result_key] = "list<table>", nextToken = "string?" }
end

-- A paginated Describe* call: LISTING, its id list (API member name, wire name),
-- the list element of its response, and other members (false removes a LISTING
-- member the API lacks).
local function listing(ids_member, ids_wire, result_key, extra)
  return {
    input = model.members(LISTING, { [ids_member] = list(STRING, ids_wire) }, extra),
    paginator = page(result_key),
    output_types = paged(result_key),
  }
end

-- The API names these members Filter; the usual Filters spelling works too.
local FILTER = { Filter = FILTERS }

local operations = {
  DescribeSubnets = listing("SubnetIds", "SubnetId", "subnetSet"),
  DescribeRouteTables = listing("RouteTableIds", "RouteTableId", "routeTableSet"),
  DescribeNatGateways = listing("NatGatewayIds", "NatGatewayId", "natGatewaySet", FILTER),
  DescribeNetworkAcls = listing("NetworkAclIds", "NetworkAclId", "networkAclSet"),
  DescribeSecurityGroups = listing("GroupIds", "GroupId", "securityGroupInfo",
    { GroupNames = list(STRING, "GroupName") }),
  DescribeSecurityGroupRules = listing("SecurityGroupRuleIds", "SecurityGroupRuleId", "securityGroupRuleSet"),
  DescribeVpcs = listing("VpcIds", "VpcId", "vpcSet"),
  -- One attribute per call: the others are absent.
  DescribeVpcAttribute = {
    input = { Attribute = req(STRING), DryRun = BOOLEAN, VpcId = req(STRING) },
    output_types = { vpcId = "string?", enableDnsSupport = "table?", ["enableDnsSupport.value"] = "string?",
                     enableDnsHostnames = "table?", ["enableDnsHostnames.value"] = "string?" },
  },
  DescribeDhcpOptions = listing("DhcpOptionsIds", "DhcpOptionsId", "dhcpOptionsSet"),
  DescribeNetworkInterfaces = listing("NetworkInterfaceIds", "NetworkInterfaceId", "networkInterfaceSet"),
  DescribeVpcEndpoints = listing("VpcEndpointIds", "VpcEndpointId", "vpcEndpointSet"),
  DescribeEgressOnlyInternetGateways = listing("EgressOnlyInternetGatewayIds", "EgressOnlyInternetGatewayId",
    "egressOnlyInternetGatewaySet"),
  DescribeInternetGateways = listing("InternetGatewayIds", "InternetGatewayId", "internetGatewaySet"),
  DescribeTransitGateways = listing("TransitGatewayIds", "TransitGatewayIds", "transitGatewaySet"),
  DescribeTransitGatewayVpcAttachments = listing("TransitGatewayAttachmentIds", "TransitGatewayAttachmentIds",
    "transitGatewayVpcAttachments"),
  DescribeInstances = listing("InstanceIds", "InstanceId", "reservationSet"),
  DescribeManagedPrefixLists = listing("PrefixListIds", "PrefixListId", "prefixListSet"),
  -- The entries of one prefix list: no id list, no filters.
  GetManagedPrefixListEntries = {
    input = model.members(LISTING, { Filters = false, PrefixListId = req(STRING), TargetVersion = model.LONG }),
    paginator = page("entrySet"),
    output_types = paged("entrySet"),
  },
  DescribeFlowLogs = listing("FlowLogIds", "FlowLogId", "flowLogSet", FILTER),
  DescribeRegions = {
    input = { AllRegions = BOOLEAN, DryRun = BOOLEAN, Filters = FILTERS, RegionNames = list(STRING, "RegionName") },
    output_types = { regionInfo = "list<table>" },
  },
}

-- Response elements that are lists although their names do not end in "Set" (an
-- empty one, <groups/>, is then still an empty list). Every such list element of
-- these operations' outputs in the model (spec/21 checks it); "...Set" ones are
-- recognised by name.
local XML_LISTS = model.set({
  "associations", "blockDeviceMapping", "entries", "groups", "ipPermissions",
  "ipPermissionsEgress", "ipRanges", "ipv6Ranges", "prefixListIds", "productCodes",
  "regionInfo", "securityGroupInfo", "subnetIds", "transitGatewayCidrBlocks",
  "transitGatewayVpcAttachments",
})

return model.service({
  name = "ec2",
  signing_name = "ec2",
  endpoint_prefix = "ec2",
  -- GovCloud's standard hosts are FIPS endpoints (botocore endpoints.json).
  fips_endpoints = { ["aws-us-gov"] = "ec2.{region}.{dns}" },
  protocol = "ec2",
  protocol_module = "ec2",
  api_version = "2016-11-15",
  global = false,
  xml_namespace = "http://ec2.amazonaws.com/doc/2016-11-15/",
  xml_lists = XML_LISTS,
  model = "botocore 1.29.27 ec2/2016-11-15",
}, operations, { http = { method = "POST", uri = "/" } })
