--- The preflight's reads: what one cluster's checks need from the live
-- resources (EKS, EC2, IAM), in the shape `snapshot.from_client` takes.
--
--     local gather = require "eksegress.workflows.preflight.gather"
--     local shared = gather.cache()
--     local raw, cluster = gather.cluster(client, { name = "prod", region = "us-west-2" }, shared)
--     local snap = require("eksegress.workflows.preflight.snapshot").from_client(raw)
--
-- The network of a VPC is read once per run: every cluster of that VPC (and
-- every cluster role, managed policy and prefix list several clusters share)
-- comes out of `cache`, and concurrent readers wait for the read in flight
-- instead of starting their own. Reads inside one cluster or one VPC run
-- concurrently over the client's runtime.
--
-- A read that fails never fails the whole preflight: its error goes to
-- `raw.errors[part]`, the part stays absent, and the checks that need it report
-- `not_evaluated` with that reason. Only a cluster that cannot be described at
-- all is an error (`nil, err`).
--
-- Filters rather than id lists: an id list that names something missing makes
-- EC2 fail the whole call (InvalidXxxID.NotFound); a filter just leaves it out,
-- and the checks then say which referenced resource does not exist.
local parallel = require "eksegress.parallel"
local errors = require "eksegress.errors"
local endpoints = require "eksegress.endpoints"

local M = {}

---------------------------------------------------------------------------------------
-- The shared cache

local Cache = {}
Cache.__index = Cache

--- A cache for one run (or a longer-lived one with `max_age` seconds: entries
-- older than that are read again, so a long apply never acts on a stale network).
-- @tparam[opt] table opts max_age (seconds), now (function -> seconds; default os.time)
function M.cache(opts)
  opts = opts or {}
  if type(opts) ~= "table" then errors.misuse("gather.cache: options must be a table", 2) end
  if opts.max_age ~= nil and (type(opts.max_age) ~= "number" or opts.max_age < 0) then
    errors.misuse("gather.cache: max_age must be a number of seconds", 2)
  end
  return setmetatable({ entries = {}, max_age = opts.max_age, now = opts.now or os.time }, Cache)
end

function M.is_cache(v) return getmetatable(v) == Cache end

--- The value of `key`, computed once by `fn() -> value | nil, err`: the first
-- caller runs it; callers that come while it runs wait for it and share its
-- outcome (value or error).
function Cache:get(runtime, key, fn)
  local e = self.entries[key]
  if e and e.done and self.max_age and self.now() - e.at > self.max_age then e = nil end
  if e then
    while not e.done do runtime:wait_on(e) end
    return e.value, e.err
  end
  e = { done = false }
  self.entries[key] = e
  local ok, value, err = pcall(fn)
  if not ok then
    err = errors.is(value) and value or errors.new("TaskError", tostring(value))
    value = nil
  end
  e.value, e.err, e.at, e.done = value, err, self.now(), true
  -- A failure is shared with those already waiting, not kept for later callers.
  if value == nil then self.entries[key] = nil end
  runtime:wake(e)
  return value, err
end

---------------------------------------------------------------------------------------
-- Small helpers

local function list(v) return type(v) == "table" and v or {} end

