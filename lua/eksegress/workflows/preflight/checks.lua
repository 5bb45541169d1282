--- The network preflight's checks, defined once: ids, severities, titles, help,
-- and the evaluators over a snapshot (see eksegress.workflows.preflight.snapshot).
-- Pure: plain tables in, plain tables out; nothing networked.
--
--     local checks = require "eksegress.workflows.preflight.checks"
--     local results, summary = checks.run(snapshot, { region = "us-west-2" })
--     for _, r in ipairs(results) do print(r.id, r.status, r.severity, r.message) end
--     if summary.blocking > 0 then ... end
--
-- Each result: `{id, status = "pass"|"fail"|"not_evaluated", severity =
-- "blocking"|"warning"|"info", title, message, resources = {ids}, evidence =
-- {items = {one table per subnet, address family or target examined}} or nil,
-- fix = "aws ..." (failures, when a command can fix it)}`. A check whose inputs are
-- missing from the snapshot reports `not_evaluated` with the reason; it never
-- passes silently. Checks that do not apply (an IPv6 check on an IPv4 cluster, a
-- NAT gateway check when no route uses one) pass with a message that says so.
--
-- Semantics follow tools/ekssim/README.md ("Preflight check ids") for the ids the
-- simulator's ground truth shares, and issue 10 §2: the effective route table of
-- a subnet is its explicit association, else the VPC's main table; the route an
-- address takes is the longest prefix that contains it; network ACL entries are
-- evaluated as EC2 does (rule-number order, first match wins, the implicit deny
-- last, IPv4 and IPv6 entries apart) and a requirement holds when every packet it
-- describes is allowed; security groups allow the union of their egress rules.
local cidr = require "eksegress.net.cidr"
local evaluate = require "eksegress.workflows.scp.evaluate"
local fixes = require "eksegress.workflows.preflight.fixes"
local snapshot_mod = require "eksegress.workflows.preflight.snapshot"

local M = {}

local BLOCKING, WARNING, INFO = "blocking", "warning", "info"

-- The check list. Order is the report order.
local DEFS = {
  { id = "cluster_status", severity = BLOCKING, group = "cluster", title = "Cluster is ACTIVE",
    help = "EKS accepts a configuration update only on an ACTIVE cluster (DescribeCluster status)." },
  { id = "update_in_progress", severity = BLOCKING, group = "cluster", title = "No update in progress",
    help = "A second update while one is InProgress fails with ResourceInUseException (ListUpdates + "
      .. "DescribeUpdate)." },
  { id = "egress_mode", severity = INFO, group = "cluster", title = "Current control plane egress mode",
    help = "resourcesVpcConfig.controlPlaneEgressMode: AWS_MANAGED can be switched to CUSTOMER_ROUTED (one way); "
      .. "CUSTOMER_ISOLATED is undocumented; a missing field means the mode is unknown." },
  { id = "subnets_same_vpc", severity = BLOCKING, group = "subnets", title = "Cluster subnets share one VPC",
    help = "Every subnet in resourcesVpcConfig.subnetIds must be in the cluster's VPC." },
  { id = "subnets_multi_az", severity = BLOCKING, group = "subnets", title = "Subnets span two or more AZs",
    help = "EKS needs subnets in at least two Availability Zones." },
  { id = "subnet_free_ips", severity = BLOCKING, group = "subnets", title = "Subnets have free IP addresses",
    help = "Each cluster subnet needs at least 6 free IP addresses for the EKS network interfaces (16 "
      .. "recommended)." },
  { id = "route_default", severity = BLOCKING, group = "routes", title = "Default route in every cluster subnet",
    help = "The effective route table of every cluster subnet (its explicit association, else the VPC's main "
      .. "table) needs a route for 0.0.0.0/0 to an egress device." },
  { id = "route_blackhole", severity = BLOCKING, group = "routes", title = "Default route is not a blackhole",
    help = "A default route in state blackhole drops the traffic (its target was deleted or stopped)." },
  { id = "route_igw_only", severity = BLOCKING, group = "routes",
    title = "Default route does not go straight to an internet gateway",
    help = "The cluster's network interfaces have no public IPv4 addresses; an internet gateway only carries "
      .. "IPv4 traffic from addresses that have one, so their traffic is dropped. Route through a NAT gateway, "
      .. "NAT instance, firewall or transit gateway." },
  { id = "route_specific_blackhole", severity = WARNING, group = "routes",
    title = "No more-specific blackhole routes",
    help = "A route more specific than the default route wins for the addresses it covers (longest prefix "
      .. "match); in state blackhole it silently drops traffic to those destinations." },
  { id = "egress_device_nat", severity = BLOCKING, group = "devices", title = "NAT gateway is available",
    help = "A default route to a NAT gateway needs the gateway in state available." },
  { id = "egress_device_nat_upstream", severity = WARNING, group = "devices",
    title = "Public NAT gateway reaches an internet gateway",
    help = "A public NAT gateway forwards through its own subnet's route table, which needs 0.0.0.0/0 to an "
      .. "internet gateway." },
  { id = "egress_device_tgw", severity = BLOCKING, group = "devices",
    title = "Transit gateway and its VPC attachment are available",
    help = "A default route to a transit gateway needs the gateway and the VPC attachment available, with an "
      .. "attachment subnet in the subnet's Availability Zone." },
  { id = "egress_device_instance", severity = BLOCKING, group = "devices",
    title = "NAT instance is running with source/destination check off",
    help = "A default route to an instance or network interface (NAT instance, appliance) needs the instance "
      .. "running and source/destination checking disabled, or it drops forwarded traffic." },
  { id = "ipv6_egress_only", severity = BLOCKING, group = "routes", title = "IPv6 default route (IPv6 clusters)",
    help = "IPv6 clusters need ::/0 to an egress-only internet gateway (or an internet gateway, or another "
      .. "device) attached to the VPC." },
  { id = "nacl_outbound_443", severity = BLOCKING, group = "nacl", title = "Network ACL allows outbound TCP 443",
    help = "The subnet's network ACL must allow outbound TCP 443 to 0.0.0.0/0 (and ::/0 for IPv6 clusters): "
      .. "webhooks, OIDC discovery and aggregated APIs." },
  { id = "nacl_outbound_10250", severity = BLOCKING, group = "nacl",
    title = "Network ACL allows outbound TCP 10250 to the VPC",
    help = "The subnet's network ACL must allow outbound TCP 10250 (kubelet) to the VPC CIDR." },
  { id = "nacl_inbound_ephemeral", severity = BLOCKING, group = "nacl",
    title = "Network ACL allows inbound return traffic",
    help = "Network ACLs are stateless: inbound TCP 1024-65535 from 0.0.0.0/0 (and ::/0 for IPv6 clusters) must "
      .. "be allowed for replies." },
  { id = "sg_egress_443", severity = BLOCKING, group = "security_groups",
    title = "Security groups allow outbound TCP 443",
    help = "The union of the egress rules of the cluster security group and the additional security groups "
      .. "must allow TCP 443 to 0.0.0.0/0 (and ::/0 for IPv6 clusters)." },
  { id = "sg_egress_10250", severity = BLOCKING, group = "security_groups",
    title = "Security groups allow outbound TCP 10250 to the nodes",
    help = "The union of the cluster's security group egress rules must allow TCP 10250 to the VPC CIDR or to "
      .. "a referenced (node) security group." },
  { id = "dhcp_amazon_dns", severity = WARNING, group = "dns", title = "VPC DHCP options use AmazonProvidedDNS",
    help = "In CUSTOMER_ROUTED mode the control plane resolves names with the VPC's DHCP options; custom "
      .. "resolvers must resolve both private and public names." },
  { id = "vpc_dns_support", severity = BLOCKING, group = "dns", title = "VPC DNS resolution is enabled",
    help = "enableDnsSupport must be true (DescribeVpcAttribute)." },
  { id = "vpc_dns_hostnames", severity = BLOCKING, group = "dns", title = "VPC DNS hostnames are enabled",
    help = "enableDnsHostnames must be true (DescribeVpcAttribute)." },
  { id = "iam_role_describe", severity = BLOCKING, group = "iam",
    title = "Cluster role may call ec2:DescribeVpcs and ec2:DescribeDhcpOptions",
    help = "The cluster IAM role needs ec2:DescribeVpcs and ec2:DescribeDhcpOptions (both in "
      .. "AmazonEKSClusterPolicy) to pick up DHCP option changes." },
  { id = "destination_oidc_issuer", severity = INFO, group = "destinations",
    title = "OIDC issuer must stay reachable",
    help = "The cluster's OIDC issuer (IRSA) is fetched over TCP 443 through the VPC once egress is "
      .. "customer routed." },
  { id = "destination_identity_providers", severity = INFO, group = "destinations",
    title = "Associated OIDC identity providers must stay reachable",
    help = "Issuer URLs of associated OIDC identity providers are fetched through the VPC once egress is "
      .. "customer routed (ListIdentityProviderConfigs, DescribeIdentityProviderConfig)." },
  { id = "eks_endpoint_private_dns", severity = WARNING, group = "advisories",
    title = "No EKS interface endpoint with private DNS",
    help = "With an EKS interface VPC endpoint that has private DNS, oidc.eks.<region>.amazonaws.com can return "
      .. "NXDOMAIN inside the VPC (IRSA guide); in CUSTOMER_ROUTED mode the control plane uses the VPC's DNS." },
  { id = "flow_logs", severity = INFO, group = "advisories", title = "VPC flow logs are enabled",
    help = "Without flow logs, the control plane's traffic through the VPC is not logged." },
}

local BY_ID = {}
for i, d in ipairs(DEFS) do
  d.order = i
  BY_ID[d.id] = d
end

--- The check list: `{ {id, severity, title, help, group}, ... }` in report order
-- (copies; the SARIF renderer and the docs read it).
function M.list()
  local out = {}
  for i, d in ipairs(DEFS) do
    out[i] = { id = d.id, severity = d.severity, title = d.title, help = d.help, group = d.group }
  end
  return out
end

--- The ids alone, in report order.
function M.ids()
  local out = {}
  for i, d in ipairs(DEFS) do out[i] = d.id end
  return out
