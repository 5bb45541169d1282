--- The preflight snapshot: one cluster's network as plain tables, in the field
-- names the official AWS SDKs use, and the normalizer from what eksegress's client
-- returns into that shape. Pure: no client, no network.
--
-- The snapshot (every part optional; a missing part makes the checks that need it
-- report `not_evaluated`, with `errors[part]` as the reason when it is known):
--
--     {
--       cluster = <EKS DescribeCluster `cluster`, camelCase as EKS returns it>,
--       updates = { <EKS DescribeUpdate `update`>, ... },        -- every ListUpdates id
--       identity_providers = { <DescribeIdentityProviderConfig `identityProviderConfig`>, ... },
--       Vpcs, Subnets, RouteTables, NetworkAcls, SecurityGroups, NatGateways,
--       TransitGateways, TransitGatewayVpcAttachments, InternetGateways,
--       EgressOnlyInternetGateways, DhcpOptions, VpcEndpoints, FlowLogs,
--       NetworkInterfaces, Instances = { <EC2 items, PascalCase as the SDKs name them> },
--       ManagedPrefixLists = { {PrefixListId =, ..., Entries = {{Cidr =, Description =}}} },
--       VpcAttributes = { VpcId =, EnableDnsSupport = {Value = bool},
--                         EnableDnsHostnames = {Value = bool} },  -- DescribeVpcAttribute, merged
--       role = {
--         Role = <IAM GetRole `Role`>,
--         AttachedPolicies = { {PolicyName =, PolicyArn =, Document = <policy table>} },
--         RolePolicies = { {PolicyName =, PolicyDocument = <policy table>} },
--         PermissionsBoundary = {PolicyArn =, Document = <policy table>},  -- when the role has one
--         EvaluationResults = <IAM SimulatePrincipalPolicy `EvaluationResults`>,  -- optional
--       },
--       errors = { [part] = "why it could not be read" },
--     }
--
-- EC2 values have the SDK types: integers (RuleNumber, FromPort, ...), booleans
-- (Egress, Main, SourceDestCheck, ...); timestamps stay ISO 8601 strings, as the
-- AWS CLI prints them. The renaming below was derived from botocore's EC2 model
-- (1.29.27, 2016-11-15) for the describe calls the preflight makes; spec 51 checks
-- it against the installed botocore.
local M = {}

-- Wire element names whose SDK member name is not the wire name capitalised.
local RENAME = {
  associationSet = "Associations", attachmentSet = "Attachments",
  blockDeviceMapping = "BlockDeviceMappings", default = "IsDefault",
  dhcpConfigurationSet = "DhcpConfigurations", dhcpOptionsSet = "DhcpOptions", dnsEntrySet = "DnsEntries",
  egressOnlyInternetGatewaySet = "EgressOnlyInternetGateways",
  elasticGpuAssociationSet = "ElasticGpuAssociations",
  elasticInferenceAcceleratorAssociationSet = "ElasticInferenceAcceleratorAssociations",
  entrySet = "Entries", flowLogSet = "FlowLogs", groupDescription = "Description", groupSet = "Groups",
  groups = "UserIdGroupPairs", instanceState = "State", instancesSet = "Instances",
  internetGatewaySet = "InternetGateways", ipAddress = "PublicIpAddress", ipv4PrefixSet = "Ipv4Prefixes",
  ipv6AddressesSet = "Ipv6Addresses", ipv6PrefixSet = "Ipv6Prefixes", licenseSet = "Licenses",
  natGatewayAddressSet = "NatGatewayAddresses", natGatewaySet = "NatGateways", networkAclSet = "NetworkAcls",
  networkInterfaceIdSet = "NetworkInterfaceIds", networkInterfaceSet = "NetworkInterfaces",
  prefixListSet = "PrefixLists", privateIpAddressesSet = "PrivateIpAddresses", productCode = "ProductCodeId",
  propagatingVgwSet = "PropagatingVgws", reason = "StateTransitionReason", reservationSet = "Reservations",
  routeSet = "Routes", routeTableIdSet = "RouteTableIds", routeTableSet = "RouteTables",
  securityGroupInfo = "SecurityGroups", subnetIdSet = "SubnetIds", subnetSet = "Subnets", tagSet = "Tags",
  transitGatewaySet = "TransitGateways", valueSet = "Values", vpcEndpointSet = "VpcEndpoints", vpcSet = "Vpcs",
}

-- The same wire name means something else inside these parents (keyed by the
-- parent's SDK name: a list's name for its items).
local RENAME_IN = {
  Instances = { groupSet = "SecurityGroups", dnsName = "PublicDnsName" },
  NetworkInterfaces = { tagSet = "TagSet" },
  ProductCodes = { type = "ProductCodeType" },
}