local function unique(values)
  local out, seen = {}, {}
  for _, v in ipairs(values) do
    if type(v) == "string" and v ~= "" and not seen[v] then
      seen[v] = true
      out[#out + 1] = v
    end
  end
  return out
end

-- Run named parts concurrently: parts = {{name, fn}, ...}; each fn returns a
-- value or nil, err. Fills into[name] or errs[name].
local function run_parts(client, parts, into, errs)
  if #parts == 0 then return end
  local results, fails = parallel(parts, function(p) return p[2]() end,
    { runtime = client.runtime, concurrency = #parts })
  for i, p in ipairs(parts) do
    if results[i] ~= nil then into[p[1]] = results[i] else errs[p[1]] = fails[i] end
  end
end

-- EC2 accepts up to 200 values per filter; longer lists are read in batches.
local MAX_FILTER_VALUES = 200

--- Every item of an EC2 Describe* call whose filter `name` matches `values`
-- (no call at all for an empty list).
local function ec2_where(client, region, op, name, values)
  local all = {}
  for i = 1, #values, MAX_FILTER_VALUES do
    local chunk = table.move(values, i, math.min(i + MAX_FILTER_VALUES - 1, #values), 1, {})
    local items, err = client:collect("ec2", op, { Filters = { { Name = name, Values = chunk } } },
      { region = region })
    if not items then return nil, err end
    table.move(items, 1, #items, #all + 1, all)
  end
  return all
end
M.ec2_where = ec2_where

local function derived_error(part, from, err)
  return errors.new(err and err.code or "NotRead", ("%s not read: %s could not be read (%s)"):format(part, from,
    tostring(err and err.message or err)))
end

---------------------------------------------------------------------------------------
-- Managed prefix lists (referenced by routes and security group rules)

-- One prefix list and its entries, cached per account/region/id.
local function prefix_list(client, region, scope, id, cache)
  return cache:get(client.runtime, scope .. "/prefix-list/" .. id, function()
    local lists, err = ec2_where(client, region, "DescribeManagedPrefixLists", "prefix-list-id", { id })
    if not lists then return nil, err end
    if #lists == 0 then return { entries = {} } end
    local entries, eerr = client:collect("ec2", "GetManagedPrefixListEntries", { PrefixListId = id },
      { region = region })
    if not entries then return nil, eerr end
    return { list = lists[1], entries = entries }
  end)
end

--- The prefix lists `ids` name: items (DescribeManagedPrefixLists) and
-- entries by id, or nil, err.
local function prefix_lists(client, region, scope, ids, cache)
  local got, errs = parallel(ids, function(id) return prefix_list(client, region, scope, id, cache) end,
    { runtime = client.runtime, concurrency = math.max(1, #ids) })
  local items, entries = {}, {}
  for i, id in ipairs(ids) do
    if not got[i] then return nil, errs[i] end
    if got[i].list then
      items[#items + 1] = got[i].list
      entries[id] = got[i].entries
    end
  end
  return { items = items, entries = entries }
end

---------------------------------------------------------------------------------------
-- One VPC's network

local function each_route(route_tables, fn)
  for _, rt in ipairs(list(route_tables)) do
    for _, r in ipairs(list(rt.routeSet)) do fn(r) end
  end
end

local function route_ids(route_tables, key)
  local ids = {}
  each_route(route_tables, function(r) ids[#ids + 1] = r[key] end)
  return unique(ids)
end

local function attached_to(gateway, vpc_id)
  for _, a in ipairs(list(gateway.attachmentSet)) do
    if a.vpcId == vpc_id then return true end
  end
  return false
end

-- Egress-only internet gateways can be filtered by tag only: the region's are
-- read once and picked by attachment.
local function egress_only_gateways(client, region, scope, vpc_id, cache)
  local all, err = cache:get(client.runtime, scope .. "/egress-only-gateways", function()
    return client:collect("ec2", "DescribeEgressOnlyInternetGateways", {}, { region = region })
  end)
  if not all then return nil, err end
  local out = {}
  for _, g in ipairs(all) do
    if attached_to(g, vpc_id) then out[#out + 1] = g end
  end
  return out
end

local function vpc_attributes(client, region, vpc_id)
  local out = {}
  for i, attribute in ipairs({ "enableDnsSupport", "enableDnsHostnames" }) do
    local r, err = client:call("ec2", "DescribeVpcAttribute", { VpcId = vpc_id, Attribute = attribute },
      { region = region })
    if not r then return nil, err end
    out[i] = r
  end
  return out
end

-- Reads of a VPC that depend on nothing else.
local function first_reads(client, region, scope, vpc_id, cache)
  local where = function(op, name)
    return function() return ec2_where(client, region, op, name, { vpc_id }) end
  end
  return {
    { "Vpcs", where("DescribeVpcs", "vpc-id") },
    { "Subnets", where("DescribeSubnets", "vpc-id") },
    { "RouteTables", where("DescribeRouteTables", "vpc-id") },
    { "NetworkAcls", where("DescribeNetworkAcls", "vpc-id") },
    { "NatGateways", where("DescribeNatGateways", "vpc-id") },
    { "InternetGateways", where("DescribeInternetGateways", "attachment.vpc-id") },
    { "TransitGatewayVpcAttachments", where("DescribeTransitGatewayVpcAttachments", "vpc-id") },
    { "VpcEndpoints", where("DescribeVpcEndpoints", "vpc-id") },
    { "EgressOnlyInternetGateways", function() return egress_only_gateways(client, region, scope, vpc_id, cache) end },
    { "VpcAttributes", function() return vpc_attributes(client, region, vpc_id) end },
  }
end

-- Reads that follow from the first ones: the DHCP options the VPC names, the
-- devices and prefix lists its routes name, the flow logs of it and its subnets.
local function second_reads(client, region, scope, vpc_id, net, cache)
  local ec2, errs = net.ec2, net.errors
  local parts = {}
  local function from(part, source, ids_fn, op, filter)
    if errs[source] then
      errs[part] = derived_error(part, source, errs[source])
      return
    end
    local ids = ids_fn()
    parts[#parts + 1] = { part, function() return ec2_where(client, region, op, filter, ids) end }
  end
  from("DhcpOptions", "Vpcs", function()
    local ids = {}
    for _, v in ipairs(ec2.Vpcs) do
      if v.dhcpOptionsId ~= "default" then ids[#ids + 1] = v.dhcpOptionsId end
    end
    return unique(ids)
  end, "DescribeDhcpOptions", "dhcp-options-id")
  from("TransitGateways", "RouteTables", function()
    local ids = route_ids(ec2.RouteTables, "transitGatewayId")
    for _, a in ipairs(list(ec2.TransitGatewayVpcAttachments)) do ids[#ids + 1] = a.transitGatewayId end
    return unique(ids)
  end, "DescribeTransitGateways", "transit-gateway-id")
  from("NetworkInterfaces", "RouteTables", function() return route_ids(ec2.RouteTables, "networkInterfaceId") end,
    "DescribeNetworkInterfaces", "network-interface-id")
  from("Instances", "RouteTables", function() return route_ids(ec2.RouteTables, "instanceId") end,
    "DescribeInstances", "instance-id")
  parts[#parts + 1] = { "FlowLogs", function()
    local ids = { vpc_id }
    for _, s in ipairs(list(ec2.Subnets)) do ids[#ids + 1] = s.subnetId end
    return ec2_where(client, region, "DescribeFlowLogs", "resource-id", unique(ids))
  end }
  if errs.RouteTables then
    errs.ManagedPrefixLists = derived_error("ManagedPrefixLists", "RouteTables", errs.RouteTables)
  else
    parts[#parts + 1] = { "PrefixLists", function()
      return prefix_lists(client, region, scope, route_ids(ec2.RouteTables, "destinationPrefixListId"), cache)
    end }
  end
  run_parts(client, parts, ec2, errs)
  if errs.PrefixLists then errs.ManagedPrefixLists, errs.PrefixLists = errs.PrefixLists, nil end
end

-- An instance behind a route's network interface (an appliance named by its
-- interface alone): read it too.
local function third_reads(client, region, net)
  local ec2, errs = net.ec2, net.errors
  if not ec2.NetworkInterfaces or not ec2.Instances then return end
  local have, want = {}, {}
  for _, r in ipairs(ec2.Instances) do
    for _, i in ipairs(list(r.instancesSet)) do have[i.instanceId] = true end
  end
  for _, eni in ipairs(ec2.NetworkInterfaces) do
    local id = type(eni.attachment) == "table" and eni.attachment.instanceId
    if id and not have[id] then want[#want + 1] = id end
  end
  want = unique(want)
  if #want == 0 then return end
  local more, err = ec2_where(client, region, "DescribeInstances", "instance-id", want)
  if not more then
    ec2.Instances, errs.Instances = nil, err
    return
  end
  table.move(more, 1, #more, #ec2.Instances + 1, ec2.Instances)
end

--- One VPC's network, read once per cache: `{ec2 = {part = wire items},
-- errors = {part = err}}`. Never fails as a whole.
function M.vpc(client, region, scope, vpc_id, cache)
  return cache:get(client.runtime, scope .. "/vpc/" .. vpc_id, function()
    local net = { ec2 = {}, errors = {} }
    run_parts(client, first_reads(client, region, scope, vpc_id, cache), net.ec2, net.errors)
    second_reads(client, region, scope, vpc_id, net, cache)
    third_reads(client, region, net)
    return net
  end)
end

---------------------------------------------------------------------------------------
-- Several VPCs merged into one snapshot's EC2 parts

-- The id field of each part's wire items (duplicates across VPCs dropped).
local ID_OF = {
  Vpcs = "vpcId", Subnets = "subnetId", RouteTables = "routeTableId", NetworkAcls = "networkAclId",
  NatGateways = "natGatewayId", InternetGateways = "internetGatewayId",
  TransitGatewayVpcAttachments = "transitGatewayAttachmentId", VpcEndpoints = "vpcEndpointId",
  EgressOnlyInternetGateways = "egressOnlyInternetGatewayId", DhcpOptions = "dhcpOptionsId",
  TransitGateways = "transitGatewayId", NetworkInterfaces = "networkInterfaceId", Instances = "reservationId",
  FlowLogs = "flowLogId", SecurityGroups = "groupId", ManagedPrefixLists = "prefixListId",
}

local function add_items(into, seen, items, key)
  for _, it in ipairs(items) do
    local id = type(it) == "table" and it[key]
    if id == nil or not seen[id] then
      if id ~= nil then seen[id] = true end
      into[#into + 1] = it
    end
  end
end

-- A part missing from any VPC is missing from the snapshot (with the first
-- reason): a partial list could make a check fail or pass on half the facts.
local function merge(nets, primary)
  local ec2, errs = {}, {}
  for part, key in pairs(ID_OF) do
    if part ~= "SecurityGroups" and part ~= "ManagedPrefixLists" then
      local items, seen = {}, {}
      for _, n in ipairs(nets) do
        if n.errors[part] then
          errs[part] = errs[part] or n.errors[part]
        elseif n.ec2[part] then
          add_items(items, seen, n.ec2[part], key)
        end
      end
      if not errs[part] then ec2[part] = items end
    end
  end
  local pl_items, pl_seen, entries = {}, {}, {}
  for _, n in ipairs(nets) do
    if n.errors.ManagedPrefixLists then
      errs.ManagedPrefixLists = errs.ManagedPrefixLists or n.errors.ManagedPrefixLists
    elseif n.ec2.PrefixLists then
      add_items(pl_items, pl_seen, n.ec2.PrefixLists.items, "prefixListId")
      for id, e in pairs(n.ec2.PrefixLists.entries) do entries[id] = e end
    end
  end
  ec2.ManagedPrefixLists, ec2.PrefixListEntries = pl_items, entries
  -- The VPC attributes are the cluster's own VPC's.
  if primary then
    ec2.VpcAttributes, errs.VpcAttributes = primary.ec2.VpcAttributes, primary.errors.VpcAttributes
  end
  return ec2, errs
end

--- The network of a set of subnets: their VPC (`vpc_id` when known, else the
-- VPC of the first subnet) and the VPCs of subnets outside it.
-- @return ec2 parts, errors, vpc id, ids of subnets that do not exist
function M.network(client, region, scope, vpc_id, subnet_ids, cache)
  subnet_ids = unique(list(subnet_ids))
  local nets, errs = {}, {}
  local vpc_of = {}
  local function locate(ids)
    local found, err = ec2_where(client, region, "DescribeSubnets", "subnet-id", ids)
    if not found then return nil, err end
    for _, s in ipairs(found) do vpc_of[s.subnetId] = s.vpcId end
    return true
  end
  if not vpc_id and #subnet_ids > 0 then
    local ok, err = locate(subnet_ids)
    if not ok then return nil, err end
    vpc_id = vpc_of[subnet_ids[1]]
  end
  local primary = vpc_id and M.vpc(client, region, scope, vpc_id, cache)
  if primary then nets[1] = primary end
  if primary and primary.ec2.Subnets then
    for _, s in ipairs(primary.ec2.Subnets) do vpc_of[s.subnetId] = s.vpcId end
  end
  local unknown = {}
  for _, id in ipairs(subnet_ids) do
    if vpc_of[id] == nil then unknown[#unknown + 1] = id end
  end
  if #unknown > 0 and not (primary and primary.errors.Subnets) then
    local ok, err = locate(unknown)
    if not ok then errs.Subnets = err end
  end
  local others = {}
  for _, id in ipairs(subnet_ids) do
    if vpc_of[id] and vpc_of[id] ~= vpc_id then others[#others + 1] = vpc_of[id] end
  end
  others = unique(others)
  local more = parallel(others, function(v) return M.vpc(client, region, scope, v, cache) end,
    { runtime = client.runtime, concurrency = math.max(1, #others) })
  for i = 1, #others do nets[#nets + 1] = more[i] end
  local ec2, merrs = merge(nets, primary)
  for k, v in pairs(errs) do merrs[k] = merrs[k] or v end
  local missing = {}
  for _, id in ipairs(subnet_ids) do
    if vpc_of[id] == nil then missing[#missing + 1] = id end
  end
  return ec2, merrs, vpc_id, missing
end

---------------------------------------------------------------------------------------
-- Security groups (a cluster's own; rules may name prefix lists)

--- The groups `ids` and the prefix lists their egress rules name.
function M.security_groups(client, region, scope, ids, cache)
  local groups, err = ec2_where(client, region, "DescribeSecurityGroups", "group-id", unique(ids))
  if not groups then return nil, err end
  local pl = {}
  for _, g in ipairs(groups) do
    for _, p in ipairs(list(g.ipPermissionsEgress)) do
      for _, ref in ipairs(list(p.prefixListIds)) do pl[#pl + 1] = ref.prefixListId end
    end
  end
  local lists, perr = prefix_lists(client, region, scope, unique(pl), cache)
  return { groups = groups, prefix_lists = lists, prefix_lists_error = perr }
end

---------------------------------------------------------------------------------------
-- The cluster IAM role

local ROLE_ACTIONS = { "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions" }

-- IAM is global: its requests are signed for the partition's IAM region
-- (us-east-1 in aws), whatever the cluster's region, also when an endpoint
-- URL is configured.
local function iam_options(region)
  local ep = region and endpoints.default("iam", region)
  return { region = ep and ep.signing_region or nil }
end

local function policy_document(client, iam, arn, cache)
  return cache:get(client.runtime, "policy/" .. arn, function()
    local p, err = client:call("iam", "GetPolicy", { PolicyArn = arn }, iam)
    if not p then return nil, err end
    local version = p.Policy and p.Policy.DefaultVersionId
    if not version then return nil, errors.new("ParseError", "GetPolicy returned no DefaultVersionId for " .. arn) end
    local v, verr = client:call("iam", "GetPolicyVersion", { PolicyArn = arn, VersionId = version }, iam)
    if not v then return nil, verr end
    local doc = v.PolicyVersion and v.PolicyVersion.Document
    if not doc then return nil, errors.new("ParseError", "GetPolicyVersion returned no document for " .. arn) end
    return doc
  end)
end

-- The role from its policy documents: GetRole, the attached policies' default
-- versions, the inline policies and the permissions boundary. A document that
-- cannot be read is left out (the check then says which one it could not read).
local function role_documents(client, iam, name, cache)
  local got, err = client:call("iam", "GetRole", { RoleName = name }, iam)
  if not got then return nil, err end
  local attached, aerr = client:collect("iam", "ListAttachedRolePolicies", { RoleName = name }, iam)
  if not attached then return nil, aerr end
  local inline, ierr = client:collect("iam", "ListRolePolicies", { RoleName = name }, iam)
  if not inline then return nil, ierr end
  local role = { Role = got.Role, AttachedPolicies = {}, RolePolicies = {} }
  local docs = parallel(attached, function(p) return policy_document(client, iam, p.PolicyArn, cache) end,
    { runtime = client.runtime, concurrency = math.max(1, #attached) })
  for i, p in ipairs(attached) do
    role.AttachedPolicies[i] = { PolicyName = p.PolicyName, PolicyArn = p.PolicyArn, Document = docs[i] }
  end
  local outs = parallel(inline, function(pname)
    return client:call("iam", "GetRolePolicy", { RoleName = name, PolicyName = pname }, iam)
  end, { runtime = client.runtime, concurrency = math.max(1, #inline) })
  for i, pname in ipairs(inline) do
    role.RolePolicies[#role.RolePolicies + 1] = outs[i] or { PolicyName = pname }
  end
  local pb = type(got.Role) == "table" and got.Role.PermissionsBoundary
  local pb_arn = type(pb) == "table" and pb.PermissionsBoundaryArn
  if pb_arn then
    role.PermissionsBoundary = { PolicyArn = pb_arn, Document = (policy_document(client, iam, pb_arn, cache)) }
  end
  return role
end

--- The cluster role as the checks read it, cached per role ARN: its policy
-- documents, else (when those reads are denied) IAM's policy simulator for the
-- two actions; nil, err when neither can be read.
function M.role(client, region, role_arn, cache)
  return cache:get(client.runtime, "role/" .. role_arn, function()
    local iam = iam_options(region)
    local name = role_arn:match(":role/(.+)$")
    name = name and name:match("([^/]+)$")
    if not name then
      return nil, errors.new("InvalidRoleArn", ("%q is not an IAM role ARN"):format(role_arn))
    end
    local role, err = role_documents(client, iam, name, cache)
    if role then return role end
    local sim, serr = client:collect("iam", "SimulatePrincipalPolicy",
      { PolicySourceArn = role_arn, ActionNames = ROLE_ACTIONS }, iam)
    if sim then return { EvaluationResults = sim } end
    return nil, errors.new(err.code or "Error", ("%s; the policy simulator: %s"):format(
      tostring(err.message), tostring(serr and (serr.code or "") .. ": " .. tostring(serr.message))),
      { status = err.status, request_id = err.request_id })
  end)
end

---------------------------------------------------------------------------------------
-- EKS: the cluster's updates and identity providers

-- List, then describe every item concurrently: all the outputs, or the
-- first error (a partial list could hide the update that is in progress).
local function list_and_describe(client, region, list_op, list_params, describe_op, params_of)
  local items, err = client:collect("eks", list_op, list_params, { region = region })
  if not items then return nil, err end
  local outs, errs = parallel(items, function(item)
    return client:call("eks", describe_op, params_of(item), { region = region })
  end, { runtime = client.runtime, concurrency = math.max(1, #items) })
  for i = 1, #items do
    if not outs[i] then return nil, errs[i] end
  end
  return outs
end

local function updates(client, region, name)
  return list_and_describe(client, region, "ListUpdates", { name = name }, "DescribeUpdate",
    function(id) return { name = name, updateId = id } end)
end

local function identity_providers(client, region, name)
  return list_and_describe(client, region, "ListIdentityProviderConfigs", { clusterName = name },
    "DescribeIdentityProviderConfig", function(c)
      return { clusterName = name, identityProviderConfig = { type = c.type, name = c.name } }
    end)
end

---------------------------------------------------------------------------------------
-- Putting one target together

local function arn_account(arn)
  return type(arn) == "string" and arn:match("^arn:[^:]*:[^:]*:[^:]*:(%d+):") or nil
end
M.arn_account = arn_account

--- Read everything the checks need about a set of subnets, security groups
-- and a role (a cluster's, or a cluster to be created).
-- @tparam table spec region, account (cache scope; nil is fine), vpc_id (when
--   known), subnet_ids, security_group_ids, role_arn, cluster (DescribeCluster
--   `cluster`, or nil), name (for EKS reads), parts = {updates =,
--   identity_providers =, role = } (false skips a read)
-- @return raw (for snapshot.from_client), and `{vpc_id =, missing_subnets =}`
function M.assemble(client, spec, cache)
  local region = spec.region
  local scope = (spec.account or "?") .. "/" .. tostring(region)
  local parts = spec.parts or {}
  local raw = { cluster = spec.cluster, ec2 = {}, errors = {} }
  local info = {}
  local jobs = {}
  jobs[#jobs + 1] = { "network", function()
    local ec2, errs, vpc_id, missing = M.network(client, region, scope, spec.vpc_id, spec.subnet_ids, cache)
    if not ec2 then return nil, errs end
    return { ec2 = ec2, errors = errs, vpc_id = vpc_id, missing = missing }
  end }
  local sg_ids = unique(list(spec.security_group_ids))
  if #sg_ids > 0 then
    jobs[#jobs + 1] = { "security_groups", function()
      return M.security_groups(client, region, scope, sg_ids, cache)
    end }
  end
  if spec.role_arn and parts.role ~= false then
    jobs[#jobs + 1] = { "role", function() return M.role(client, region, spec.role_arn, cache) end }
  end
  if spec.cluster and parts.updates ~= false then
    jobs[#jobs + 1] = { "updates", function() return updates(client, region, spec.name) end }
  end
  if spec.cluster and parts.identity_providers ~= false then
    jobs[#jobs + 1] = { "identity_providers", function() return identity_providers(client, region, spec.name) end }
  end
  local got, errs = {}, {}
  run_parts(client, jobs, got, errs)

  if got.network then
    for k, v in pairs(got.network.ec2) do raw.ec2[k] = v end
    for k, v in pairs(got.network.errors) do raw.errors[k] = v end
    info.vpc_id, info.missing_subnets = got.network.vpc_id, got.network.missing
  else
    for _, part in ipairs({ "Vpcs", "Subnets", "RouteTables", "NetworkAcls", "NatGateways", "InternetGateways",
      "TransitGateways", "TransitGatewayVpcAttachments", "VpcEndpoints", "EgressOnlyInternetGateways",
      "DhcpOptions", "FlowLogs", "NetworkInterfaces", "Instances", "VpcAttributes" }) do
      raw.errors[part] = errs.network
    end
    info.vpc_id, info.missing_subnets = spec.vpc_id, {}
  end
  if #sg_ids > 0 then
    local sg = got.security_groups
    if sg then
      raw.ec2.SecurityGroups = sg.groups
      if sg.prefix_lists then
        local items = raw.ec2.ManagedPrefixLists or {}
        local seen = {}
        for _, p in ipairs(items) do seen[p.prefixListId] = true end
        add_items(items, seen, sg.prefix_lists.items, "prefixListId")
        raw.ec2.ManagedPrefixLists = items
        raw.ec2.PrefixListEntries = raw.ec2.PrefixListEntries or {}
        for id, e in pairs(sg.prefix_lists.entries) do raw.ec2.PrefixListEntries[id] = e end
      else
        raw.errors.ManagedPrefixLists = sg.prefix_lists_error
      end
    else
      raw.errors.SecurityGroups = errs.security_groups
    end
  else
    raw.ec2.SecurityGroups = {}
  end
  if raw.errors.ManagedPrefixLists then raw.ec2.ManagedPrefixLists, raw.ec2.PrefixListEntries = nil, nil end
  for _, part in ipairs({ "role", "updates", "identity_providers" }) do
    if got[part] then raw[part] = got[part] elseif errs[part] then raw.errors[part] = errs[part] end
  end
  return raw, info
end

--- Read one cluster.
-- @tparam table target name, region, account (optional), cluster (an already
--   described `cluster`: no DescribeCluster then), parts (see assemble)
-- @return raw, cluster, info; or nil, err when the cluster cannot be described
function M.cluster(client, target, cache)
  local cluster = target.cluster
  if not cluster then
    local out, err = client:call("eks", "DescribeCluster", { name = target.name }, { region = target.region })
    if not out then return nil, err end
    cluster = out.cluster
  end
  local vpc = type(cluster.resourcesVpcConfig) == "table" and cluster.resourcesVpcConfig or {}
  local sgs = {}
  if vpc.clusterSecurityGroupId then sgs[1] = vpc.clusterSecurityGroupId end
  for _, g in ipairs(list(vpc.securityGroupIds)) do sgs[#sgs + 1] = g end
  local raw, info = M.assemble(client, {
    region = target.region, account = target.account or arn_account(cluster.arn), vpc_id = vpc.vpcId,
    subnet_ids = vpc.subnetIds, security_group_ids = sgs, role_arn = cluster.roleArn, cluster = cluster,
    name = cluster.name or target.name, parts = target.parts,
  }, cache)
  return raw, cluster, info
end

return M