end

---------------------------------------------------------------------------------------
-- Small helpers

local function list(v) return type(v) == "table" and v or {} end

local function lower(v) return type(v) == "string" and v:lower() or nil end

local function index(items, key)
  local t = {}
  for _, it in ipairs(list(items)) do
    if type(it) == "table" and it[key] ~= nil then t[it[key]] = it end
  end
  return t
end

local function is_true(v) return v == true or v == "true" end

local function unique(values)
  local out, seen = {}, {}
  for _, v in ipairs(values) do
    if v ~= nil and not seen[v] then
      seen[v] = true
      out[#out + 1] = v
    end
  end
  return out
end

-- JSON decoders give floats (443.0); EC2 numbers here are integers.
local function as_number(v)
  local n = tonumber(v)
  return n and (math.tointeger(n) or n)
end

-- An outcome is one check's verdict on one item (a subnet, a family, ...).
local function pass(message, evidence, resources)
  return { status = "pass", message = message, evidence = evidence, resources = resources }
end

local function fail(message, evidence, resources, fix)
  return { status = "fail", message = message, evidence = evidence, resources = resources, fix = fix }
end

local function not_evaluated(message, evidence)
  return { status = "not_evaluated", message = message, evidence = evidence }
end

-- Several outcomes into one: any failure fails, else any gap is not evaluated.
local function combine(outcomes)
  local status = "pass"
  for _, o in ipairs(outcomes) do
    if o.status == "fail" then status = "fail" break end
    if o.status == "not_evaluated" then status = "not_evaluated" end
  end
  local messages, evidence, resources, fixlist = {}, {}, {}, {}
  for _, o in ipairs(outcomes) do
    if o.status == status then
      messages[#messages + 1] = o.message
      for _, r in ipairs(list(o.resources)) do resources[#resources + 1] = r end
      -- Command by command, so a step several items share (creating the
      -- egress-only gateway of their VPC) is listed once.
      for line in (o.fix and o.fix .. "\n" or ""):gmatch("([^\n]+)\n") do fixlist[#fixlist + 1] = line end
    end
    if o.combined then
      -- An outcome already combined: keep its evidence items flat.
      for _, e in ipairs(o.evidence) do evidence[#evidence + 1] = e end
    elseif o.evidence then
      local e = o.evidence
      e.status = e.status or o.status
      evidence[#evidence + 1] = e
    end
  end
  local fix = #fixlist > 0 and table.concat(unique(fixlist), "\n") or nil
  return { status = status, message = table.concat(unique(messages), "; "), evidence = evidence,
           resources = unique(resources), fix = fix, combined = true }
end

-- Why a snapshot part is missing.
local function missing(ctx, part, what)
  local why = ctx.snap.errors and ctx.snap.errors[part]
  if why then return ("%s could not be read: %s"):format(what or part, why) end
  return ("%s: not in the snapshot"):format(what or part)
end

---------------------------------------------------------------------------------------
-- The run context: indexes over the snapshot, built once.

local function parse_arn(arn)
  if type(arn) ~= "string" then return nil end
  local partition, service, region, account, resource = arn:match("^arn:([^:]*):([^:]*):([^:]*):([^:]*):(.*)$")
  if not partition then return nil end
  return { partition = partition, service = service, region = region, account = account, resource = resource }
end

local function build_context(snap, opts)
  local ctx = { snap = snap, opts = opts }
  local cluster = type(snap.cluster) == "table" and snap.cluster or nil
  ctx.cluster = cluster
  ctx.vpc_cfg = cluster and type(cluster.resourcesVpcConfig) == "table" and cluster.resourcesVpcConfig or {}
  ctx.name = cluster and cluster.name or opts.cluster_name or "<cluster-name>"
  local arn = parse_arn(cluster and cluster.arn)
  ctx.region = opts.region or (arn and arn.region ~= "" and arn.region) or nil
  ctx.partition = arn and arn.partition or "aws"
  local knc = cluster and type(cluster.kubernetesNetworkConfig) == "table" and cluster.kubernetesNetworkConfig or {}
  ctx.ipv6 = lower(knc.ipFamily) == "ipv6"
  ctx.families = ctx.ipv6 and { 4, 6 } or { 4 }
  ctx.subnet_ids = unique(list(ctx.vpc_cfg.subnetIds))
  ctx.subnets = snap.Subnets and index(snap.Subnets, "SubnetId") or nil
  ctx.vpcs = snap.Vpcs and index(snap.Vpcs, "VpcId") or nil
  ctx.vpc_id = ctx.vpc_cfg.vpcId
  if not ctx.vpc_id and ctx.subnets then
    local first = ctx.subnets[ctx.subnet_ids[1]]
    ctx.vpc_id = first and first.VpcId
  end
  ctx.vpc = ctx.vpcs and ctx.vpc_id and ctx.vpcs[ctx.vpc_id] or nil
  ctx.fix = { region = ctx.region }
  return ctx
end

-- The subnets of the cluster, each with its record (or nil when the snapshot lacks it).
local function each_subnet(ctx, fn)
  local outcomes = {}
  for _, id in ipairs(ctx.subnet_ids) do
    local s = ctx.subnets and ctx.subnets[id]
    if not ctx.subnets then
      outcomes[#outcomes + 1] = not_evaluated(missing(ctx, "Subnets", "the subnets"))
    elseif not s then
      outcomes[#outcomes + 1] = not_evaluated(("%s is not in the snapshot"):format(id), { subnet = id })
    else
      outcomes[#outcomes + 1] = fn(id, s)
    end
  end
  if #ctx.subnet_ids == 0 then
    outcomes[#outcomes + 1] = not_evaluated("the cluster lists no subnets (resourcesVpcConfig.subnetIds)")
  end
  return combine(outcomes)
end

local function vpc_cidr(ctx, vpc_id)
  local v = ctx.vpcs and ctx.vpcs[vpc_id]
  return v and v.CidrBlock
end

---------------------------------------------------------------------------------------
-- Route tables

-- The route table that decides for a subnet: its explicit association, else the
-- main table of its VPC.
local function route_table_for(ctx, subnet_id, vpc_id)
  if not ctx.snap.RouteTables then return nil, missing(ctx, "RouteTables", "the route tables") end
  for _, rt in ipairs(ctx.snap.RouteTables) do
    for _, a in ipairs(list(rt.Associations)) do
      local state = type(a.AssociationState) == "table" and lower(a.AssociationState.State)
      if a.SubnetId == subnet_id and (not state or state == "associated" or state == "associating") then
        return rt, "explicit association"
      end
    end
  end
  for _, rt in ipairs(ctx.snap.RouteTables) do
    if rt.VpcId == vpc_id or rt.VpcId == nil then
      for _, a in ipairs(list(rt.Associations)) do
        if is_true(a.Main) then return rt, "main route table: no explicit association" end
      end
    end
  end
  return nil, ("no route table is associated with %s and the main route table of %s is not in the snapshot")
    :format(subnet_id, tostring(vpc_id))
end

local function route_destination(r)
  return r.DestinationCidrBlock or r.DestinationIpv6CidrBlock or r.DestinationPrefixListId
end

-- What a route sends traffic to: kind, id.
local function route_target(r)
  if r.NatGatewayId then return "nat", r.NatGatewayId end
  if r.TransitGatewayId then return "tgw", r.TransitGatewayId end
  if r.EgressOnlyInternetGatewayId then return "eigw", r.EgressOnlyInternetGatewayId end
  if r.InstanceId then return "instance", r.InstanceId end
  if r.NetworkInterfaceId then return "eni", r.NetworkInterfaceId end
  if r.VpcEndpointId then return "vpce", r.VpcEndpointId end
  if r.VpcPeeringConnectionId then return "pcx", r.VpcPeeringConnectionId end
  local other = r.CarrierGatewayId or r.LocalGatewayId or r.CoreNetworkArn
  if other then return "other", other end
  local g = r.GatewayId
  if g == "local" then return "local", g end
  if type(g) == "string" then
    local prefix = g:match("^(%a+)%-")
    if prefix == "igw" then return "igw", g end
    if prefix == "vgw" then return "vgw", g end
    if prefix == "vpce" then return "vpce", g end
    if prefix == "eigw" then return "eigw", g end
    return "other", g
  end
  return "unknown", nil
end

local function route_summary(r)
  local kind, id = route_target(r)
  return { destination = route_destination(r), target = id, target_kind = kind, state = r.State,
           origin = r.Origin }
end

local function is_blackhole(r) return lower(r.State) == "blackhole" end

-- Routes of one family with a CIDR destination, parsed.
local function cidr_routes(rt, family)
  local out = {}
  for _, r in ipairs(list(rt.Routes)) do
    local d = family == 6 and r.DestinationIpv6CidrBlock or r.DestinationCidrBlock
    local p = d and cidr.parse(d)
    if p and p.family == family then out[#out + 1] = { route = r, prefix = p } end
  end
  return out
end

-- The routes that carry traffic to arbitrary outside addresses of a family: the
-- 0.0.0.0/0 (::/0) route; without one, the widest routes of the table when they
-- cover every address together (0.0.0.0/1 + 128.0.0.0/1, as some VPN setups do).
-- Returns the list (possibly empty) and "default" | "split".
local function default_routes(rt, family)
  local routes = cidr_routes(rt, family)
  for _, e in ipairs(routes) do
    if e.prefix.len == 0 then return { e.route }, "default" end
  end
  local widest = {}
  for i, e in ipairs(routes) do
    local inside = false
    for j, o in ipairs(routes) do
      if i ~= j and cidr.contains(o.prefix, e.prefix) and not cidr.equal(o.prefix, e.prefix) then
        inside = true
        break
      end
    end
    if not inside then widest[#widest + 1] = e end
  end
  local blocks = {}
  for _, e in ipairs(widest) do blocks[#blocks + 1] = e.prefix end
  if #blocks > 0 and cidr.covers(blocks, cidr.any(family)) then
    local out = {}
    for _, e in ipairs(widest) do
      if route_target(e.route) ~= "local" then out[#out + 1] = e.route end
    end
    return out, "split"
  end
  return {}, nil
end

-- Per subnet: the effective table and its default routes of a family.
local function subnet_routes(ctx, subnet_id, subnet, family)
  local rt, how = route_table_for(ctx, subnet_id, subnet.VpcId)
  if not rt then return nil, how end
  local defaults, shape = default_routes(rt, family)
  return { table = rt, how = how, defaults = defaults, shape = shape }
end

local function route_evidence(subnet_id, info, extra)
  local e = { subnet = subnet_id, route_table = info.table.RouteTableId, selected_by = info.how }
  if #info.defaults > 0 then
    e.default_routes = {}
    for i, r in ipairs(info.defaults) do e.default_routes[i] = route_summary(r) end
  end
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

-- An available NAT gateway of the VPC for a fix, preferring the subnet's AZ.
local function pick_nat(ctx, subnet)
  local best
  for _, n in ipairs(list(ctx.snap.NatGateways)) do
    if lower(n.State) == "available" and n.VpcId == subnet.VpcId and lower(n.ConnectivityType) ~= "private" then
      local home = ctx.subnets and ctx.subnets[n.SubnetId]
      if home and home.AvailabilityZone == subnet.AvailabilityZone then return n.NatGatewayId end
      best = best or n.NatGatewayId
    end
  end
  return best
end

-- A public subnet of the VPC (one whose route table sends 0.0.0.0/0 to an IGW).
local function pick_public_subnet(ctx, vpc_id)
  for _, s in ipairs(list(ctx.snap.Subnets)) do
    if s.VpcId == vpc_id then
      local info = subnet_routes(ctx, s.SubnetId, s, 4)
      if info and info.defaults[1] and route_target(info.defaults[1]) == "igw" then return s.SubnetId end
    end
  end
  return nil
end

-- One command per route table: subnets that share a table (the main one, say)
-- get the same fix, not one create-route per subnet that would collide.
local function egress_fix(ctx, verb, rt_id, subnet)
  ctx.egress_fixes = ctx.egress_fixes or {}
  local key = verb .. " " .. rt_id
  if ctx.egress_fixes[key] then return ctx.egress_fixes[key] end
  local nat = pick_nat(ctx, subnet)
  local fix
  if nat then
    fix = fixes.route(ctx.fix, verb, rt_id, 4, "0.0.0.0/0", "nat", nat)
  else
    fix = fixes.create_nat_gateway(ctx.fix, pick_public_subnet(ctx, subnet.VpcId)) .. "\n"
      .. fixes.route(ctx.fix, verb, rt_id, 4, "0.0.0.0/0", "nat", "<nat-gateway-id>")
  end
  ctx.egress_fixes[key] = fix
  return fix
end

-- For a subnet that falls back to the main table: associate it with the table
-- another cluster subnet of its VPC uses, when that one has an active default
-- route (changing the main table would change every unassociated subnet).
local function sibling_table_fix(ctx, subnet_id, subnet)
  for _, other in ipairs(ctx.subnet_ids) do
    local o = ctx.subnets[other]
    if other ~= subnet_id and o and o.VpcId == subnet.VpcId then
      local info = subnet_routes(ctx, other, o, 4)
      if info and info.how == "explicit association" and info.defaults[1] and not is_blackhole(info.defaults[1]) then
        return fixes.associate_route_table(ctx.fix, info.table.RouteTableId, subnet_id)
      end
    end
  end
  return nil
end

---------------------------------------------------------------------------------------
-- Network ACLs: EC2's evaluation over a region of packets

local function nacl_for(ctx, subnet_id, vpc_id)
  if not ctx.snap.NetworkAcls then return nil, missing(ctx, "NetworkAcls", "the network ACLs") end
  for _, acl in ipairs(ctx.snap.NetworkAcls) do
    for _, a in ipairs(list(acl.Associations)) do
      if a.SubnetId == subnet_id then return acl, "explicit association" end
    end
  end
  for _, acl in ipairs(ctx.snap.NetworkAcls) do
    if acl.VpcId == vpc_id and is_true(acl.IsDefault) then return acl, "the VPC's default network ACL" end
  end
  return nil, ("no network ACL of %s is associated with %s"):format(tostring(vpc_id), subnet_id)
end

local function tcp_protocol(p)
  p = lower(tostring(p))
  return p == "-1" or p == "6" or p == "tcp" or p == "all"
end

local function entry_ports(e)
  if lower(tostring(e.Protocol)) == "-1" or lower(tostring(e.Protocol)) == "all" then return 0, 65535 end
  local pr = type(e.PortRange) == "table" and e.PortRange or nil
  if not pr then return 0, 65535 end
  return as_number(pr.From) or 0, as_number(pr.To) or 65535
end

local PROTOCOL_NAMES = { ["-1"] = "all", ["6"] = "tcp", ["17"] = "udp", ["1"] = "icmp", ["58"] = "icmpv6" }

local function protocol_name(p)
  p = tostring(p)
  return PROTOCOL_NAMES[p] or p
end

local function entry_summary(e)
  local lo, hi = entry_ports(e)
  return { rule_number = as_number(e.RuleNumber), action = lower(e.RuleAction), protocol = protocol_name(e.Protocol),
           cidr = e.CidrBlock or e.Ipv6CidrBlock, ports = lo == hi and tostring(lo) or (lo .. "-" .. hi) }
end

-- Remove the packets of `allow` (ports rlo..rhi to prefix rp) from the undecided boxes.
local function carve(boxes, rlo, rhi, rp)
  local out, changed = {}, false
  for _, b in ipairs(boxes) do
    if rhi < b.lo or rlo > b.hi or not cidr.overlaps(b.net, rp) then
      out[#out + 1] = b
    else
      changed = true
      local ilo, ihi = math.max(b.lo, rlo), math.min(b.hi, rhi)
      if b.lo < ilo then out[#out + 1] = { lo = b.lo, hi = ilo - 1, net = b.net } end
      if ihi < b.hi then out[#out + 1] = { lo = ihi + 1, hi = b.hi, net = b.net } end
      for _, piece in ipairs(cidr.subtract(b.net, rp)) do out[#out + 1] = { lo = ilo, hi = ihi, net = piece } end
    end
  end
  return out, changed
end

local function touches(boxes, rlo, rhi, rp)
  for _, b in ipairs(boxes) do
    if not (rhi < b.lo or rlo > b.hi) and cidr.overlaps(b.net, rp) then return true end
  end
  return false
end

--- Are all TCP packets to/from `target` on ports lo..hi allowed by these entries?
-- EC2 evaluates each packet against the entries of its direction and address
-- family in rule-number order; the first matching entry decides; none matching
-- is a deny. Returns `{allowed = bool, decided_by = entry | "implicit deny",
-- allowed_by = {entries}}`.
function M.nacl_decision(entries, egress, target, lo, hi)
  local tp = cidr.parse(target)
  if not tp then error("eksegress.workflows.preflight.checks: bad target " .. tostring(target), 2) end
  local rules = {}
  for _, e in ipairs(list(entries)) do
    local block = tp.family == 6 and e.Ipv6CidrBlock or e.CidrBlock
    local p = block and cidr.parse(block)
    if p and p.family == tp.family and is_true(e.Egress) == egress and as_number(e.RuleNumber) then
      rules[#rules + 1] = { entry = e, prefix = p, number = as_number(e.RuleNumber) }
    end
  end
  table.sort(rules, function(a, b) return a.number < b.number end)
  local boxes = { { lo = lo, hi = hi, net = tp } }
  local allowed_by = {}
  for _, r in ipairs(rules) do
    if tcp_protocol(r.entry.Protocol) then
      local rlo, rhi = entry_ports(r.entry)
      if lower(r.entry.RuleAction) == "allow" then
        local changed
        boxes, changed = carve(boxes, rlo, rhi, r.prefix)
        if changed then allowed_by[#allowed_by + 1] = r.entry end
        if #boxes == 0 then return { allowed = true, allowed_by = allowed_by } end
      elseif touches(boxes, rlo, rhi, r.prefix) then
        return { allowed = false, decided_by = r.entry, allowed_by = allowed_by }
      end
    end
  end
  return { allowed = false, decided_by = "implicit deny", allowed_by = allowed_by }
end

-- A free rule number for a new allow entry: below the deny that decided, else 100.
local function free_rule_number(entries, egress, before)
  local used = {}
  for _, e in ipairs(list(entries)) do
    if is_true(e.Egress) == egress and as_number(e.RuleNumber) then used[as_number(e.RuleNumber)] = true end
  end
  if before then
    for n = before - 1, 1, -1 do
      if not used[n] then return n end
    end
    return nil
  end
  for n = 100, 32766 do
    if not used[n] then return n end
  end
  return nil
end

-- One NACL requirement on every cluster subnet. `targets(subnet)` lists the CIDRs.
local function nacl_check(ctx, egress, lo, hi, targets)
  return each_subnet(ctx, function(id, subnet)
    local acl, how = nacl_for(ctx, id, subnet.VpcId)
    if not acl then return not_evaluated(how, { subnet = id }) end
    local ts, why = targets(subnet)
    if not ts then return not_evaluated(why, { subnet = id, network_acl = acl.NetworkAclId }) end
    local outcomes = {}
    local dir = egress and "outbound" or "inbound"
    local ports = lo == hi and tostring(lo) or (lo .. "-" .. hi)
    for _, target in ipairs(ts) do
      local d = M.nacl_decision(acl.Entries, egress, target, lo, hi)
      local ev = { subnet = id, network_acl = acl.NetworkAclId, selected_by = how, direction = dir,
                   target = target, ports = ports }
      if d.allowed then
        ev.allowed_by = {}
        for i, e in ipairs(d.allowed_by) do ev.allowed_by[i] = entry_summary(e) end
        outcomes[#outcomes + 1] = pass(("%s: %s allows %s TCP %s %s %s"):format(id, acl.NetworkAclId, dir, ports,
          egress and "to" or "from", target), ev, { id, acl.NetworkAclId })
      else
        local decided = d.decided_by
        local rule_text, before
        -- EC2 lists the "*" rule as 32767 (IPv4) / 32768 (IPv6): that is the implicit deny.
        if decided ~= "implicit deny" and as_number(decided.RuleNumber) >= 32767 then decided = "implicit deny" end
        if decided == "implicit deny" then
          rule_text = "no rule allows it (the implicit deny, rule *)"
          ev.decided_by = "implicit deny"
        else
          local s = entry_summary(decided)
          before = s.rule_number
          rule_text = ("rule %d denies it (%s %s, ports %s)"):format(s.rule_number, s.protocol, s.cidr, s.ports)
          ev.decided_by = s
        end
        local n = free_rule_number(acl.Entries, egress, before)
        local fix = n and fixes.nacl_allow(ctx.fix, acl.NetworkAclId, egress, n, cidr.family(target), target, lo, hi)
        outcomes[#outcomes + 1] = fail(("%s: %s blocks %s TCP %s %s %s: %s"):format(id, acl.NetworkAclId, dir,
          ports, egress and "to" or "from", target, rule_text), ev, { id, acl.NetworkAclId }, fix)
      end
    end
    return combine(outcomes)
  end)
end

---------------------------------------------------------------------------------------
-- Security groups: the union of egress rules

local function cluster_group_ids(ctx)
  local ids = {}
  if ctx.vpc_cfg.clusterSecurityGroupId then ids[#ids + 1] = ctx.vpc_cfg.clusterSecurityGroupId end
  for _, g in ipairs(list(ctx.vpc_cfg.securityGroupIds)) do ids[#ids + 1] = g end
  return unique(ids)
end

local function prefix_list_cidrs(ctx, pl_id, family)
  for _, pl in ipairs(list(ctx.snap.ManagedPrefixLists)) do
    if pl.PrefixListId == pl_id and type(pl.Entries) == "table" then
      local out = {}
      for _, e in ipairs(pl.Entries) do
        local p = e.Cidr and cidr.parse(e.Cidr)
        if p and p.family == family then out[#out + 1] = p end
      end
      return out
    end
  end
  return nil
end

local function perm_ports(p)
  local proto = lower(tostring(p.IpProtocol))
  if proto == "-1" or proto == "all" then return 0, 65535 end
  return as_number(p.FromPort) or 0, as_number(p.ToPort) or 65535
end

-- What the union of egress rules allows for TCP `port` in one family: the allowed
-- prefixes (each with the rule that gave it), referenced groups, prefix lists
-- that could not be resolved.
local function sg_allowed(ctx, groups, port, family)
  local blocks, refs, unresolved = {}, {}, {}
  for _, g in ipairs(groups) do
    for i, p in ipairs(list(g.IpPermissionsEgress)) do
      local lo, hi = perm_ports(p)
      if tcp_protocol(p.IpProtocol) and lo <= port and port <= hi then
        local rule = { group = g.GroupId, rule = i, protocol = protocol_name(p.IpProtocol),
                       ports = lo == hi and tostring(lo) or (lo .. "-" .. hi) }
        local ranges = family == 6 and list(p.Ipv6Ranges) or list(p.IpRanges)
        for _, r in ipairs(ranges) do
          local c = family == 6 and r.CidrIpv6 or r.CidrIp
          local pfx = c and cidr.parse(c)
          if pfx and pfx.family == family then blocks[#blocks + 1] = { prefix = pfx, rule = rule, cidr = c } end
        end
        for _, pl in ipairs(list(p.PrefixListIds)) do
          local cidrs = prefix_list_cidrs(ctx, pl.PrefixListId, family)
          if not cidrs then
            unresolved[#unresolved + 1] = pl.PrefixListId
          else
            for _, pfx in ipairs(cidrs) do
              blocks[#blocks + 1] = { prefix = pfx, rule = rule, cidr = cidr.tostring(pfx),
                                      prefix_list = pl.PrefixListId }
            end
          end
        end
        for _, pair in ipairs(list(p.UserIdGroupPairs)) do
          refs[#refs + 1] = { group = g.GroupId, rule = i, references = pair.GroupId, ports = rule.ports }
        end
      end
    end
  end
  return blocks, refs, unique(unresolved)
end

local function sg_check(ctx, port, targets, group_refs_ok)
  local ids = cluster_group_ids(ctx)
  -- EKS attaches the cluster security group it creates (all outbound traffic
  -- allowed) to its network interfaces beside the groups given at creation,
  -- so the union allows everything.
  if ctx.opts.planned and not ctx.vpc_cfg.clusterSecurityGroupId then
    local msg = "EKS creates the cluster security group with all outbound traffic allowed"
    if #ids > 0 then msg = msg .. " and attaches it beside " .. table.concat(ids, ", ") end
    return pass(msg, { planned = true, groups = #ids > 0 and ids or nil })
  end
  if #ids == 0 then
    return not_evaluated("the cluster lists no security groups (clusterSecurityGroupId, securityGroupIds)")
  end
  if not ctx.snap.SecurityGroups then
    return not_evaluated(missing(ctx, "SecurityGroups", "the security groups"))
  end
  local by_id = index(ctx.snap.SecurityGroups, "GroupId")
  local groups, absent = {}, {}
  for _, id in ipairs(ids) do
    if by_id[id] then groups[#groups + 1] = by_id[id] else absent[#absent + 1] = id end
  end
  local outcomes = {}
  for _, target in ipairs(targets) do
    local tp = cidr.parse(target)
    local blocks, refs, unresolved = sg_allowed(ctx, groups, port, tp.family)
    local prefixes, used = {}, {}
    for _, b in ipairs(blocks) do
      prefixes[#prefixes + 1] = b.prefix
      if cidr.overlaps(b.prefix, tp) then
        used[#used + 1] = { group = b.rule.group, rule = b.rule.rule, protocol = b.rule.protocol,
                            ports = b.rule.ports, cidr = b.cidr, prefix_list = b.prefix_list }
      end
    end
    local ev = { groups = ids, missing_groups = #absent > 0 and absent or nil, target = target,
                 port = port, allowed_by = used }
    if cidr.covers(prefixes, tp) then
      outcomes[#outcomes + 1] = pass(("TCP %d to %s is allowed"):format(port, target), ev, ids)
    elseif group_refs_ok and #refs > 0 then
      ev.allowed_by = refs
      outcomes[#outcomes + 1] = pass(("TCP %d is allowed to security group %s"):format(port, refs[1].references),
        ev, ids)
    elseif #unresolved > 0 or #absent > 0 then
      ev.unresolved_prefix_lists = #unresolved > 0 and unresolved or nil
      local gaps = {}
      if #absent > 0 then gaps[#gaps + 1] = "security groups not in the snapshot: " .. table.concat(absent, ", ") end
      if #unresolved > 0 then
        gaps[#gaps + 1] = "prefix lists without entries in the snapshot: " .. table.concat(unresolved, ", ")
      end
      outcomes[#outcomes + 1] = not_evaluated(("TCP %d to %s is not allowed by the rules seen; %s"):format(port,
        target, table.concat(gaps, "; ")), ev)
    else
      local holder = ctx.vpc_cfg.clusterSecurityGroupId or ids[1]
      outcomes[#outcomes + 1] = fail(("no egress rule of %s allows TCP %d to %s"):format(table.concat(ids, ", "),
        port, target), ev, ids, fixes.sg_allow(ctx.fix, holder, tp.family, target, port))
    end
  end
  return combine(outcomes)
end

---------------------------------------------------------------------------------------
-- IAM: the cluster role

local EKS_CLUSTER_POLICY_ACTIONS = {
  -- The actions of AmazonEKSClusterPolicy this check needs (documented in the
  -- EKS User Guide, "Amazon EKS cluster IAM role"); used when the attached AWS
  -- managed policy's document is not in the snapshot.
  Version = "2012-10-17",
  Statement = { { Effect = "Allow", Action = { "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions" }, Resource = "*" } },
}

local ROLE_ACTIONS = { "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions" }

local function role_documents(role)
  local docs, unknown, names = {}, {}, {}
  for _, p in ipairs(list(role.AttachedPolicies)) do
    local doc = p.Document and snapshot_mod.policy_document(p.Document)
    if doc then
      docs[#docs + 1] = doc
      names[#docs] = p.PolicyArn or p.PolicyName
    elseif type(p.PolicyArn) == "string"
      and p.PolicyArn:match("^arn:[^:]+:iam::aws:policy/AmazonEKSClusterPolicy$") then
      docs[#docs + 1] = EKS_CLUSTER_POLICY_ACTIONS
      names[#docs] = p.PolicyArn .. " (AWS managed; documented content)"
    else
      unknown[#unknown + 1] = p.PolicyArn or p.PolicyName or "?"
    end
  end
  for _, p in ipairs(list(role.RolePolicies)) do
    local doc = snapshot_mod.policy_document(p.PolicyDocument)
    if doc then
      docs[#docs + 1] = doc
      names[#docs] = "inline " .. tostring(p.PolicyName)
    else
      unknown[#unknown + 1] = "inline " .. tostring(p.PolicyName)
    end
  end
  return docs, unknown, names
end

local function simulated(role, action)
  for _, r in ipairs(list(role.EvaluationResults)) do
    if lower(r.EvalActionName) == action:lower() then return r end
  end
  return nil
end

local function role_action(role, action, docs, unknown, names)
  local sim = simulated(role, action)
  if sim then
    local decision = tostring(sim.EvalDecision)
    local ev = { action = action, source = "SimulatePrincipalPolicy", decision = decision }
    if lower(decision) == "allowed" then return pass(action .. " is allowed (SimulatePrincipalPolicy)", ev) end
    return fail(("%s is %s (SimulatePrincipalPolicy)"):format(action, decision), ev)
  end
  local req = { action = action, resource = "*" }
  local r, err = evaluate.decide_union(docs, req)
  if not r then return not_evaluated(("%s: %s"):format(action, tostring(err and err.message or err))) end
  local ev = { action = action, source = "policy documents", decision = r.decision,
               policy = r.policy and names[r.policy] or nil, statement = r.statement }
  if r.decision == "deny" then
    return fail(("%s is explicitly denied by %s"):format(action, tostring(ev.policy)), ev)
  end
  if r.decision == "implicit_deny" then
    if #unknown > 0 then
      ev.unread_policies = unknown
      return not_evaluated(("%s is not allowed by the policies read; not read: %s"):format(action,
        table.concat(unknown, ", ")), ev)
    end
    return fail(action .. " is not allowed by any policy of the role", ev)
  end
  local boundary = role.PermissionsBoundary
  local declared = type(role.Role) == "table" and role.Role.PermissionsBoundary
  if boundary or declared then
    local bdoc = boundary and boundary.Document and snapshot_mod.policy_document(boundary.Document)
    if not bdoc then
      return not_evaluated(action .. " is allowed by the role's policies, but its permissions boundary was not read",
        ev)
    end
    local b, berr = evaluate.decide(bdoc, req, { full_aws_access = false })
    if not b then return not_evaluated(("%s: permissions boundary: %s"):format(action, tostring(berr.message))) end
    ev.boundary = b.decision
    if b.decision ~= "allow" then return fail(action .. " is not allowed by the permissions boundary", ev) end
  end
  return pass(("%s is allowed by %s"):format(action, tostring(ev.policy)), ev)
end

---------------------------------------------------------------------------------------
-- The evaluators, one per id. Each returns an outcome (status, message, evidence,
-- resources, fix).

local E = {}

local function need_cluster(ctx)
  if ctx.opts.planned then return not_evaluated("the cluster does not exist yet") end
  if not ctx.cluster then return not_evaluated(missing(ctx, "cluster", "the cluster (DescribeCluster)")) end
  return nil
end

function E.cluster_status(ctx)
  local gap = need_cluster(ctx)
  if gap then return gap end
  local status = tostring(ctx.cluster.status)
  local ev = { cluster = ctx.name, status = ctx.cluster.status }
  if status:upper() == "ACTIVE" then return pass(ctx.name .. " is ACTIVE", ev, { ctx.name }) end
  return fail(("%s is %s, not ACTIVE"):format(ctx.name, status), ev, { ctx.name },
    fixes.wait_cluster_active(ctx.fix, ctx.name))
end

function E.update_in_progress(ctx)
  local gap = need_cluster(ctx)
  if gap then return gap end
  if not ctx.snap.updates then return not_evaluated(missing(ctx, "updates", "the cluster's updates")) end
  local busy, ev = {}, {}
  for _, u in ipairs(ctx.snap.updates) do
    if lower(u.status) == "inprogress" then
      busy[#busy + 1] = u
      ev[#ev + 1] = { update = u.id, type = u.type, status = u.status, createdAt = u.createdAt }
    end
  end
  if #busy == 0 then
    return pass(("no update in progress (%d updates seen)"):format(#ctx.snap.updates), { updates = #ctx.snap.updates })
  end
  local ids, fixlist = {}, {}
  for i, u in ipairs(busy) do
    ids[i] = tostring(u.id)
    fixlist[i] = fixes.describe_update(ctx.fix, ctx.name, u.id)
  end
  return fail(("update %s (%s) is in progress"):format(ids[1], tostring(busy[1].type)), { in_progress = ev },
    ids, table.concat(fixlist, "\n"))
end

function E.egress_mode(ctx)
  local gap = need_cluster(ctx)
  if gap then return gap end
  local mode = ctx.vpc_cfg.controlPlaneEgressMode
  local ev = { controlPlaneEgressMode = mode }
  if mode == nil then
    return not_evaluated("DescribeCluster returned no controlPlaneEgressMode (an older API or SDK model): the mode "
      .. "is unknown", ev)
  end
  if mode == "AWS_MANAGED" then
    return pass("AWS_MANAGED: the control plane's egress does not use the VPC yet; switching to CUSTOMER_ROUTED "
      .. "is one way", ev, { ctx.name })
  end
  if mode == "CUSTOMER_ROUTED" then
    return pass("CUSTOMER_ROUTED: the control plane's egress already goes through the VPC; these checks describe "
      .. "the live path", ev, { ctx.name })
  end
  return fail(("%s: an undocumented egress mode; eksegress will not change it"):format(tostring(mode)), ev,
    { ctx.name })
end

-- The cluster's subnets that the snapshot has, in the cluster's order; or nil and
-- the outcome that says why none can be looked at.
local function found_subnets(ctx)
  if not ctx.subnets then return nil, not_evaluated(missing(ctx, "Subnets", "the subnets")) end
  local found = {}
  for _, id in ipairs(ctx.subnet_ids) do found[#found + 1] = ctx.subnets[id] end
  if #found == 0 then return nil, not_evaluated("none of the cluster's subnets is in the snapshot") end
  return found
end

local function some_missing(ctx, found, ev)
  return not_evaluated(("only %d of %d subnets are in the snapshot"):format(#found, #ctx.subnet_ids), ev)
end

function E.subnets_same_vpc(ctx)
  local found, gap = found_subnets(ctx)
  if not found then return gap end
  local home = ctx.vpc_cfg.vpcId or found[1].VpcId
  local per, vpcs, strays, keep = {}, { home }, {}, {}
  for _, s in ipairs(found) do
    per[#per + 1] = { subnet = s.SubnetId, vpc = s.VpcId }
    vpcs[#vpcs + 1] = s.VpcId
    if s.VpcId ~= home then strays[#strays + 1] = s.SubnetId else keep[#keep + 1] = s.SubnetId end
  end
  local distinct = unique(vpcs)
  local ev = { vpc = ctx.vpc_cfg.vpcId, subnets = per }
  if #distinct > 1 then
    return fail(("the subnets are in %d VPCs (%s): %s not in %s"):format(#distinct, table.concat(distinct, ", "),
      table.concat(strays, ", "), home), ev, strays, #keep > 0 and fixes.update_subnets(ctx.fix, ctx.name, keep) or nil)
  end
  if #found < #ctx.subnet_ids then return some_missing(ctx, found, ev) end
  return pass("every subnet is in " .. tostring(home), ev)
end

function E.subnets_multi_az(ctx)
  local found, gap = found_subnets(ctx)
  if not found then return gap end
  local azs, per = {}, {}
  for _, s in ipairs(found) do
    azs[#azs + 1] = s.AvailabilityZone
    per[#per + 1] = { subnet = s.SubnetId, az = s.AvailabilityZone, az_id = s.AvailabilityZoneId }
  end
  local distinct = unique(azs)
  local ev = { subnets = per, availability_zones = distinct }
  if #distinct >= 2 then
    return pass(("%d Availability Zones: %s"):format(#distinct, table.concat(distinct, ", ")), ev)
  end
  if #found < #ctx.subnet_ids then return some_missing(ctx, found, ev) end
  return fail(("every subnet is in %s; EKS needs two or more Availability Zones"):format(tostring(distinct[1])), ev,
    ctx.subnet_ids, ctx.vpc_id and fixes.list_subnets(ctx.fix, ctx.vpc_id) or nil)
end

function E.subnet_free_ips(ctx)
  return each_subnet(ctx, function(id, s)
    local free = as_number(s.AvailableIpAddressCount)
    local ev = { subnet = id, available = free }
    if not free then return not_evaluated(id .. " has no AvailableIpAddressCount", ev) end
    if free < 6 then
      return fail(("%s has %d free IP addresses (EKS needs 6)"):format(id, free), ev, { id },
        fixes.unused_enis(ctx.fix, id))
    end
    return pass(("%s has %d free IP addresses"):format(id, free), ev, { id })
  end)
end

-- The IPv4 default route of each subnet, through `fn(id, subnet, info)`.
local function with_routes(ctx, family, fn)
  return each_subnet(ctx, function(id, s)
    local info, why = subnet_routes(ctx, id, s, family)
    if not info then return not_evaluated(why, { subnet = id }) end
    return fn(id, s, info)
  end)
end

function E.route_default(ctx)
  return with_routes(ctx, 4, function(id, s, info)
    local rt = info.table.RouteTableId
    if #info.defaults == 0 then
      local ev = route_evidence(id, info, { routes = {} })
      for i, r in ipairs(list(info.table.Routes)) do ev.routes[i] = route_summary(r) end
      local fix = info.how ~= "explicit association" and sibling_table_fix(ctx, id, s)
        or egress_fix(ctx, "create", rt, s)
      return fail(("%s: route table %s (%s) has no route for 0.0.0.0/0"):format(id, rt, info.how), ev, { id, rt }, fix)
    end
    local parts = {}
    for _, r in ipairs(info.defaults) do
      local _, target = route_target(r)
      parts[#parts + 1] = ("%s -> %s"):format(route_destination(r), tostring(target))
    end
    return pass(("%s: %s %s"):format(id, rt, table.concat(parts, ", ")), route_evidence(id, info), { id, rt })
  end)
end

function E.route_blackhole(ctx)
  return with_routes(ctx, 4, function(id, s, info)
    local rt = info.table.RouteTableId
    if #info.defaults == 0 then
      return pass(id .. ": no default route (see route_default)", route_evidence(id, info))
    end
    for _, r in ipairs(info.defaults) do
      if is_blackhole(r) then
        local _, target = route_target(r)
        return fail(("%s: %s -> %s in %s is a blackhole (the target is gone or stopped)"):format(id,
          route_destination(r), tostring(target), rt), route_evidence(id, info), { id, rt, target },
          egress_fix(ctx, "replace", rt, s))
      end
    end
    return pass(id .. ": the default route is active", route_evidence(id, info), { id, rt })
  end)
end

function E.route_igw_only(ctx)
  return with_routes(ctx, 4, function(id, s, info)
    local rt = info.table.RouteTableId
    for _, r in ipairs(info.defaults) do
      local kind, target = route_target(r)
      if kind == "igw" and not is_blackhole(r) then
        return fail(("%s: %s sends 0.0.0.0/0 to internet gateway %s, which drops traffic from the cluster's "
          .. "network interfaces (they have no public IPv4 address)"):format(id, rt, target),
          route_evidence(id, info, { reason = "the EKS network interfaces have no public IPv4 addresses; an "
            .. "internet gateway does not translate private addresses" }), { id, rt, target },
          egress_fix(ctx, "replace", rt, s))
      end
    end
    return pass(id .. ": the default route does not go straight to an internet gateway", route_evidence(id, info))
  end)
end

function E.route_specific_blackhole(ctx)
  return each_subnet(ctx, function(id, s)
    local rt, how = route_table_for(ctx, id, s.VpcId)
    if not rt then return not_evaluated(how, { subnet = id }) end
    local defaults = {}
    for _, f in ipairs({ 4, 6 }) do
      for _, r in ipairs((default_routes(rt, f))) do defaults[r] = true end
    end
    local holes, fixlist = {}, {}
    for _, r in ipairs(list(rt.Routes)) do
      if not defaults[r] and is_blackhole(r) then
        holes[#holes + 1] = route_summary(r)
        fixlist[#fixlist + 1] = fixes.delete_route(ctx.fix, rt.RouteTableId, r)
      end
    end
    local ev = { subnet = id, route_table = rt.RouteTableId, selected_by = how, blackhole_routes = holes }
    if #holes == 0 then return pass(id .. ": no more-specific blackhole routes", ev) end
    local dests = {}
    for i, h in ipairs(holes) do dests[i] = tostring(h.destination) end
    return fail(("%s: %s drops traffic to %s (more specific than the default route, in state blackhole)"):format(id,
      rt.RouteTableId, table.concat(dests, ", ")), ev, { id, rt.RouteTableId }, table.concat(fixlist, "\n"))
  end)
end

-- Active default routes of every family the cluster uses, for the device checks.
local function with_active_defaults(ctx, kinds, fn)
  return each_subnet(ctx, function(id, s)
    local outcomes = {}
    for _, family in ipairs(ctx.families) do
      local info, why = subnet_routes(ctx, id, s, family)
      if not info then
        outcomes[#outcomes + 1] = not_evaluated(why, { subnet = id })
      else
        for _, r in ipairs(info.defaults) do
          local kind, target = route_target(r)
          if kinds[kind] and not is_blackhole(r) then
            outcomes[#outcomes + 1] = fn(id, s, info, r, kind, target)
          end
        end
      end
    end
    if #outcomes == 0 then return pass(id .. ": no default route uses this kind of device", { subnet = id }) end
    return combine(outcomes)
  end)
end

function E.egress_device_nat(ctx)
  return with_active_defaults(ctx, { nat = true }, function(id, s, info, r, _, nat_id)
    if not ctx.snap.NatGateways then return not_evaluated(missing(ctx, "NatGateways", "the NAT gateways")) end
    local nat = index(ctx.snap.NatGateways, "NatGatewayId")[nat_id]
    local rt = info.table.RouteTableId
    local ev = route_evidence(id, info, { nat_gateway = nat_id, state = nat and nat.State,
      failure = nat and (nat.FailureCode or nat.FailureMessage) and { code = nat.FailureCode,
      message = nat.FailureMessage } or nil })
    if not nat then
      return fail(("%s: NAT gateway %s (route %s) does not exist"):format(id, nat_id, route_destination(r)), ev,
        { id, nat_id }, egress_fix(ctx, "replace", rt, s))
    end
    local state = lower(nat.State)
    if state == "available" then return pass(("%s: NAT gateway %s is available"):format(id, nat_id), ev, { nat_id }) end
    local fix = state == "pending" and fixes.wait_nat_gateway(ctx.fix, nat_id) or egress_fix(ctx, "replace", rt, s)
    return fail(("%s: NAT gateway %s is %s%s"):format(id, nat_id, tostring(nat.State),
      nat.FailureCode and (" (" .. tostring(nat.FailureCode) .. ")") or ""), ev, { id, nat_id }, fix)
  end)
end

function E.egress_device_nat_upstream(ctx)
  return with_active_defaults(ctx, { nat = true }, function(id, _, _, _, _, nat_id)
    if not ctx.snap.NatGateways then return not_evaluated(missing(ctx, "NatGateways", "the NAT gateways")) end
    local nat = index(ctx.snap.NatGateways, "NatGatewayId")[nat_id]
    if not nat or lower(nat.State) ~= "available" then
      return pass(("%s: NAT gateway %s is not available (see egress_device_nat)"):format(id, nat_id),
        { subnet = id, nat_gateway = nat_id })
    end
    if lower(nat.ConnectivityType) == "private" then
      return not_evaluated(("%s: %s is a private NAT gateway; its upstream path is not checked"):format(id, nat_id))
    end
    local home = ctx.subnets and ctx.subnets[nat.SubnetId]
    if not home then return not_evaluated(("the NAT gateway's subnet %s is not in the snapshot"):format(
      tostring(nat.SubnetId))) end
    local info, why = subnet_routes(ctx, home.SubnetId, home, 4)
    if not info then return not_evaluated(why) end
    local ev = route_evidence(home.SubnetId, info, { nat_gateway = nat_id })
    for _, r in ipairs(info.defaults) do
      local kind, target = route_target(r)
      if kind == "igw" and not is_blackhole(r) then
        return pass(("%s: NAT gateway %s reaches internet gateway %s"):format(id, nat_id, target), ev, { nat_id })
      end
    end
    local igw
    for _, g in ipairs(list(ctx.snap.InternetGateways)) do
      for _, a in ipairs(list(g.Attachments)) do
        if a.VpcId == home.VpcId then igw = g.InternetGatewayId end
      end
    end
    return fail(("%s: public NAT gateway %s is in %s, whose route table %s has no active 0.0.0.0/0 to an internet "
      .. "gateway"):format(id, nat_id, home.SubnetId, info.table.RouteTableId), ev, { nat_id, info.table.RouteTableId },
      fixes.route(ctx.fix, #info.defaults > 0 and "replace" or "create", info.table.RouteTableId, 4, "0.0.0.0/0",
        "igw", igw or "<internet-gateway-id>"))
  end)
end

function E.egress_device_tgw(ctx)
  return with_active_defaults(ctx, { tgw = true }, function(id, s, info, _, _, tgw_id)
    if not ctx.snap.TransitGateways then
      return not_evaluated(missing(ctx, "TransitGateways", "the transit gateways"))
    end
    if not ctx.snap.TransitGatewayVpcAttachments then
      return not_evaluated(missing(ctx, "TransitGatewayVpcAttachments", "the transit gateway VPC attachments"))
    end
    local tgw = index(ctx.snap.TransitGateways, "TransitGatewayId")[tgw_id]
    local att
    for _, a in ipairs(ctx.snap.TransitGatewayVpcAttachments) do
      if a.TransitGatewayId == tgw_id and a.VpcId == s.VpcId and lower(a.State) ~= "deleted" then att = a end
    end
    local ev = route_evidence(id, info, { transit_gateway = tgw_id, transit_gateway_state = tgw and tgw.State,
      attachment = att and att.TransitGatewayAttachmentId, attachment_state = att and att.State })
    if not tgw then
      return fail(("%s: transit gateway %s is not visible to this account"):format(id, tgw_id), ev, { id, tgw_id })
    end
    if lower(tgw.State) ~= "available" then
      return fail(("%s: transit gateway %s is %s"):format(id, tgw_id, tostring(tgw.State)), ev, { tgw_id })
    end
    if not att then
      return fail(("%s: %s has no attachment to %s"):format(id, tgw_id, tostring(s.VpcId)), ev, { tgw_id, s.VpcId },
        fixes.create_tgw_attachment(ctx.fix, tgw_id, s.VpcId, { id }))
    end
    local att_id = att.TransitGatewayAttachmentId
    local state = lower(att.State)
    if state ~= "available" then
      local fix = state == "pendingacceptance" and fixes.accept_tgw_attachment(ctx.fix, att_id)
        or fixes.describe_tgw_attachment(ctx.fix, att_id)
      return fail(("%s: attachment %s of %s is %s"):format(id, att_id, tgw_id, tostring(att.State)), ev,
        { att_id }, fix)
    end
    -- Traffic reaches a transit gateway only from Availability Zones where the
    -- attachment has a subnet.
    local zones, unknown = {}, false
    for _, sid in ipairs(list(att.SubnetIds)) do
      local as = ctx.subnets and ctx.subnets[sid]
      if as then zones[as.AvailabilityZone or "?"] = true else unknown = true end
    end
    ev.attachment_zones = {}
    for z in pairs(zones) do ev.attachment_zones[#ev.attachment_zones + 1] = z end
    table.sort(ev.attachment_zones)
    if s.AvailabilityZone and not zones[s.AvailabilityZone] and not unknown and #list(att.SubnetIds) > 0 then
      return fail(("%s: attachment %s has no subnet in %s, so traffic from %s cannot reach %s"):format(id, att_id,
        s.AvailabilityZone, id, tgw_id), ev, { id, att_id }, fixes.add_tgw_attachment_subnet(ctx.fix, att_id, id))
    end
    return pass(("%s: transit gateway %s and attachment %s are available"):format(id, tgw_id, att_id), ev,
      { tgw_id, att_id })
  end)
end

function E.egress_device_instance(ctx)
  return with_active_defaults(ctx, { instance = true, eni = true }, function(id, _, info, r, kind)
    local eni_id = r.NetworkInterfaceId
    local inst_id = r.InstanceId
    local eni
    if eni_id then
      if not ctx.snap.NetworkInterfaces then
        return not_evaluated(missing(ctx, "NetworkInterfaces", "the network interfaces"))
      end
      eni = index(ctx.snap.NetworkInterfaces, "NetworkInterfaceId")[eni_id]
      if not eni then
        return fail(("%s: network interface %s (default route) does not exist"):format(id, eni_id),
          route_evidence(id, info), { id, eni_id })
      end
      inst_id = inst_id or (type(eni.Attachment) == "table" and eni.Attachment.InstanceId) or nil
    end
    local ev = route_evidence(id, info, { instance = inst_id, network_interface = eni_id,
      interface_type = eni and eni.InterfaceType })
    if eni and is_true(eni.SourceDestCheck) then
      ev.source_dest_check = true
      return fail(("%s: %s has source/destination checking on, so it drops forwarded traffic"):format(id, eni_id),
        ev, { id, eni_id }, fixes.no_source_dest_check(ctx.fix, nil, eni_id))
    end
    if not inst_id then
      -- An appliance or endpoint interface with no instance: nothing more to check here.
      return pass(("%s: %s (%s) forwards with source/destination checking off"):format(id, eni_id,
        tostring(eni.InterfaceType or kind)), ev, { eni_id })
    end
    if not ctx.snap.Instances then return not_evaluated(missing(ctx, "Instances", "the instances")) end
    local inst = index(ctx.snap.Instances, "InstanceId")[inst_id]
    if not inst then
      return fail(("%s: instance %s (default route) does not exist"):format(id, inst_id), ev, { id, inst_id })
    end
    local state = type(inst.State) == "table" and inst.State.Name or inst.State
    ev.state = state
    ev.source_dest_check = inst.SourceDestCheck
    if lower(state) ~= "running" then
      return fail(("%s: NAT instance %s is %s"):format(id, inst_id, tostring(state)), ev, { id, inst_id },
        fixes.start_instance(ctx.fix, inst_id))
    end
    if is_true(inst.SourceDestCheck) then
      return fail(("%s: NAT instance %s has source/destination checking on, so it drops forwarded traffic"):format(id,
        inst_id), ev, { id, inst_id }, fixes.no_source_dest_check(ctx.fix, inst_id, nil))
    end
    return pass(("%s: NAT instance %s is running with source/destination checking off"):format(id, inst_id), ev,
      { inst_id })
  end)
end

local function attached_to(gateway, vpc_id)
  for _, a in ipairs(list(gateway and gateway.Attachments)) do
    local state = lower(a.State)
    if a.VpcId == vpc_id and (state == "attached" or state == "available") then return true end
  end
  return false
end

function E.ipv6_egress_only(ctx)
  if ctx.cluster and not ctx.ipv6 then
    local knc = ctx.cluster.kubernetesNetworkConfig
    return pass("not an IPv6 cluster", { ip_family = type(knc) == "table" and knc.ipFamily or "ipv4" })
  end
  if not ctx.cluster then return not_evaluated(missing(ctx, "cluster", "the cluster (its IP family)")) end
  return with_routes(ctx, 6, function(id, s, info)
    local rt = info.table.RouteTableId
    local eigw_fix
    for _, g in ipairs(list(ctx.snap.EgressOnlyInternetGateways)) do
      if attached_to(g, s.VpcId) then
        eigw_fix = fixes.route(ctx.fix, "create", rt, 6, "::/0", "eigw", g.EgressOnlyInternetGatewayId)
      end
    end
    eigw_fix = eigw_fix or (fixes.create_egress_only_igw(ctx.fix, s.VpcId) .. "\n"
      .. fixes.route(ctx.fix, "create", rt, 6, "::/0", "eigw", "<eigw-id>"))
    local active
    for _, r in ipairs(info.defaults) do
      if not is_blackhole(r) then active = r end
    end
    if not active then
      local why = #info.defaults > 0 and "its ::/0 route is a blackhole" or "it has no ::/0 route"
      return fail(("%s: route table %s: %s"):format(id, rt, why), route_evidence(id, info), { id, rt }, eigw_fix)
    end
    local kind, target = route_target(active)
    local ev = route_evidence(id, info)
    if kind == "eigw" or kind == "igw" then
      local part = kind == "eigw" and "EgressOnlyInternetGateways" or "InternetGateways"
      if not ctx.snap[part] then return not_evaluated(missing(ctx, part), ev) end
      local key = kind == "eigw" and "EgressOnlyInternetGatewayId" or "InternetGatewayId"
      local gw = index(ctx.snap[part], key)[target]
      if attached_to(gw, s.VpcId) then
        return pass(("%s: ::/0 -> %s, attached to %s"):format(id, target, s.VpcId), ev, { target })
      end
      return fail(("%s: ::/0 -> %s, which is not attached to %s"):format(id, target, s.VpcId), ev, { id, target },
        eigw_fix)
    end
    return pass(("%s: ::/0 -> %s (%s)"):format(id, tostring(target), kind), ev, { target })
  end)
end

local function egress_targets(ctx, family)
  local out = {}
  for _, d in ipairs(list(ctx.opts.egress_destinations)) do
    if cidr.family(d) == family then out[#out + 1] = d end
  end
  if #out == 0 then out[1] = cidr.any(family) end
  return out
end

local function all_egress_targets(ctx)
  local out = {}
  for _, f in ipairs(ctx.families) do
    for _, t in ipairs(egress_targets(ctx, f)) do out[#out + 1] = t end
  end
  return out
end

function E.nacl_outbound_443(ctx)
  return nacl_check(ctx, true, 443, 443, function() return all_egress_targets(ctx) end)
end

function E.nacl_outbound_10250(ctx)
  return nacl_check(ctx, true, 10250, 10250, function(s)
    local c = vpc_cidr(ctx, s.VpcId)
    if not c then return nil, missing(ctx, "Vpcs", "the VPC's CIDR block") end
    return { c }
  end)
end

function E.nacl_inbound_ephemeral(ctx)
  return nacl_check(ctx, false, 1024, 65535, function()
    local out = {}
    for i, f in ipairs(ctx.families) do out[i] = cidr.any(f) end
    return out
  end)
end

function E.sg_egress_443(ctx)
  return sg_check(ctx, 443, all_egress_targets(ctx), false)
end

function E.sg_egress_10250(ctx)
  local c = ctx.vpc_id and vpc_cidr(ctx, ctx.vpc_id)
  if not c then return not_evaluated(missing(ctx, "Vpcs", "the VPC's CIDR block")) end
  return sg_check(ctx, 10250, { c }, true)
end

local function need_vpc(ctx)
  if not ctx.vpc_id then return not_evaluated("the cluster's VPC is unknown") end
  if not ctx.vpcs then return not_evaluated(missing(ctx, "Vpcs", "the VPC")) end
  if not ctx.vpc then return not_evaluated(ctx.vpc_id .. " is not in the snapshot") end
  return nil
end

-- AmazonProvidedDNS by another name: the VPC's base address + 2, or 169.254.169.253.
local function amazon_resolver(ctx, server)
  if server:lower() == "amazonprovideddns" or server == "169.254.169.253" or server == "fd00:ec2::253" then
    return true
  end
  local base = ctx.vpc and ctx.vpc.CidrBlock and cidr.parse(ctx.vpc.CidrBlock)
  local s = cidr.parse(server)
  if not base or not s or s.family ~= 4 then return false end
  local w = base.words
  local plus2 = ("%d.%d.%d.%d"):format(w[1] >> 8, w[1] & 255, w[2] >> 8, (w[2] & 255) + 2)
  return cidr.equal(s, plus2)
end

function E.dhcp_amazon_dns(ctx)
  local gap = need_vpc(ctx)
  if gap then return gap end
  local dopt_id = ctx.vpc.DhcpOptionsId
  local ev = { vpc = ctx.vpc_id, dhcp_options = dopt_id }
  if dopt_id == nil then return not_evaluated(ctx.vpc_id .. " has no DhcpOptionsId in the snapshot", ev) end
  if dopt_id == "default" then
    return pass(ctx.vpc_id .. " has no DHCP options set: instances use AmazonProvidedDNS", ev, { ctx.vpc_id })
  end
  if not ctx.snap.DhcpOptions then return not_evaluated(missing(ctx, "DhcpOptions", "the DHCP options"), ev) end
  local dopt = index(ctx.snap.DhcpOptions, "DhcpOptionsId")[dopt_id]
  if not dopt then return not_evaluated(dopt_id .. " is not in the snapshot", ev) end
  local servers = {}
  for _, c in ipairs(list(dopt.DhcpConfigurations)) do
    if c.Key == "domain-name-servers" then
      for _, v in ipairs(list(c.Values)) do servers[#servers + 1] = type(v) == "table" and v.Value or v end
    end
  end
  ev.domain_name_servers = servers
  -- AmazonProvidedDNS by name is what AWS documents. Named only by its
  -- address, the VPC resolver counts when nothing else is listed: a custom
  -- resolver beside it answers part of the lookups.
  local custom, by_address = {}, nil
  for _, sv in ipairs(servers) do
    if type(sv) == "string" and sv:lower() == "amazonprovideddns" then
      return pass(("%s: %s lists %s"):format(ctx.vpc_id, dopt_id, sv), ev, { ctx.vpc_id, dopt_id })
    elseif type(sv) == "string" and amazon_resolver(ctx, sv) then
      by_address = by_address or sv
    else
      custom[#custom + 1] = tostring(sv)
    end
  end
  if by_address and #custom == 0 then
    return pass(("%s: %s lists %s, the VPC resolver"):format(ctx.vpc_id, dopt_id, by_address), ev,
      { ctx.vpc_id, dopt_id })
  end
  local existing
  for _, d in ipairs(ctx.snap.DhcpOptions) do
    for _, c in ipairs(list(d.DhcpConfigurations)) do
      if c.Key == "domain-name-servers" and #list(c.Values) == 1 and type(c.Values[1]) == "table"
        and c.Values[1].Value == "AmazonProvidedDNS" then
        existing = existing or d.DhcpOptionsId
      end
    end
  end
  local msg = #custom > 0 and ("%s uses custom resolvers %s%s, not AmazonProvidedDNS: they must resolve the VPC's "
    .. "private names and public names (webhooks, OIDC issuers)"):format(dopt_id, table.concat(custom, ", "),
      by_address and (" beside the VPC resolver " .. by_address) or "")
    or ("%s sets no domain-name-servers"):format(dopt_id)
  return fail(msg, ev, { ctx.vpc_id, dopt_id }, fixes.amazon_dns(ctx.fix, ctx.vpc_id, existing))
end

local function vpc_attribute(ctx, name, flag)
  if not ctx.vpc_id then return not_evaluated("the cluster's VPC is unknown") end
  local attrs = ctx.snap.VpcAttributes
  if type(attrs) ~= "table" then return not_evaluated(missing(ctx, "VpcAttributes", "the VPC attributes")) end
  if attrs.VpcId and attrs.VpcId ~= ctx.vpc_id then
    return not_evaluated(("the VPC attributes are for %s, not %s"):format(attrs.VpcId, ctx.vpc_id))
  end
  local a = attrs[name]
  local value = type(a) == "table" and a.Value
  local ev = { vpc = ctx.vpc_id, [name] = value }
  if value == true then return pass(("%s: %s is true"):format(ctx.vpc_id, name), ev, { ctx.vpc_id }) end
  if value == false then
    return fail(("%s: %s is false"):format(ctx.vpc_id, name), ev, { ctx.vpc_id },
      fixes.vpc_attribute(ctx.fix, ctx.vpc_id, flag))
  end
  return not_evaluated(("the snapshot has no %s for %s"):format(name, ctx.vpc_id), ev)
end

function E.vpc_dns_support(ctx)
  return vpc_attribute(ctx, "EnableDnsSupport", "--enable-dns-support")
end

function E.vpc_dns_hostnames(ctx)
  return vpc_attribute(ctx, "EnableDnsHostnames", "--enable-dns-hostnames")
end

function E.iam_role_describe(ctx)
  local role = ctx.snap.role
  local role_arn = ctx.cluster and ctx.cluster.roleArn
  if type(role) ~= "table" then return not_evaluated(missing(ctx, "role", "the cluster IAM role"),
    { role = role_arn }) end
  local docs, unknown, names = role_documents(role)
  local outcomes = {}
  for _, action in ipairs(ROLE_ACTIONS) do outcomes[#outcomes + 1] = role_action(role, action, docs, unknown, names) end
  local out = combine(outcomes)
  local role_name = type(role.Role) == "table" and role.Role.RoleName
    or (type(role_arn) == "string" and role_arn:match(":role/(.+)$") and role_arn:match("([^/]+)$"))
  out.resources = { role_arn or role_name }
  if out.status == "fail" then
    out.fix = fixes.attach_cluster_policy(role_name or "<cluster-role-name>", ctx.partition)
  end
  return out
end

local function issuer_host(url)
  return type(url) == "string" and url:match("^https?://([^/:]+)") or nil
end

function E.destination_oidc_issuer(ctx)
  local gap = need_cluster(ctx)
  if gap then return gap end
  local issuer = type(ctx.cluster.identity) == "table" and type(ctx.cluster.identity.oidc) == "table"
    and ctx.cluster.identity.oidc.issuer
  if not issuer then return pass("the cluster has no OIDC issuer", { issuer = nil }) end
  local host = issuer_host(issuer)
  return pass(("%s (TCP 443) must stay reachable from the cluster subnets"):format(issuer),
    { issuer = issuer, host = host, port = 443 }, { host })
end

function E.destination_identity_providers(ctx)
  local gap = need_cluster(ctx)
  if gap then return gap end
  local idps = ctx.snap.identity_providers
  if not idps then return not_evaluated(missing(ctx, "identity_providers", "the identity provider configs")) end
  local urls, ev = {}, {}
  for _, p in ipairs(idps) do
    local oidc = type(p.oidc) == "table" and p.oidc or p
    if oidc.issuerUrl then
      urls[#urls + 1] = oidc.issuerUrl
      ev[#ev + 1] = { name = oidc.identityProviderConfigName, issuer = oidc.issuerUrl,
                      host = issuer_host(oidc.issuerUrl), port = 443 }
    end
  end
  if #urls == 0 then return pass("no OIDC identity provider is associated", { providers = ev }) end
  local hosts = {}
  for i, e in ipairs(ev) do hosts[i] = e.host end
  return pass(("%s (TCP 443) must stay reachable from the cluster subnets"):format(table.concat(urls, ", ")),
    { providers = ev }, unique(hosts))
end

function E.eks_endpoint_private_dns(ctx)
  if not ctx.vpc_id then return not_evaluated("the cluster's VPC is unknown") end
  if not ctx.snap.VpcEndpoints then return not_evaluated(missing(ctx, "VpcEndpoints", "the VPC endpoints")) end
  for _, ep in ipairs(ctx.snap.VpcEndpoints) do
    local service = tostring(ep.ServiceName)
    if ep.VpcId == ctx.vpc_id and service:match("^[%w.]*com%.amazonaws%.[%w-]+%.eks$")
      and is_true(ep.PrivateDnsEnabled) and lower(ep.State) ~= "deleted" and lower(ep.State) ~= "rejected" then
      return fail(("%s: interface endpoint %s for %s has private DNS: oidc.eks.<region>.amazonaws.com may not "
        .. "resolve inside the VPC, which breaks OIDC discovery (IRSA) once egress is customer routed"):format(
        ctx.vpc_id, tostring(ep.VpcEndpointId), service),
        { vpc = ctx.vpc_id, endpoint = ep.VpcEndpointId, service = service }, { ep.VpcEndpointId })
    end
  end
  return pass(ctx.vpc_id .. " has no EKS interface endpoint with private DNS", { vpc = ctx.vpc_id })
end

function E.flow_logs(ctx)
  if not ctx.vpc_id then return not_evaluated("the cluster's VPC is unknown") end
  if not ctx.snap.FlowLogs then return not_evaluated(missing(ctx, "FlowLogs", "the flow logs")) end
  local covered = { [ctx.vpc_id] = true }
  for _, id in ipairs(ctx.subnet_ids) do covered[id] = true end
  local found = {}
  for _, fl in ipairs(ctx.snap.FlowLogs) do
    if covered[fl.ResourceId] and (fl.FlowLogStatus == nil or lower(fl.FlowLogStatus) == "active") then
      found[#found + 1] = { flow_log = fl.FlowLogId, resource = fl.ResourceId, traffic = fl.TrafficType }
    end
  end
  if #found > 0 then
    return pass(("flow logs cover %s"):format(found[1].resource), { flow_logs = found }, { found[1].flow_log })
  end
  return fail(("no active flow log covers %s or the cluster subnets"):format(ctx.vpc_id), { vpc = ctx.vpc_id },
    { ctx.vpc_id }, fixes.create_flow_logs(ctx.fix, ctx.vpc_id))
end

---------------------------------------------------------------------------------------

local KNOWN_OPTS = { checks = true, planned = true, region = true, egress_destinations = true, cluster_name = true }

local function check_opts(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error("eksegress.workflows.preflight.checks.run: opts must be a table", 3) end
  for k in pairs(opts) do
    if not KNOWN_OPTS[k] then
      error(("eksegress.workflows.preflight.checks.run: unknown option %q"):format(tostring(k)), 3)
    end
  end
  if opts.checks ~= nil then
    if type(opts.checks) ~= "table" then error("eksegress.workflows.preflight.checks.run: checks must be a list", 3) end
    for _, id in ipairs(opts.checks) do
      if not BY_ID[id] then
        error(("eksegress.workflows.preflight.checks.run: unknown check id %q"):format(tostring(id)), 3)
      end
    end
  end
  for _, d in ipairs(list(opts.egress_destinations)) do
    if not cidr.parse(d) then
      error(("eksegress.workflows.preflight.checks.run: %q is not a CIDR block"):format(tostring(d)), 3)
    end
  end
  return opts
end

-- Failed checks per severity, named as the preflight document names them.
local SUMMARY_KEY = { [BLOCKING] = "blocking", [WARNING] = "warnings", [INFO] = "info" }

--- Run the checks over a snapshot.
-- @param snap the snapshot (see eksegress.workflows.preflight.snapshot)
-- @tparam[opt] table opts
--   `checks`: ids to run (default all);
--   `planned`: true for a cluster that does not exist yet (create): cluster-state
--     checks are not evaluated and a missing cluster security group means the one
--     EKS will create (all egress allowed);
--   `region`: for the fix commands (default: from cluster.arn);
--   `egress_destinations`: CIDRs that TCP 443 must reach (default 0.0.0.0/0, and
--     ::/0 for IPv6 clusters), e.g. the webhook and OIDC addresses;
--   `cluster_name`: for fix commands when the snapshot has no cluster.
-- @return results (list, report order), summary `{blocking, warnings, info (failed
--   checks per severity), passed, failed, not_evaluated, not_evaluated_blocking,
--   total, failing = {ids of failed checks, report order}}`
function M.run(snap, opts)
  if type(snap) ~= "table" then error("eksegress.workflows.preflight.checks.run: snapshot must be a table", 2) end
  opts = check_opts(opts)
  local ctx = build_context(snap, opts)
  local wanted
  if opts.checks then
    wanted = {}
    for _, id in ipairs(opts.checks) do wanted[id] = true end
  end
  local results = {}
  local summary = { blocking = 0, warnings = 0, info = 0, passed = 0, failed = 0, not_evaluated = 0,
                    not_evaluated_blocking = 0, total = 0, failing = {} }
  for _, d in ipairs(DEFS) do
    if not wanted or wanted[d.id] then
      local o = E[d.id](ctx)
      -- Evidence is an object whose `items` list what was examined (one per subnet,
      -- address family or target), each with what decided it.
      -- Absent when nothing could be examined.
      local items = o.evidence
      if not o.combined then items = items and { items } or {} end
      local evidence = #items > 0 and { items = items } or nil
      local r = { id = d.id, status = o.status, severity = d.severity, title = d.title, message = o.message,
                  resources = o.resources or {}, evidence = evidence,
                  fix = o.status == "fail" and o.fix or nil }
      results[#results + 1] = r
      summary.total = summary.total + 1
      if r.status == "pass" then
        summary.passed = summary.passed + 1
      elseif r.status == "fail" then
        summary.failed = summary.failed + 1
        local key = SUMMARY_KEY[d.severity]
        summary[key] = summary[key] + 1
        summary.failing[#summary.failing + 1] = d.id
      else
        summary.not_evaluated = summary.not_evaluated + 1
        if d.severity == BLOCKING then summary.not_evaluated_blocking = summary.not_evaluated_blocking + 1 end
      end
    end
  end
  return results, summary
end

-- Every check has an evaluator and nothing else does (a typo here would skip a check).
for _, d in ipairs(DEFS) do assert(E[d.id], "no evaluator for " .. d.id) end
for id in pairs(E) do assert(BY_ID[id], "evaluator without a definition: " .. id) end

return M
