-- The preflight checks over saved snapshots in the SDK shape
-- (spec/fixtures/preflight/*.json: one network per file, the README there says
-- what each states). Every expected status, id, resource and command is written
-- out by hand.
local cjson = require "cjson"
local fixtures = require "helpers.fixtures"
local checks = require "eksegress.workflows.preflight.checks"

local SA, SB = "subnet-0a00000000000000a", "subnet-0b00000000000000b"
local VPC = "vpc-0a1b2c3d4e5f60001"
local RT_MAIN, RT_PRIV, RT_PUB = "rtb-0a1b2c3d4e5f6main", "rtb-0a1b2c3d4e5f6priv", "rtb-0a1b2c3d4e5f6pub1"
local ACL_PRIV = "acl-0a1b2c3d4e5f6priv"
local SG_CLUSTER, SG_EXTRA = "sg-0c1a5e7c1a5e70001", "sg-0e7a0e7a0e7a00443"
local NAT = "nat-0a1b2c3d4e5f60001"

local function load(name)
  return cjson.decode(fixtures.read("spec/fixtures/preflight/" .. name .. ".json"))
end

local function run(snap, opts)
  local results, summary = checks.run(snap, opts)
  local by = {}
  for _, r in ipairs(results) do by[r.id] = r end
  return by, summary, results
end

-- The ids of the failed checks, sorted.
local function failing(snap, opts)
  local _, summary = checks.run(snap, opts)
  table.sort(summary.failing)
  return summary.failing
end

local function find(list, key, value)
  for _, item in ipairs(list) do
    if item[key] == value then return item end
  end
  error("no item with " .. key .. " = " .. tostring(value))
end

local function route_table(snap, id) return find(snap.RouteTables, "RouteTableId", id) end

describe("checks.list", function()
  it("defines every check once, in report order, with its severity", function()
    local expected = {
      { "cluster_status", "blocking" }, { "update_in_progress", "blocking" }, { "egress_mode", "info" },
      { "subnets_same_vpc", "blocking" }, { "subnets_multi_az", "blocking" }, { "subnet_free_ips", "blocking" },
      { "route_default", "blocking" }, { "route_blackhole", "blocking" }, { "route_igw_only", "blocking" },
      { "route_specific_blackhole", "warning" }, { "egress_device_nat", "blocking" },
      { "egress_device_nat_upstream", "warning" }, { "egress_device_tgw", "blocking" },
      { "egress_device_instance", "blocking" }, { "ipv6_egress_only", "blocking" },
      { "nacl_outbound_443", "blocking" }, { "nacl_outbound_10250", "blocking" },
      { "nacl_inbound_ephemeral", "blocking" }, { "sg_egress_443", "blocking" }, { "sg_egress_10250", "blocking" },
      { "dhcp_amazon_dns", "warning" }, { "vpc_dns_support", "blocking" }, { "vpc_dns_hostnames", "blocking" },
      { "iam_role_describe", "blocking" }, { "destination_oidc_issuer", "info" },
      { "destination_identity_providers", "info" }, { "eks_endpoint_private_dns", "warning" }, { "flow_logs", "info" },
    }
    local list = checks.list()
    assert.equal(#expected, #list)
    for i, e in ipairs(expected) do
      assert.equal(e[1], list[i].id)
      assert.equal(e[2], list[i].severity, e[1])
      assert.is_true(#list[i].title > 0 and #list[i].help > 0 and #list[i].group > 0, e[1])
    end
    local ids = checks.ids()
    for i, e in ipairs(expected) do assert.equal(e[1], ids[i]) end
  end)

  it("includes every id the simulator's ground truth uses", function()
    local text = fixtures.read("tools/ekssim/sim/fleet.py")
    local body = assert(text:match("CHECK_IDS%s*=%s*(%b[])"), "CHECK_IDS not found in the simulator")
    local known = {}
    for _, id in ipairs(checks.ids()) do known[id] = true end
    local n = 0
    for id in body:gmatch('"([%w_]+)"') do
      n = n + 1
      assert.is_true(known[id], id)
    end
    assert.equal(21, n)   -- the simulator witnesses 21 of the checks
  end)

  it("returns copies, so a caller cannot change the definitions", function()
    checks.list()[1].severity = "info"
    assert.equal("blocking", checks.list()[1].severity)
  end)
end)

describe("a healthy network", function()
  it("passes every check, with evidence and no fix", function()
    local by, summary, results = run(load("healthy"))
    assert.equal(28, #results)
    for _, r in ipairs(results) do
      assert.equal("pass", r.status, r.id .. ": " .. tostring(r.message))
      assert.is_nil(r.fix, r.id)
      assert.is_string(r.message)
      assert.is_table(r.resources)
      -- an object (the report schema's shape) holding one item per subject examined
      assert.is_table(r.evidence.items, r.id)
      assert.is_true(#r.evidence.items >= 1, r.id)
      local n = 0
      for _ in pairs(r.evidence) do n = n + 1 end
      assert.equal(1, n, r.id)
    end
    assert.same({ blocking = 0, warnings = 0, info = 0, passed = 28, failed = 0, not_evaluated = 0,
                  not_evaluated_blocking = 0, total = 28, failing = {} }, summary)
    assert.equal("Cluster is ACTIVE", by.cluster_status.title)
  end)

  it("finds 443 egress in the second security group only: the union passes", function()
    local by = run(load("healthy"))
    local ev = by.sg_egress_443.evidence.items[1]
    assert.same({ { group = SG_EXTRA, rule = 1, protocol = "tcp", ports = "443", cidr = "0.0.0.0/0" } }, ev.allowed_by)
    assert.same({ SG_CLUSTER, SG_EXTRA }, by.sg_egress_443.resources)
  end)

  it("lists the destinations that must stay reachable", function()
    local by = run(load("healthy"))
    assert.same({ "oidc.eks.us-east-1.amazonaws.com" }, by.destination_oidc_issuer.resources)
    assert.same({ "sso.corp.example" }, by.destination_identity_providers.resources)
    assert.equal("https://sso.corp.example/oauth2/default (TCP 443) must stay reachable from the cluster subnets",
      by.destination_identity_providers.message)
    assert.equal("AWS_MANAGED", by.egress_mode.evidence.items[1].controlPlaneEgressMode)
  end)
end)

describe("the results in the preflight document", function()
  local schema = require "helpers.schema"
  local report_json = require "eksegress.report.json"

  it("are valid against docs/schemas/preflight.schema.json for every saved snapshot", function()
    local clusters = {}
    for _, name in ipairs({ "healthy", "nacl-deny-before-allow", "main-route-table", "nat-deleted", "igw-only",
                            "specific-blackhole", "custom-dhcp", "nat-instance-sdc-on", "tgw-pending-acceptance",
                            "ipv6-no-eigw", "prefix-list" }) do
      local results, summary = checks.run(load(name))
      clusters[#clusters + 1] = { account = "111122223333", region = "us-east-1", name = "demo-" .. name,
        vpc_id = VPC, egress_mode = "AWS_MANAGED", results = results, blocking = summary.blocking,
        warnings = summary.warnings }
    end
    local empty = checks.run({})
    clusters[#clusters + 1] = { account = "111122223333", region = "us-east-1", name = "unreadable",
      egress_mode = "UNKNOWN", results = empty, blocking = 0, warnings = 0 }
    local doc = { schema = "eksegress/preflight/1", generated_at = "2026-06-18T10:00:00Z",
                  tool = { name = "eksegress", version = "0.1.0" }, clusters = clusters, errors = {} }
    schema.assert_valid(schema.PREFLIGHT, report_json.encode(doc))
  end)
end)

describe("network ACL traps", function()
  it("a deny rule numbered before an allow decides: blocking, with the rule as evidence", function()
    local snap = load("nacl-deny-before-allow")
    assert.same({ "nacl_outbound_443" }, failing(snap))
    local r = run(snap).nacl_outbound_443
    assert.equal("blocking", r.severity)
    assert.same({ SA, ACL_PRIV, SB }, r.resources)
    assert.same({ rule_number = 90, action = "deny", protocol = "tcp", cidr = "0.0.0.0/0", ports = "443" },
      r.evidence.items[1].decided_by)
    assert.equal("aws ec2 create-network-acl-entry --network-acl-id acl-0a1b2c3d4e5f6priv --egress --rule-number 89"
      .. " --protocol tcp --port-range From=443,To=443 --cidr-block 0.0.0.0/0 --rule-action allow --region us-east-1",
      r.fix)
    assert.equal("subnet-0a00000000000000a: acl-0a1b2c3d4e5f6priv blocks outbound TCP 443 to 0.0.0.0/0: rule 90 "
      .. "denies it (tcp 0.0.0.0/0, ports 443); subnet-0b00000000000000b: acl-0a1b2c3d4e5f6priv blocks outbound TCP "
      .. "443 to 0.0.0.0/0: rule 90 denies it (tcp 0.0.0.0/0, ports 443)", r.message)
  end)

  it("an allow rule numbered before a deny decides: passes", function()
    local snap = load("nacl-allow-before-deny")
    assert.same({}, failing(snap))
    local by = run(snap)
    assert.equal(100, by.nacl_outbound_443.evidence.items[1].allowed_by[1].rule_number)
    assert.equal(95, by.nacl_inbound_ephemeral.evidence.items[1].allowed_by[1].rule_number)
  end)

  it("with nothing allowing it, the implicit deny blocks", function()
    local snap = load("healthy")
    local acl = find(snap.NetworkAcls, "NetworkAclId", ACL_PRIV)
    -- rules 110 (outbound 10250 to the VPC) and 120 (outbound 1024-65535, which includes 10250)
    table.remove(acl.Entries, 3)
    table.remove(acl.Entries, 2)
    local r = run(snap).nacl_outbound_10250
    assert.equal("fail", r.status)
    assert.equal("implicit deny", r.evidence.items[1].decided_by)
    assert.equal("aws ec2 create-network-acl-entry --network-acl-id acl-0a1b2c3d4e5f6priv --egress --rule-number 101"
      .. " --protocol tcp --port-range From=10250,To=10250 --cidr-block 10.0.0.0/16 --rule-action allow"
      .. " --region us-east-1", r.fix)
  end)

  it("an inbound allow of 32768-65535 only leaves 1024-32767 to the implicit deny", function()
    local snap = load("healthy")
    local acl = find(snap.NetworkAcls, "NetworkAclId", ACL_PRIV)
    find(acl.Entries, "Egress", false).PortRange = { From = 32768, To = 65535 }
    assert.same({ "nacl_inbound_ephemeral" }, failing(snap))
  end)

  it("a subnet without an explicit association uses the VPC's default network ACL", function()
    local snap = load("healthy")
    local acl = find(snap.NetworkAcls, "NetworkAclId", ACL_PRIV)
    acl.Associations = { acl.Associations[1] } -- subnet B falls back to the default ACL (allow all)
    local r = run(snap).nacl_outbound_443
    assert.equal("pass", r.status)
    assert.equal("the VPC's default network ACL", r.evidence.items[2].selected_by)
    assert.equal("acl-0a1b2c3d4e5f6def1", r.evidence.items[2].network_acl)
  end)
end)

describe("route traps", function()
  it("the main route table decides for a subnet without an association", function()
    local snap = load("main-route-table")
    assert.same({ "route_default" }, failing(snap))
    local r = run(snap).route_default
    assert.same({ SB, RT_MAIN }, r.resources)
    assert.equal("subnet-0b00000000000000b: route table rtb-0a1b2c3d4e5f6main (main route table: no explicit "
      .. "association) has no route for 0.0.0.0/0", r.message)
    assert.equal("aws ec2 associate-route-table --route-table-id rtb-0a1b2c3d4e5f6priv --subnet-id "
      .. "subnet-0b00000000000000b --region us-east-1", r.fix)
    assert.equal("fail", r.evidence.items[2].status)
    assert.equal("pass", r.evidence.items[1].status)
  end)

  it("a main route table with a default route serves the unassociated subnet", function()
    local snap = load("main-route-table")
    table.insert(route_table(snap, RT_MAIN).Routes,
      { DestinationCidrBlock = "0.0.0.0/0", NatGatewayId = NAT, Origin = "CreateRoute", State = "active" })
    assert.same({}, failing(snap))
  end)

  it("a NAT gateway that was deleted leaves a blackhole default route", function()
    local snap = load("nat-deleted")
    assert.same({ "route_blackhole" }, failing(snap))
    local by = run(snap)
    assert.same({ SA, RT_PRIV, NAT, SB }, by.route_blackhole.resources)
    assert.equal("aws ec2 create-nat-gateway --subnet-id subnet-0c0000000000000c1 --allocation-id '<eipalloc-id>' "
      .. "--region us-east-1\naws ec2 replace-route --route-table-id rtb-0a1b2c3d4e5f6priv --destination-cidr-block "
      .. "0.0.0.0/0 --nat-gateway-id '<nat-gateway-id>' --region us-east-1", by.route_blackhole.fix)
    -- the device check looks only at active routes
    assert.equal("pass", by.egress_device_nat.status)
  end)

  it("an active route to a NAT gateway that is not available fails the device check", function()
    local snap = load("healthy")
    snap.NatGateways[1].State = "FAILED" -- state strings compare case-insensitively
    snap.NatGateways[1].FailureCode = "Gateway.NotAttached"
    assert.same({ "egress_device_nat" }, failing(snap))
    local r = run(snap).egress_device_nat
    assert.equal("subnet-0a00000000000000a: NAT gateway nat-0a1b2c3d4e5f60001 is FAILED (Gateway.NotAttached); "
      .. "subnet-0b00000000000000b: NAT gateway nat-0a1b2c3d4e5f60001 is FAILED (Gateway.NotAttached)", r.message)
    assert.same({ code = "Gateway.NotAttached" }, r.evidence.items[1].failure)
    snap.NatGateways[1].State = "pending"
    assert.equal("aws ec2 wait nat-gateway-available --nat-gateway-ids nat-0a1b2c3d4e5f60001 --region us-east-1",
      run(snap).egress_device_nat.fix)
  end)

  it("a default route only to an internet gateway is blocking, and says why", function()
    local snap = load("igw-only")
    assert.same({ "route_igw_only" }, failing(snap))
    local r = run(snap).route_igw_only
    assert.equal("blocking", r.severity)
    assert.matches("no public IPv4", r.evidence.items[1].reason)
    assert.equal("aws ec2 replace-route --route-table-id rtb-0a1b2c3d4e5f6priv --destination-cidr-block 0.0.0.0/0 "
      .. "--nat-gateway-id nat-0a1b2c3d4e5f60001 --region us-east-1", r.fix)
  end)

  it("a more specific blackhole route beside a healthy default route is a warning", function()
    local snap = load("specific-blackhole")
    assert.same({ "route_specific_blackhole" }, failing(snap))
    local by, summary = run(snap)
    assert.equal("warning", by.route_specific_blackhole.severity)
    assert.equal(0, summary.blocking)
    assert.equal(1, summary.warnings)
    assert.equal("aws ec2 delete-route --route-table-id rtb-0a1b2c3d4e5f6priv --destination-cidr-block "
      .. "203.0.113.0/24 --region us-east-1", by.route_specific_blackhole.fix)
    assert.equal("pass", by.route_blackhole.status)
  end)

  it("two halves of the address space serve as the default route (longest prefix match)", function()
    local snap = load("healthy")
    local rt = route_table(snap, RT_PRIV)
    rt.Routes[2] = { DestinationCidrBlock = "0.0.0.0/1", NatGatewayId = NAT, State = "active" }
    rt.Routes[3] = { DestinationCidrBlock = "128.0.0.0/1", NatGatewayId = NAT, State = "active" }
    assert.same({}, failing(snap))
    rt.Routes[3] = nil
    assert.same({ "route_default" }, failing(snap))
  end)

  it("a public NAT gateway whose subnet has no route to an internet gateway is a warning", function()
    local snap = load("healthy")
    table.remove(route_table(snap, RT_PUB).Routes, 2)
    assert.same({ "egress_device_nat_upstream" }, failing(snap))
    assert.equal("aws ec2 create-route --route-table-id rtb-0a1b2c3d4e5f6pub1 --destination-cidr-block 0.0.0.0/0 "
      .. "--gateway-id igw-0a1b2c3d4e5f60001 --region us-east-1", run(snap).egress_device_nat_upstream.fix)
  end)
end)

describe("egress devices", function()
  it("a NAT instance with source/destination check on is blocking", function()
    local snap = load("nat-instance-sdc-on")
    assert.same({ "egress_device_instance" }, failing(snap))
    assert.equal("aws ec2 modify-network-interface-attribute --network-interface-id eni-0a1b2c3d4e5f6a7b8 "
      .. "--no-source-dest-check --region us-east-1", run(snap).egress_device_instance.fix)
  end)

  it("a running NAT instance with the check off passes; stopped, it fails", function()
    local snap = load("nat-instance")
    assert.same({}, failing(snap))
    snap.Instances[1].State = { Code = 80, Name = "stopped" }
    assert.same({ "egress_device_instance" }, failing(snap))
    assert.equal("aws ec2 start-instances --instance-ids i-0a1b2c3d4e5f6a7b8 --region us-east-1",
      run(snap).egress_device_instance.fix)
  end)

  it("a NAT instance route without the instances in the snapshot is not evaluated", function()
    local snap = load("nat-instance")
    snap.Instances = nil
    local r = run(snap).egress_device_instance
    assert.equal("not_evaluated", r.status)
    assert.matches("the instances: not in the snapshot", r.message, 1, true)
  end)

  it("a transit gateway whose attachment waits for acceptance is blocking", function()
    assert.same({}, failing(load("tgw")))
    local snap = load("tgw-pending-acceptance")
    assert.same({ "egress_device_tgw" }, failing(snap))
    assert.equal("aws ec2 accept-transit-gateway-vpc-attachment --transit-gateway-attachment-id "
      .. "tgw-attach-0a1b2c3d4e5f60001 --region us-east-1", run(snap).egress_device_tgw.fix)
  end)

  it("a transit gateway attachment without a subnet in the subnet's AZ cannot carry its traffic", function()
    local snap = load("tgw")
    snap.TransitGatewayVpcAttachments[1].SubnetIds = { SA }
    local r = run(snap).egress_device_tgw
    assert.equal("fail", r.status)
    assert.same({ SB, "tgw-attach-0a1b2c3d4e5f60001" }, r.resources)
    assert.equal("aws ec2 modify-transit-gateway-vpc-attachment --transit-gateway-attachment-id "
      .. "tgw-attach-0a1b2c3d4e5f60001 --add-subnet-ids subnet-0b00000000000000b --region us-east-1", r.fix)
  end)

  it("a transit gateway that is not available is blocking", function()
    local snap = load("tgw")
    snap.TransitGateways[1].State = "pending"
    assert.same({ "egress_device_tgw" }, failing(snap))
  end)
end)

describe("security groups", function()
  it("egress allowed only in a second security group fails once that group is detached", function()
    local snap = load("sg-second-group-detached")
    assert.same({ "sg_egress_443" }, failing(snap))
    local by = run(snap)
    assert.equal("aws ec2 authorize-security-group-egress --group-id sg-0c1a5e7c1a5e70001 --protocol tcp --port 443"
      .. " --cidr 0.0.0.0/0 --region us-east-1", by.sg_egress_443.fix)
    -- 10250 is allowed by a reference to the node security group
    assert.equal("pass", by.sg_egress_10250.status)
    assert.same({ { group = SG_CLUSTER, rule = 1, references = "sg-0d0de50de50de0001", ports = "10250" } },
      by.sg_egress_10250.evidence.items[1].allowed_by)
  end)

  it("a prefix-list reference is resolved through its entries", function()
    local snap = load("prefix-list")
    assert.same({}, failing(snap))
    local ev = run(snap).sg_egress_443.evidence.items[1]
    assert.same({ "pl-0e7a0e7a0e7a00001", "pl-0e7a0e7a0e7a00001" }, { ev.allowed_by[1].prefix_list,
                                                                     ev.allowed_by[2].prefix_list })
    snap.ManagedPrefixLists[1].Entries = { { Cidr = "0.0.0.0/1" } }
    assert.same({ "sg_egress_443" }, failing(snap))
  end)

  it("a prefix list without its entries is not evaluated rather than failed", function()
    local snap = load("prefix-list")
    snap.ManagedPrefixLists = {}
    local r = run(snap).sg_egress_443
    assert.equal("not_evaluated", r.status)
    assert.matches("pl-0e7a0e7a0e7a00001", r.message, 1, true)
  end)

  it("protocol -1 allows every port; a UDP rule allows no TCP", function()
    local snap = load("healthy")
    snap.SecurityGroups[2].IpPermissionsEgress = { { IpProtocol = "udp", FromPort = 0, ToPort = 65535,
                                                     IpRanges = { { CidrIp = "0.0.0.0/0" } } } }
    assert.same({ "sg_egress_443" }, failing(snap))
    snap.SecurityGroups[2].IpPermissionsEgress = { { IpProtocol = "-1", IpRanges = { { CidrIp = "0.0.0.0/0" } } } }
    assert.same({}, failing(snap))
  end)

  it("a group missing from the snapshot makes a failing union not evaluated", function()
    local snap = load("healthy")
    table.remove(snap.SecurityGroups, 2)
    local r = run(snap).sg_egress_443
    assert.equal("not_evaluated", r.status)
    assert.matches(SG_EXTRA, r.message, 1, true)
  end)

  it("checks the destinations the caller names instead of 0.0.0.0/0", function()
    local snap = load("healthy")
    snap.SecurityGroups[2].IpPermissionsEgress[1].IpRanges = { { CidrIp = "203.0.113.0/24" } }
    assert.same({ "sg_egress_443" }, failing(snap))
    assert.same({}, failing(snap, { egress_destinations = { "203.0.113.10/32" } }))
  end)
end)

describe("IPv6", function()
  it("with an egress-only internet gateway attached, passes", function()
    assert.same({}, failing(load("ipv6-eigw")))
  end)

  it("without an egress-only internet gateway, fails ipv6_egress_only", function()
    local snap = load("ipv6-no-eigw")
    assert.same({ "ipv6_egress_only" }, failing(snap))
    assert.equal("aws ec2 create-egress-only-internet-gateway --vpc-id vpc-0a1b2c3d4e5f60001 --region us-east-1\n"
      .. "aws ec2 create-route --route-table-id rtb-0a1b2c3d4e5f6priv --destination-ipv6-cidr-block ::/0 "
      .. "--egress-only-internet-gateway-id '<eigw-id>' --region us-east-1", run(snap).ipv6_egress_only.fix)
  end)

  it("::/0 to an internet gateway attached to the VPC is fine for IPv6", function()
    local snap = load("ipv6-eigw")
    local rt = route_table(snap, RT_PRIV)
    rt.Routes[#rt.Routes] = { DestinationIpv6CidrBlock = "::/0", GatewayId = "igw-0a1b2c3d4e5f60001", State = "active" }
    assert.same({}, failing(snap))
  end)

  it("an egress-only gateway that is not attached to the VPC fails", function()
    local snap = load("ipv6-eigw")
    snap.EgressOnlyInternetGateways[1].Attachments = {}
    assert.same({ "ipv6_egress_only" }, failing(snap))
  end)

  it("the IPv6 network ACL entries are evaluated on their own", function()
    local snap = load("ipv6-eigw")
    local acl = find(snap.NetworkAcls, "NetworkAclId", ACL_PRIV)
    for i = #acl.Entries, 1, -1 do
      local e = acl.Entries[i]
      if e.Ipv6CidrBlock and e.Egress == false and e.RuleAction == "allow" then table.remove(acl.Entries, i) end
    end
    assert.same({ "nacl_inbound_ephemeral" }, failing(snap))
    local r = run(snap).nacl_inbound_ephemeral
    assert.equal("aws ec2 create-network-acl-entry --network-acl-id acl-0a1b2c3d4e5f6priv --ingress --rule-number "
      .. "101 --protocol tcp --port-range From=1024,To=65535 --ipv6-cidr-block ::/0 --rule-action allow "
      .. "--region us-east-1", r.fix)
  end)

  it("the IPv6 checks do not apply to an IPv4 cluster", function()
    local r = run(load("ipv6-no-eigw")).ipv6_egress_only
    assert.equal("fail", r.status)
    local snap = load("ipv6-no-eigw")
    snap.cluster.kubernetesNetworkConfig.ipFamily = "ipv4"
    assert.equal("not an IPv6 cluster", run(snap).ipv6_egress_only.message)
  end)
end)

describe("DNS", function()
  it("a custom DHCP resolver is a warning naming the resolvers", function()
    local snap = load("custom-dhcp")
    assert.same({ "dhcp_amazon_dns" }, failing(snap))
    local r = run(snap).dhcp_amazon_dns
    assert.equal("warning", r.severity)
    assert.matches("10.250.0.10, 10.250.0.11", r.message, 1, true)
    assert.same({ "10.250.0.10", "10.250.0.11" }, r.evidence.items[1].domain_name_servers)
  end)

  it("the VPC resolver named by address (base + 2) is AmazonProvidedDNS", function()
    local snap = load("custom-dhcp")
    snap.DhcpOptions[1].DhcpConfigurations[2].Values = { { Value = "10.0.0.2" } }
    assert.same({}, failing(snap))
  end)

  it("DNS support and hostnames turned off are blocking, with the command that turns them on", function()
    local snap = load("healthy")
    snap.VpcAttributes.EnableDnsSupport.Value = false
    snap.VpcAttributes.EnableDnsHostnames.Value = false
    assert.same({ "vpc_dns_hostnames", "vpc_dns_support" }, failing(snap))
    assert.equal([[aws ec2 modify-vpc-attribute --vpc-id vpc-0a1b2c3d4e5f60001 --enable-dns-support '{"Value":true}' ]]
      .. "--region us-east-1", run(snap).vpc_dns_support.fix)
  end)
end)

describe("cluster state and subnets", function()
  it("a cluster that is not ACTIVE, and an update in progress", function()
    local snap = load("healthy")
    snap.cluster.status = "UPDATING"
    snap.updates[2] = { id = "0f3c-upd", status = "InProgress", type = "VersionUpdate" }
    assert.same({ "cluster_status", "update_in_progress" }, failing(snap))
    local by = run(snap)
    assert.equal("aws eks wait cluster-active --name demo --region us-east-1", by.cluster_status.fix)
    assert.equal("aws eks describe-update --name demo --update-id 0f3c-upd --region us-east-1",
      by.update_in_progress.fix)
  end)

  it("reports the egress mode; an undocumented one fails as info; a missing one is unknown", function()
    local snap = load("healthy")
    snap.cluster.resourcesVpcConfig.controlPlaneEgressMode = "CUSTOMER_ISOLATED"
    local by, summary = run(snap)
    assert.equal("fail", by.egress_mode.status)
    assert.equal(1, summary.info)
    assert.equal(0, summary.blocking)
    snap.cluster.resourcesVpcConfig.controlPlaneEgressMode = nil
    assert.equal("not_evaluated", run(snap).egress_mode.status)
  end)

  it("subnets in another VPC, in one AZ, or without free addresses", function()
    local snap = load("healthy")
    snap.Subnets[2].VpcId = "vpc-0other00000000001"
    snap.Subnets[2].AvailabilityZone = "us-east-1a"
    snap.Subnets[1].AvailableIpAddressCount = 5
    local got = failing(snap)
    assert.same({ "subnet_free_ips", "subnets_multi_az", "subnets_same_vpc" }, {
      got[#got - 2], got[#got - 1], got[#got] })
    local by = run(snap)
    assert.same({ SB }, by.subnets_same_vpc.resources)
    assert.equal("aws ec2 describe-network-interfaces --filters Name=subnet-id,Values=subnet-0a00000000000000a "
      .. "Name=status,Values=available --region us-east-1", by.subnet_free_ips.fix)
    snap = load("healthy")
    snap.Subnets[1].AvailableIpAddressCount = 6
    assert.same({}, failing(snap))
  end)
end)

describe("the cluster IAM role", function()
  local function role_result(role)
    local snap = load("healthy")
    snap.role = role
    return run(snap).iam_role_describe
  end

  local ROLE = { RoleName = "demo-cluster-role", Arn = "arn:aws:iam::111122223333:role/demo-cluster-role" }
  local function doc(effect, actions)
    return { Version = "2012-10-17", Statement = { { Effect = effect, Action = actions, Resource = "*" } } }
  end

  it("an inline policy with ec2:Describe* allows both calls", function()
    local r = role_result({ Role = ROLE, AttachedPolicies = {},
      RolePolicies = { { PolicyName = "describe", PolicyDocument = doc("Allow", "ec2:Describe*") } } })
    assert.equal("pass", r.status)
  end)

  it("an explicit deny wins over AmazonEKSClusterPolicy", function()
    local snap = load("healthy")
    snap.role.RolePolicies = { { PolicyName = "no-dhcp", PolicyDocument = doc("Deny", "ec2:DescribeDhcpOptions") } }
    local r = run(snap).iam_role_describe
    assert.equal("fail", r.status)
    assert.equal("ec2:DescribeDhcpOptions is explicitly denied by inline no-dhcp", r.message)
    assert.equal("aws iam attach-role-policy --role-name demo-cluster-role --policy-arn "
      .. "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy", r.fix)
  end)

  it("AmazonEKSClusterPolicy attached without its document counts by its documented content", function()
    local r = role_result({ Role = ROLE, AttachedPolicies = { { PolicyName = "AmazonEKSClusterPolicy",
      PolicyArn = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy" } }, RolePolicies = {} })
    assert.equal("pass", r.status)
  end)

  it("a policy that could not be read makes a missing allow not evaluated", function()
    local r = role_result({ Role = ROLE, AttachedPolicies = { { PolicyName = "custom",
      PolicyArn = "arn:aws:iam::111122223333:policy/custom" } }, RolePolicies = {} })
    assert.equal("not_evaluated", r.status)
    assert.matches("arn:aws:iam::111122223333:policy/custom", r.message, 1, true)
  end)

  it("no policy allowing the calls fails", function()
    local r = role_result({ Role = ROLE, AttachedPolicies = {},
      RolePolicies = { { PolicyName = "vpcs", PolicyDocument = doc("Allow", "ec2:DescribeVpcs") } } })
    assert.equal("fail", r.status)
    assert.equal("ec2:DescribeDhcpOptions is not allowed by any policy of the role", r.message)
  end)

  it("a SimulatePrincipalPolicy result decides when present", function()
    local r = role_result({ Role = ROLE, EvaluationResults = {
      { EvalActionName = "ec2:DescribeVpcs", EvalDecision = "allowed" },
      { EvalActionName = "ec2:DescribeDhcpOptions", EvalDecision = "implicitDeny" } } })
    assert.equal("fail", r.status)
    assert.equal("ec2:DescribeDhcpOptions is implicitDeny (SimulatePrincipalPolicy)", r.message)
  end)

  it("a permissions boundary must allow too; an unread one is not evaluated", function()
    local base = { RoleName = "demo-cluster-role", Arn = ROLE.Arn,
                   PermissionsBoundary = { PermissionsBoundaryArn = "arn:aws:iam::111122223333:policy/boundary" } }
    local allow = { { PolicyName = "d", PolicyDocument = doc("Allow", "ec2:Describe*") } }
    assert.equal("not_evaluated", role_result({ Role = base, RolePolicies = allow }).status)
    assert.equal("fail", role_result({ Role = base, RolePolicies = allow,
      PermissionsBoundary = { PolicyArn = "b", Document = doc("Allow", "s3:*") } }).status)
    assert.equal("pass", role_result({ Role = base, RolePolicies = allow,
      PermissionsBoundary = { PolicyArn = "b", Document = doc("Allow", "ec2:*") } }).status)
  end)

  it("a condition operator the evaluator does not implement is not evaluated, never guessed", function()
    local policy = doc("Allow", "ec2:*")
    policy.Statement[1].Condition = { IpAddress = { ["aws:SourceIp"] = "192.0.2.0/24" } }
    local r = role_result({ Role = ROLE, RolePolicies = { { PolicyName = "ip", PolicyDocument = policy } } })
    assert.equal("not_evaluated", r.status)
    assert.matches("IpAddress", r.message, 1, true)
  end)
end)

describe("advisories", function()
  it("an EKS interface endpoint with private DNS is a warning", function()
    local snap = load("healthy")
    snap.VpcEndpoints[3] = { VpcEndpointId = "vpce-0e5e5e5e5e5e5e5e5", VpcEndpointType = "Interface", VpcId = VPC,
      ServiceName = "com.amazonaws.us-east-1.eks", State = "available", PrivateDnsEnabled = true }
    assert.same({ "eks_endpoint_private_dns" }, failing(snap))
    assert.same({ "vpce-0e5e5e5e5e5e5e5e5" }, run(snap).eks_endpoint_private_dns.resources)
  end)

  it("missing flow logs is info, with the command that creates them", function()
    local snap = load("healthy")
    snap.FlowLogs = {}
    local by, summary = run(snap)
    assert.equal("fail", by.flow_logs.status)
    assert.equal(1, summary.info)
    assert.equal(0, summary.blocking)
    assert.equal("aws ec2 create-flow-logs --resource-type VPC --resource-ids vpc-0a1b2c3d4e5f60001 --traffic-type "
      .. "ALL --log-destination-type s3 --log-destination 'arn:aws:s3:::<bucket-name>' --region us-east-1",
      by.flow_logs.fix)
  end)
end)

describe("missing inputs are never passed silently", function()
  it("an empty snapshot evaluates nothing and passes nothing that needs data", function()
    local _, summary, results = run({})
    for _, r in ipairs(results) do
      assert.equal("not_evaluated", r.status, r.id)
      assert.is_true(#r.message > 0, r.id)
      assert.is_true(r.evidence == nil or #r.evidence.items > 0, r.id)
    end
    assert.equal(28, summary.not_evaluated)
  end)

  it("each missing EC2 part is named in the reason", function()
    local snap = load("healthy")
    snap.NetworkAcls, snap.RouteTables, snap.VpcAttributes = nil, nil, nil
    snap.errors = { NetworkAcls = "AccessDenied: ec2:DescribeNetworkAcls" }
    local by = run(snap)
    assert.equal("not_evaluated", by.nacl_outbound_443.status)
    assert.equal("the network ACLs could not be read: AccessDenied: ec2:DescribeNetworkAcls",
      by.nacl_outbound_443.message)
    assert.equal("the route tables: not in the snapshot", by.route_default.message)
    assert.equal("the VPC attributes: not in the snapshot", by.vpc_dns_support.message)
  end)
end)

describe("checks.run options", function()
  it("runs a subset, in report order", function()
    local _, summary, results = run(load("healthy"), { checks = { "sg_egress_443", "route_default" } })
    assert.equal(2, summary.total)
    assert.equal("route_default", results[1].id)
    assert.equal("sg_egress_443", results[2].id)
  end)

  it("planned: a cluster that does not exist yet, with the security group EKS will create", function()
    local snap = load("healthy")
    snap.cluster = { resourcesVpcConfig = { subnetIds = { SA, SB }, securityGroupIds = {}, vpcId = VPC } }
    local by = run(snap, { planned = true, region = "us-east-1" })
    assert.equal("not_evaluated", by.cluster_status.status)
    assert.equal("the cluster does not exist yet", by.cluster_status.message)
    assert.equal("pass", by.sg_egress_443.status)
    assert.equal("pass", by.route_default.status)
  end)

  it("raises on misuse", function()
    assert.has_error(function() checks.run(nil) end)
    assert.has_error(function() checks.run({}, { nope = true }) end, nil)
    assert.has_error(function() checks.run({}, { checks = { "no_such_check" } }) end)
    assert.has_error(function() checks.run({}, { egress_destinations = { "not-a-cidr" } }) end)
  end)
end)

-- Network ACL evaluation exactly as EC2 does it (checks.nacl_decision): the
-- entries of one direction and address family, in rule-number order, first match
-- wins, the implicit deny last; a requirement holds when every packet it
-- describes (ports x addresses) is allowed.
local function e(n, proto, action, egress, block, from, to)
  local t = { RuleNumber = n, Protocol = proto, RuleAction = action, Egress = egress }
  if block:find(":", 1, true) then t.Ipv6CidrBlock = block else t.CidrBlock = block end
  if from then t.PortRange = { From = from, To = to or from } end
  return t
end

local function allowed(entries, egress, target, lo, hi)
  return checks.nacl_decision(entries, egress, target, lo, hi or lo).allowed
end

describe("checks.nacl_decision", function()
  it("a deny numbered before an allow decides", function()
    local entries = { e(100, "6", "allow", true, "0.0.0.0/0", 443), e(90, "6", "deny", true, "0.0.0.0/0", 443) }
    local d = checks.nacl_decision(entries, true, "0.0.0.0/0", 443, 443)
    assert.is_false(d.allowed)
    assert.equal(90, d.decided_by.RuleNumber)
  end)

  it("an allow numbered before a deny decides, whatever the list order", function()
    local entries = { e(110, "6", "deny", true, "0.0.0.0/0", 443), e(100, "6", "allow", true, "0.0.0.0/0", 443) }
    local d = checks.nacl_decision(entries, true, "0.0.0.0/0", 443, 443)
    assert.is_true(d.allowed)
    assert.equal(100, d.allowed_by[1].RuleNumber)
  end)

  it("no matching entry is the implicit deny", function()
    local d = checks.nacl_decision({ e(100, "6", "allow", true, "10.0.0.0/8", 443) }, true, "0.0.0.0/0", 443, 443)
    assert.is_false(d.allowed)
    assert.equal("implicit deny", d.decided_by)
  end)

  it("a deny that hits only part of the traffic still blocks that part", function()
    local entries = { e(90, "6", "deny", true, "192.0.2.0/24", 443), e(100, "-1", "allow", true, "0.0.0.0/0") }
    assert.is_false(allowed(entries, true, "0.0.0.0/0", 443))
    -- but not traffic it cannot touch
    assert.is_true(allowed(entries, true, "10.0.0.0/16", 443))
  end)

  it("a deny after an earlier allow covered the same packets changes nothing", function()
    local entries = { e(50, "6", "allow", true, "10.0.0.0/8", 443), e(60, "6", "deny", true, "10.0.0.0/8", 443),
                      e(100, "6", "allow", true, "0.0.0.0/0", 443) }
    assert.is_true(allowed(entries, true, "0.0.0.0/0", 443))
  end)

  it("allows that together cover the ports and addresses are enough", function()
    local entries = { e(100, "6", "allow", false, "0.0.0.0/1", 1024, 65535),
                      e(101, "6", "allow", false, "128.0.0.0/1", 1024, 40000),
                      e(102, "6", "allow", false, "128.0.0.0/1", 40001, 65535) }
    assert.is_true(allowed(entries, false, "0.0.0.0/0", 1024, 65535))
    table.remove(entries, 3)
    assert.is_false(allowed(entries, false, "0.0.0.0/0", 1024, 65535))
  end)

  it("a deny on other ports does not match", function()
    local entries = { e(90, "6", "deny", true, "0.0.0.0/0", 22), e(100, "6", "allow", true, "0.0.0.0/0", 443) }
    assert.is_true(allowed(entries, true, "0.0.0.0/0", 443))
  end)

  it("protocol -1 matches every port even with a port range present; UDP and ICMP never match TCP", function()
    assert.is_true(allowed({ e(100, "-1", "allow", true, "0.0.0.0/0", 53) }, true, "0.0.0.0/0", 443))
    assert.is_false(allowed({ e(100, "17", "allow", true, "0.0.0.0/0", 0, 65535) }, true, "0.0.0.0/0", 443))
    assert.is_true(allowed({ e(90, "1", "deny", true, "0.0.0.0/0"), e(100, "6", "allow", true, "0.0.0.0/0", 443) },
      true, "0.0.0.0/0", 443))
    assert.is_true(allowed({ e(100, "tcp", "allow", true, "0.0.0.0/0", 443) }, true, "0.0.0.0/0", 443))
  end)

  it("keeps the directions apart", function()
    local entries = { e(100, "6", "allow", false, "0.0.0.0/0", 443) }
    assert.is_false(allowed(entries, true, "0.0.0.0/0", 443))
    assert.is_true(allowed(entries, false, "0.0.0.0/0", 443))
  end)

  it("evaluates IPv4 and IPv6 entries separately", function()
    local entries = { e(100, "-1", "allow", true, "0.0.0.0/0"), e(101, "-1", "deny", true, "::/0") }
    assert.is_true(allowed(entries, true, "0.0.0.0/0", 443))
    assert.is_false(allowed(entries, true, "::/0", 443))
    entries[2] = e(101, "6", "allow", true, "::/0", 443)
    assert.is_true(allowed(entries, true, "::/0", 443))
  end)

  it("compares actions case-insensitively and accepts text numbers", function()
    local entries = { { RuleNumber = "90", Protocol = "6", RuleAction = "DENY", Egress = "true",
                        CidrBlock = "0.0.0.0/0", PortRange = { From = "443", To = "443" } },
                      e(100, "6", "allow", true, "0.0.0.0/0", 443) }
    assert.is_false(allowed(entries, true, "0.0.0.0/0", 443))
  end)

  it("raises for a target that is not a CIDR block (misuse)", function()
    assert.has_error(function() checks.nacl_decision({}, true, "nope", 1, 2) end)
  end)
end)