local LISTS = {}
for name in ([[Associations Attachments BlockDeviceMappings CidrBlockAssociationSet DhcpConfigurations
  DhcpOptions DnsEntries EgressOnlyInternetGateways ElasticGpuAssociations
  ElasticInferenceAcceleratorAssociations Entries FlowLogs Groups Instances InternetGateways IpPermissions
  IpPermissionsEgress IpRanges Ipv4Prefixes Ipv6Addresses Ipv6CidrBlockAssociationSet Ipv6Prefixes Ipv6Ranges
  Licenses NatGatewayAddresses NatGateways NetworkAcls NetworkInterfaceIds NetworkInterfaces PrefixListIds
  PrefixLists PrivateIpAddresses ProductCodes PropagatingVgws Reservations RouteTableIds RouteTables Routes
  SecurityGroups SubnetIds Subnets TagSet Tags TransitGatewayCidrBlocks TransitGatewayVpcAttachments
  TransitGateways UserIdGroupPairs Values VpcEndpoints Vpcs]]):gmatch("%S+") do
  LISTS[name] = true
end

local INTEGERS = {}
for name in ([[AmazonSideAsn AmiLaunchIndex AvailableIpAddressCount Code CoreCount DeviceIndex
  EnableLniAtDeviceIndex From FromPort HttpPutResponseHopLimit MaxAggregationInterval MaxEntries
  NetworkCardIndex PartitionNumber RuleNumber ThreadsPerCore To ToPort Type Version]]):gmatch("%S+") do
  INTEGERS[name] = true
end

local BOOLEANS = {}
for name in ([[AssignIpv6AddressOnCreation Configured DefaultForAz DeleteOnTermination DenyAllIgwTraffic
  EbsOptimized Egress EnaSrdEnabled EnaSrdUdpEnabled EnaSupport EnableDns64 EnableResourceNameDnsAAAARecord
  EnableResourceNameDnsARecord Enabled HiveCompatiblePartitions Ipv6Native IsDefault Main
  MapCustomerOwnedIpOnLaunch MapPublicIpOnLaunch PerHourPartition Primary PrivateDnsEnabled RequesterManaged
  SourceDestCheck]]):gmatch("%S+") do
  BOOLEANS[name] = true
end

-- Leaf types that depend on the parent: `code` is text in an error, a number in
-- an instance state or ICMP type; `value` is a boolean only in a VPC attribute.
local STRING_CODE_IN = { StateReason = true, LastError = true }
local BOOLEAN_VALUE_IN = { EnableDnsSupport = true, EnableDnsHostnames = true,
                           EnableNetworkAddressUsageMetrics = true }

local function sdk_name(wire, parent)
  local ctx = parent and RENAME_IN[parent]
  return (ctx and ctx[wire]) or RENAME[wire] or (wire:sub(1, 1):upper() .. wire:sub(2))
end

local function leaf(v, name, parent)
  if type(v) ~= "string" then return v end
  if INTEGERS[name] and not (name == "Code" and STRING_CODE_IN[parent]) then
    local n = math.tointeger(tonumber(v))
    if n then return n end
  elseif BOOLEANS[name] or (name == "Value" and BOOLEAN_VALUE_IN[parent]) then
    if v == "true" then return true elseif v == "false" then return false end
  end
  return v
end

local convert_map

-- One wire value named `name` (its SDK name), inside `parent`.
local function convert(v, name, parent)
  if LISTS[name] then
    -- A blank element the XML layer could not know was a list is an empty list.
    if type(v) ~= "table" then return {} end
    local out = {}
    for i, item in ipairs(v) do
      out[i] = type(item) == "table" and convert_map(item, name) or item
    end
    return out
  end
  if type(v) == "table" then return convert_map(v, name) end
  return leaf(v, name, parent)
end

function convert_map(t, parent)
  local out = {}
  for k, v in pairs(t) do
    if type(k) == "string" then
      local name = sdk_name(k, parent)
      out[name] = convert(v, name, parent)
    end
  end
  return out
end

