--- Amazon EC2 (protocol "ec2", API version 2016-11-15): the read-only calls preflight
-- and audit need.
--
-- Operation inputs, wire names, paginators and the response list names below are
-- taken from botocore 1.29.27's data/ec2/2016-11-15 model (service-2.json and
-- paginators-1.json), restricted to these operations. Inputs use the API member
-- names (Filters, SubnetIds, MaxResults, NextToken, DryRun); `wire` is the name EC2
-- expects (queryName, or the capitalised locationName). Members not listed here are
-- still sent, under their own name.
--
-- Responses keep the XML element names, so paginators name the wire elements:
-- `output_token = "nextToken"` (absent or "" on the last page) and `result_key` is the
-- list element (`subnetSet`, `securityGroupInfo`, ...).
local model = require "eksegress.services.model"

local STRING = { type = "string" }
local INTEGER = { type = "integer" }
local BOOLEAN = { type = "boolean" }

local req = model.req

-- A list of strings, flattened on the wire as <wire>.1, <wire>.2, ...
local function ids(wire)
  return { type = "list", wire = wire, member = STRING }
end

-- Filters = { { Name = "vpc-id", Values = { "vpc-1", "vpc-2" } }, ... }
--   -> Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&Filter.1.Value.2=vpc-2
local FILTERS = {
  type = "list", wire = "Filter",
  member = { type = "structure", members = {
    Name = STRING,
    Values = { type = "list", wire = "Value", member = STRING },
  } },
}

local page = model.paginator("NextToken", "nextToken", "MaxResults")

local M = {
  name = "ec2",
  signing_name = "ec2",
  endpoint_prefix = "ec2",
  protocol = "ec2",
  protocol_module = "ec2",
  api_version = "2016-11-15",
  global = false,
  xml_namespace = "http://ec2.amazonaws.com/doc/2016-11-15/",
  model = "botocore 1.29.27 ec2/2016-11-15",
}

-- Response elements that are lists although their names do not end in "Set" (an
-- empty one, <groups/>, is then still an empty list). Every list element of these
-- operations' outputs in the model; the "...Set" ones are recognised by name.
M.xml_lists = {}
for _, name in ipairs({
  "associations", "blockDeviceMapping", "entries", "groups", "ipPermissions",
  "ipPermissionsEgress", "ipRanges", "ipv6Ranges", "prefixListIds", "productCodes",
  "regionInfo", "securityGroupInfo", "subnetIds", "transitGatewayCidrBlocks",
  "transitGatewayVpcAttachments",
}) do
  M.xml_lists[name] = true
end

M.operations = {
  DescribeSubnets = {
    input = {
      DryRun = BOOLEAN,
      Filters = FILTERS,
      MaxResults = INTEGER,
      NextToken = STRING,
      SubnetIds = ids("SubnetId"),
    },
    paginator = page("subnetSet"),
  },
  DescribeRouteTables = {
    input = {
      DryRun = BOOLEAN,
      Filters = FILTERS,
      MaxResults = INTEGER,
      NextToken = STRING,
      RouteTableIds = ids("RouteTableId"),
    },
    paginator = page("routeTableSet"),
  },
  DescribeNatGateways = {
    input = {
      DryRun = BOOLEAN,
      Filter = FILTERS,
      MaxResults = INTEGER,
      NatGatewayIds = ids("NatGatewayId"),
      NextToken = STRING,
    },
    paginator = page("natGatewaySet"),
  },
  DescribeNetworkAcls = {
    input = {
      DryRun = BOOLEAN,
      Filters = FILTERS,
      MaxResults = INTEGER,
      NetworkAclIds = ids("NetworkAclId"),
      NextToken = STRING,
    },
    paginator = page("networkAclSet"),
  },
  DescribeSecurityGroups = {
    input = {
      DryRun = BOOLEAN,
      Filters = FILTERS,
      GroupIds = ids("GroupId"),
      GroupNames = ids("GroupName"),
      MaxResults = INTEGER,
      NextToken = STRING,
    },
    paginator = page("securityGroupInfo"),
  },
  DescribeSecurityGroupRules = {
    input = {
      DryRun = BOOLEAN,
      Filters = FILTERS,
      MaxResults = INTEGER,
      NextToken = STRING,
      SecurityGroupRuleIds = ids("SecurityGroupRuleId"),
    },
    paginator = page("securityGroupRuleSet"),
  },
  DescribeVpcs = {
    input = {
      DryRun = BOOLEAN,
      Filters = FILTERS,
      MaxResults = INTEGER,
      NextToken = STRING,
      VpcIds = ids("VpcId"),
    },
    paginator = page("vpcSet"),
  },
  DescribeVpcAttribute = {
    input = {
      Attribute = req(STRING),
      DryRun = BOOLEAN,
      VpcId = req(STRING),
    },
  },
  DescribeDhcpOptions = {
    input = {
      DhcpOptionsIds = ids("DhcpOptionsId"),
      DryRun = BOOLEAN,
      Filters = FILTERS,
      MaxResults = INTEGER,
      NextToken = STRING,
    },
    paginator = page("dhcpOptionsSet"),
  },
  DescribeNetworkInterfaces = {
    input = {
      DryRun = BOOLEAN,
      Filters = FILTERS,
      MaxResults = INTEGER,
      NetworkInterfaceIds = ids("NetworkInterfaceId"),
      NextToken = STRING,
    },
    paginator = page("networkInterfaceSet"),
  },
  DescribeVpcEndpoints = {
    input = {
      DryRun = BOOLEAN,
      Filters = FILTERS,
      MaxResults = INTEGER,
      NextToken = STRING,
      VpcEndpointIds = ids("VpcEndpointId"),
    },
    paginator = page("vpcEndpointSet"),
  },
  DescribeEgressOnlyInternetGateways = {
    input = {
      DryRun = BOOLEAN,
      EgressOnlyInternetGatewayIds = ids("EgressOnlyInternetGatewayId"),
      Filters = FILTERS,
      MaxResults = INTEGER,
      NextToken = STRING,
    },
    paginator = page("egressOnlyInternetGatewaySet"),
  },
  DescribeTransitGateways = {
    input = {
      DryRun = BOOLEAN,
      Filters = FILTERS,
      MaxResults = INTEGER,
      NextToken = STRING,
      TransitGatewayIds = ids("TransitGatewayIds"),
    },
    paginator = page("transitGatewaySet"),
  },
  DescribeTransitGatewayVpcAttachments = {
    input = {
      DryRun = BOOLEAN,
      Filters = FILTERS,
      MaxResults = INTEGER,
      NextToken = STRING,
      TransitGatewayAttachmentIds = ids("TransitGatewayAttachmentIds"),
    },
    paginator = page("transitGatewayVpcAttachments"),
  },
  DescribeInstances = {
    input = {
      DryRun = BOOLEAN,
      Filters = FILTERS,
      InstanceIds = ids("InstanceId"),
      MaxResults = INTEGER,
      NextToken = STRING,
    },
    paginator = page("reservationSet"),
  },
  DescribeRegions = {
    input = {
      AllRegions = BOOLEAN,
      DryRun = BOOLEAN,
      Filters = FILTERS,
      RegionNames = ids("RegionName"),
    },
  },
}

-- The API names this member Filter; accept the usual Filters spelling as well.
M.operations.DescribeNatGateways.input.Filters = FILTERS

for name, op in pairs(M.operations) do
  op.name = name
  op.http = { method = "POST", uri = "/" }
end

M.waiters = {}

return M