--- Convert one EC2 response (or any part of one) from the client's wire names into
-- SDK names and types.
-- @param wire a table as `client:call("ec2", ...)` returns it
-- @tparam[opt] string parent the SDK name of the field that holds `wire` (for a list
--   item, the list's name: "RouteTables"); nil for a whole response
function M.ec2(wire, parent)
  if type(wire) ~= "table" then
    error("eksegress.workflows.preflight.snapshot.ec2: expected a table, got " .. type(wire), 2)
  end
  return convert_map(wire, parent)
end

-- Snapshot list -> the wire element of its describe call's response.
local SOURCES = {
  Vpcs = "vpcSet", Subnets = "subnetSet", RouteTables = "routeTableSet", NetworkAcls = "networkAclSet",
  SecurityGroups = "securityGroupInfo", NatGateways = "natGatewaySet", TransitGateways = "transitGatewaySet",
  TransitGatewayVpcAttachments = "transitGatewayVpcAttachments", InternetGateways = "internetGatewaySet",
  EgressOnlyInternetGateways = "egressOnlyInternetGatewaySet", DhcpOptions = "dhcpOptionsSet",
  VpcEndpoints = "vpcEndpointSet", FlowLogs = "flowLogSet", NetworkInterfaces = "networkInterfaceSet",
  ManagedPrefixLists = "prefixListSet", Instances = "reservationSet",
}

--- The snapshot parts the normalizer fills from EC2, in a fixed order.
M.EC2_PARTS = { "Vpcs", "Subnets", "RouteTables", "NetworkAcls", "SecurityGroups", "NatGateways",
                "TransitGateways", "TransitGatewayVpcAttachments", "InternetGateways",
                "EgressOnlyInternetGateways", "DhcpOptions", "VpcEndpoints", "FlowLogs", "NetworkInterfaces",
                "ManagedPrefixLists", "Instances" }

-- A response (`{routeTableSet = {...}}`), or the items alone (`client:collect`).
local function items_of(v, wire_key)
  if type(v) ~= "table" then return nil end
  if v[wire_key] ~= nil then
    return type(v[wire_key]) == "table" and v[wire_key] or {}
  end
  return v
end

local function ec2_items(v, part)
  local wire_key = SOURCES[part]
  local items = items_of(v, wire_key)
  if not items then return nil end
  local list_name = part == "Instances" and "Reservations" or (part == "ManagedPrefixLists" and "PrefixLists")
    or part
  local out = {}
  for _, item in ipairs(items) do
    if type(item) == "table" then
      local sdk = convert_map(item, list_name)
      if part == "Instances" then
        -- DescribeInstances wraps instances in reservations; the snapshot lists instances.
        for _, inst in ipairs(sdk.Instances or {}) do out[#out + 1] = inst end
      else
        out[#out + 1] = sdk
      end
    end
  end
  return out
end

-- JSON null (cjson.null is a light userdata) means absent.
local function strip_nulls(v)
  if type(v) == "userdata" then return nil end
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = strip_nulls(x) end
  return out
end

local function unwrap(v, key)
  if type(v) ~= "table" then return nil end
  if v[key] ~= nil then return strip_nulls(v[key]) end
  return strip_nulls(v)
end

local function unwrap_list(v, key)
  if type(v) ~= "table" then return nil end
  local out = {}
  for _, x in ipairs(v) do
    local u = unwrap(x, key)
    if u then out[#out + 1] = u end
  end
  return out
end

--- Percent-decode (IAM returns policy documents URL-encoded; the SDKs decode them).
function M.url_decode(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local cjson_safe

--- A policy document as a table: a table is returned as is; a string is
-- URL-decoded when it is not already JSON, then parsed. nil, message when it is
-- not a policy document.
function M.policy_document(doc)
  if type(doc) == "table" then return doc end
  if type(doc) ~= "string" then return nil, "no policy document" end
  cjson_safe = cjson_safe or require "cjson.safe"
  local text = doc
  if not text:match("^%s*{") then text = M.url_decode(text) end
  local t, err = cjson_safe.decode(text)
  if type(t) ~= "table" then return nil, "the policy document is not JSON: " .. tostring(err) end
  return strip_nulls(t)
end

local function normalize_role(raw)
  if type(raw) ~= "table" then return nil end
  local role = {}
  role.Role = unwrap(raw.Role or raw.GetRole, "Role")
  if type(raw.AttachedPolicies) == "table" then
    role.AttachedPolicies = {}
    for _, p in ipairs(raw.AttachedPolicies) do
      local doc = p.Document
      if doc == nil and type(p.PolicyVersion) == "table" then doc = p.PolicyVersion.Document end
      role.AttachedPolicies[#role.AttachedPolicies + 1] = {
        PolicyName = p.PolicyName, PolicyArn = p.PolicyArn, Document = doc and M.policy_document(doc) or nil,
      }
    end
  end
  if type(raw.RolePolicies) == "table" then
    role.RolePolicies = {}
    for _, p in ipairs(raw.RolePolicies) do
      role.RolePolicies[#role.RolePolicies + 1] = {
        PolicyName = p.PolicyName, PolicyDocument = M.policy_document(p.PolicyDocument),
      }
    end
  end
  if type(raw.PermissionsBoundary) == "table" then
    local b = raw.PermissionsBoundary
    local doc = b.Document
    if doc == nil and type(b.PolicyVersion) == "table" then doc = b.PolicyVersion.Document end
    role.PermissionsBoundary = { PolicyArn = b.PolicyArn or b.PermissionsBoundaryArn,
                                 Document = doc and M.policy_document(doc) or nil }
  end
  local sim = raw.EvaluationResults or (type(raw.SimulatePrincipalPolicy) == "table"
    and raw.SimulatePrincipalPolicy.EvaluationResults)
  if type(sim) == "table" then role.EvaluationResults = sim end
  return role
end

--- Build a snapshot from what the client returned.
-- @tparam table raw
--   `cluster`: DescribeCluster output (or its `cluster`);
--   `updates`: list of DescribeUpdate outputs (or `update` objects);
--   `identity_providers`: list of DescribeIdentityProviderConfig outputs (or their
--     `identityProviderConfig`);
--   `ec2`: `{Vpcs = <DescribeVpcs output or collected items>, Subnets = ..., ...}`
--     for every name in EC2_PARTS (Instances from DescribeInstances, whose
--     reservations are flattened; ManagedPrefixLists from DescribeManagedPrefixLists),
--     plus `PrefixListEntries = {[pl-id] = <GetManagedPrefixListEntries output or
--     items>}` and `VpcAttributes = {<DescribeVpcAttribute output>, ...}`;
--   `role`: `{Role = <GetRole output or Role>, AttachedPolicies = {{PolicyName,
--     PolicyArn, Document | PolicyVersion = {Document}}}, RolePolicies =
--     {<GetRolePolicy outputs>}, PermissionsBoundary = {PolicyArn, Document},
--     EvaluationResults | SimulatePrincipalPolicy = <output>}` (documents may be
--     URL-encoded JSON strings, as IAM sends them);
--   `errors`: `{[part] = err}` for parts that could not be read (err: an error
--     table or text).
-- @return the snapshot (see the top of this file)
function M.from_client(raw)
  if type(raw) ~= "table" then
    error("eksegress.workflows.preflight.snapshot.from_client: raw must be a table", 2)
  end
  local snap = {}
  snap.cluster = unwrap(raw.cluster, "cluster")
  if raw.updates ~= nil then snap.updates = unwrap_list(raw.updates, "update") end
  if raw.identity_providers ~= nil then
    snap.identity_providers = unwrap_list(raw.identity_providers, "identityProviderConfig")
  end
  local ec2 = raw.ec2 or {}
  for _, part in ipairs(M.EC2_PARTS) do
    if ec2[part] ~= nil then snap[part] = ec2_items(ec2[part], part) end
  end
  if type(ec2.PrefixListEntries) == "table" then
    snap.ManagedPrefixLists = snap.ManagedPrefixLists or {}
    local by_id = {}
    for _, pl in ipairs(snap.ManagedPrefixLists) do by_id[pl.PrefixListId] = pl end
    local ids = {}
    for id in pairs(ec2.PrefixListEntries) do ids[#ids + 1] = id end
    table.sort(ids)
    for _, id in ipairs(ids) do
      local entries = {}
      for _, e in ipairs(items_of(ec2.PrefixListEntries[id], "entries") or {}) do
        if type(e) == "table" then entries[#entries + 1] = convert_map(e, "Entries") end
      end
      local pl = by_id[id]
      if not pl then
        pl = { PrefixListId = id }
        snap.ManagedPrefixLists[#snap.ManagedPrefixLists + 1] = pl
        by_id[id] = pl
      end
      pl.Entries = entries
    end
  end
  if type(ec2.VpcAttributes) == "table" then
    local merged = {}
    for _, out in ipairs(ec2.VpcAttributes) do
      if type(out) == "table" then
        for k, v in pairs(M.ec2(out)) do
          if k == "VpcId" or k:match("^Enable") then merged[k] = v end
        end
      end
    end
    snap.VpcAttributes = merged
  end
  snap.role = normalize_role(raw.role)
  if type(raw.errors) == "table" then
    snap.errors = {}
    for part, e in pairs(raw.errors) do
      if type(e) == "table" then
        snap.errors[part] = tostring(e.code or "Error") .. ": " .. tostring(e.message or "")
      else
        snap.errors[part] = tostring(e)
      end
    end
  end
  return snap
end

return M
