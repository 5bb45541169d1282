-- The preflight workflow against the simulator (real HTTP, real signatures):
-- every trap of the explicit fleet, the sample fleet and generated fleets
-- compared with the simulator's ground truth, denied IAM reads, reads shared
-- per VPC, clusters checked concurrently, and the hooks create and migrate use.
local cjson = require "cjson"
local simmod = require "helpers.sim"
local schema = require "helpers.schema"
local preflight = require "eksegress.workflows.preflight"
local report = require "eksegress.report"

-- The first user's keys of every account of the fleet in use.
local function account_keys(sim)
  local keys = {}
  for _, a in ipairs(sim:admin("GET", "/_sim/fleet").accounts) do
    for _, u in ipairs(a.users or {}) do
      if u.access_key_id and not keys[a.id] then keys[a.id] = { u.access_key_id, u.secret_access_key } end
    end
  end
  return keys
end

local function client_for(sim, keys, account, region, opts)
  local k = assert(keys[account], "no keys for " .. account)
  local o = { env_extra = { AWS_REGION = region, AWS_ACCESS_KEY_ID = k[1], AWS_SECRET_ACCESS_KEY = k[2] } }
  for key, v in pairs(opts or {}) do o[key] = v end
  return sim:client(o)
end

-- Preflight every cluster the simulator holds, one run per account and
-- region. Returns entries by "account/region/name", the state's clusters by
-- the same key, and every document.
local function preflight_all(sim)
  local keys = account_keys(sim)
  local state = sim:admin("GET", "/_sim/state")
  local groups, order, truth = {}, {}, {}
  for _, c in ipairs(state.clusters) do
    local g = c.account .. "/" .. c.region
    if not groups[g] then
      groups[g] = { account = c.account, region = c.region, names = {} }
      order[#order + 1] = g
    end
    table.insert(groups[g].names, c.name)
    truth[g .. "/" .. c.name] = c
  end
  local entries, docs = {}, {}
  for _, g in ipairs(order) do
    local grp = groups[g]
    local client = client_for(sim, keys, grp.account, grp.region)
    local doc = preflight.run(client, { clusters = grp.names })
    client:close()
    assert.are.same({}, doc.errors, "errors in " .. g)
    for _, e in ipairs(doc.clusters) do entries[e.account .. "/" .. e.region .. "/" .. e.name] = e end
    docs[#docs + 1] = doc
  end
  return entries, truth, docs
end

local function by_id(entry)
  local t = {}
  for _, r in ipairs(entry.results) do t[r.id] = r end
  return t
end

local function ids_with(entry, status, filter)
  local out = {}
  for _, r in ipairs(entry.results) do
    if r.status == status and (not filter or filter[r.id]) then out[#out + 1] = r.id end
  end
  table.sort(out)
  return out
end

local function set(list)
  local t = {}
  for _, v in ipairs(list or {}) do t[v] = true end
  return t
end

local function sorted(list)
  local out = {}
  for i, v in ipairs(list or {}) do out[i] = v end
  table.sort(out)
  return out
end

local function not_witnessed(witnessed)
  local t = {}
  for _, id in ipairs(preflight.checks.ids()) do
    if not witnessed[id] then t[id] = true end
  end
  return t
end

-- Every id the simulator witnesses fails exactly as its ground truth says,
-- and none of them is left unevaluated. Returns the failures of the others.
local function assert_agrees(entries, truth, witnessed, coverage)
  local n = 0
  for key, c in pairs(truth) do
    local e = assert(entries[key], "no preflight entry for " .. key)
    assert.are.same(sorted(c.expect_fail), ids_with(e, "fail", witnessed), key)
    assert.are.same({}, ids_with(e, "not_evaluated", witnessed), key)
    if coverage then
      for _, r in ipairs(e.results) do
        coverage[r.id] = coverage[r.id] or {}
        coverage[r.id][r.status] = true
      end
    end
    n = n + 1
  end
  return n
end

-- Run fn(sim) against a simulator started with args; it is stopped whatever happens.
local function with_sim(args, fn)
  local sim = simmod.start(args)
  local ok, err = pcall(fn, sim)
  sim:stop()
  assert(ok, err)
end

describe("preflight workflow: the explicit fleet", function()
  local sim, entries, truth, witnessed
  setup(function()
    sim = simmod.start("--time-scale 0 --fleet tools/ekssim/fleets/explicit.json")
    witnessed = set(sim:admin("GET", "/_sim/checks").checks)
    entries, truth = preflight_all(sim)
  end)
  teardown(function() sim:stop() end)

  local function entry(name) return assert(entries["111122223333/us-east-1/" .. name], name) end

  it("equals the fleet's stated ground truth for every cluster", function()
    assert.are.equal(9, assert_agrees(entries, truth, witnessed))
  end)

  -- The checks the simulator does not witness, per cluster, read off the
  -- fleet by hand: a public NAT gateway in a subnet whose table has no
  -- internet gateway (nacl-deny-first, ipv6), no flow log (all but
  -- nat-instances), and the 10.200.0.0/16 blackhole beside second-sg's default.
  local OTHERS = {
    ["deny-before-allow"] = { "egress_device_nat_upstream", "flow_logs" },
    ["nat-deleted"] = { "flow_logs" },
    ["igw-only"] = { "flow_logs" },
    ["second-sg"] = { "flow_logs", "route_specific_blackhole" },
    ["ipv6-eigw"] = { "egress_device_nat_upstream", "flow_logs" },
    ["ipv6-no-eigw"] = { "egress_device_nat_upstream", "flow_logs" },
    ["nat-instance-ok"] = {},
    ["nat-instance-stopped"] = {},
    ["two-vpcs"] = { "egress_device_nat_upstream" },
  }
  it("fails no other check spuriously, and evaluates every check", function()
    local others = not_witnessed(witnessed)
    for name, want in pairs(OTHERS) do
      local e = entry(name)
      assert.are.same(sorted(want), ids_with(e, "fail", others), name)
      assert.are.same({}, ids_with(e, "not_evaluated"), name)
    end
  end)

  it("a deny numbered before an allow decides: rule 90, with the entry that would fix it", function()
    local r = by_id(entry("deny-before-allow")).nacl_outbound_443
    assert.are.equal("fail", r.status)
    local ev = r.evidence.items[1]
    assert.are.equal(90, ev.decided_by.rule_number)
    assert.are.equal("deny", ev.decided_by.action)
    assert.are.equal("acl-0a0000000000a0011", ev.network_acl)
    assert.matches("aws ec2 create-network-acl-entry --network-acl-id acl-0a0000000000a0011 --egress "
      .. "--rule-number 89 --protocol tcp --port-range From=443,To=443 --cidr-block 0.0.0.0/0 --rule-action allow "
      .. "--region us-east-1", r.fix, 1, true)
  end)

  it("an allow numbered before a deny decides; a deleted NAT gateway fails its device check", function()
    local by = by_id(entry("nat-deleted"))
    assert.are.equal("pass", by.nacl_outbound_443.status)
    assert.are.equal(100, by.nacl_outbound_443.evidence.items[1].allowed_by[1].rule_number)
    assert.are.equal("fail", by.egress_device_nat.status)
    assert.matches("nat-0a0000000000a0021 is deleted", by.egress_device_nat.message, 1, true)
    assert.are.equal("pass", by.route_blackhole.status)
  end)

  it("the main route table serves subnets without an association; an IGW-only default route blocks", function()
    local by = by_id(entry("igw-only"))
    local ev = by.route_igw_only.evidence.items[1]
    assert.are.equal("rtb-0a0000000000a0030", ev.route_table)
    assert.are.equal("main route table: no explicit association", ev.selected_by)
    assert.matches("no public IPv4", ev.reason, 1, true)
    assert.are.equal("pass", by.route_default.status)
    assert.are.equal("fail", by.vpc_dns_hostnames.status)
    assert.are.equal("aws ec2 modify-vpc-attribute --vpc-id vpc-0a00000000000a003 --enable-dns-hostnames "
      .. "'{\"Value\":true}' --region us-east-1", by.vpc_dns_hostnames.fix)
    -- The role's inline policy allows neither action: read from its documents.
    assert.are.equal("fail", by.iam_role_describe.status)
    assert.matches("ec2:DescribeVpcs is not allowed by any policy of the role", by.iam_role_describe.message, 1, true)
    assert.are.equal("aws iam attach-role-policy --role-name describe-less-cluster-role --policy-arn "
      .. "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy", by.iam_role_describe.fix)
  end)

  it("egress allowed only in a second group passes; a specific blackhole beside a healthy default only warns",
    function()
      local by = by_id(entry("second-sg"))
      assert.are.equal("pass", by.sg_egress_443.status)
      assert.are.equal("sg-0a0000000000a0042", by.sg_egress_443.evidence.items[1].allowed_by[1].group)
      assert.are.equal("pass", by.route_blackhole.status)
      assert.are.equal("pass", by.egress_device_tgw.status)
      assert.are.equal("fail", by.route_specific_blackhole.status)
      assert.are.equal("warning", by.route_specific_blackhole.severity)
      assert.matches("10.200.0.0/16", by.route_specific_blackhole.message, 1, true)
      -- The custom resolvers are named; the VPC resolver beside them does not hide them.
      assert.are.equal("fail", by.dhcp_amazon_dns.status)
      assert.matches("10.104.0.3 beside the VPC resolver 10.104.0.2", by.dhcp_amazon_dns.message, 1, true)
      assert.are.same({ "10.104.0.2", "10.104.0.3" }, by.dhcp_amazon_dns.evidence.items[1].domain_name_servers)
    end)

  it("IPv6 with and without an egress-only internet gateway", function()
    local with, without = by_id(entry("ipv6-eigw")), by_id(entry("ipv6-no-eigw"))
    assert.are.equal("pass", with.ipv6_egress_only.status)
    assert.matches("eigw-0a0000000000a0051", with.ipv6_egress_only.message, 1, true)
    assert.are.equal("fail", without.ipv6_egress_only.status)
    assert.matches("aws ec2 create-route --route-table-id rtb-0a0000000000a0051 --destination-ipv6-cidr-block ::/0 "
      .. "--egress-only-internet-gateway-id eigw-0a0000000000a0051", without.ipv6_egress_only.fix, 1, true)
  end)

  it("a NAT instance: running with the check off passes, stopped fails; 443 through a prefix list", function()
    local ok, stopped = by_id(entry("nat-instance-ok")), by_id(entry("nat-instance-stopped"))
    assert.are.equal("pass", ok.egress_device_instance.status)
    assert.are.equal("fail", stopped.egress_device_instance.status)
    assert.matches("i-0a0000000000a0062 is stopped", stopped.egress_device_instance.message, 1, true)
    assert.matches("aws ec2 start-instances --instance-ids i-0a0000000000a0062", stopped.egress_device_instance.fix,
      1, true)
    assert.are.equal("pass", ok.sg_egress_443.status)
    assert.are.equal("pl-0a0000000000a0061", ok.sg_egress_443.evidence.items[1].allowed_by[1].prefix_list)
    assert.are.equal("pass", ok.sg_egress_10250.status)   -- through the group referencing itself
    assert.are.equal("pass", ok.flow_logs.status)
  end)

  it("subnets in two VPCs: each subnet is judged by its own VPC's network ACL", function()
    local by = by_id(entry("two-vpcs"))
    assert.are.equal("fail", by.subnets_same_vpc.status)
    assert.are.equal("fail", by.nacl_outbound_443.status)
    assert.matches("subnet-0a0000000000a0012: acl-0a0000000000a0011 blocks", by.nacl_outbound_443.message, 1, true)
  end)

  it("the documents are valid against the preflight schema", function()
    local keys = account_keys(sim)
    local client = client_for(sim, keys, "111122223333", "us-east-1")
    local doc = preflight.run(client, { clusters = { "second-sg", "two-vpcs", "no-such-cluster" } })
    client:close()
    assert.are.equal(2, #doc.clusters)
    assert.are.equal(1, #doc.errors)
    assert.are.same({ "cluster", "no-such-cluster", "ResourceNotFoundException", 404 },
      { doc.errors[1].target, doc.errors[1].cluster, doc.errors[1].code, doc.errors[1].status })
    schema.assert_valid(schema.PREFLIGHT, report.render("preflight", "json", doc))
  end)
end)

describe("preflight workflow: the sample fleet and generated fleets", function()
  local coverage = {}
  local witnessed

  -- The non-witnessed checks on knob networks: flow logs where the network
  -- has none, an EKS endpoint with private DNS where it has one, the
  -- undocumented mode; nothing else fails.
  local function assert_others(sim, entries, truth)
    local fleet = sim:admin("GET", "/_sim/fleet")
    local nets = {}
    for _, a in ipairs(fleet.accounts) do
      for _, n in ipairs(a.networks or {}) do nets[a.id .. "/" .. n.region .. "/" .. n.name] = n end
    end
    local others = not_witnessed(witnessed)
    for key, c in pairs(truth) do
      local n = nets[c.account .. "/" .. c.region .. "/" .. c.network]
      local want = {}
      if n and not n.flow_logs then want[#want + 1] = "flow_logs" end
      if n and set(n.vpc_endpoints).eks then want[#want + 1] = "eks_endpoint_private_dns" end
      if c.mode == "CUSTOMER_ISOLATED" then want[#want + 1] = "egress_mode" end
      if n and not n.ec2 then
        assert.are.same(sorted(want), ids_with(entries[key], "fail", others), key)
      end
      local unevaluated = ids_with(entries[key], "not_evaluated")
      assert.are.same(c.omit_mode and { "egress_mode" } or {}, unevaluated, key)
    end
  end

  it("agrees with the sample fleet's ground truth, cluster by cluster", function()
    with_sim("--time-scale 0", function(sim)
      witnessed = set(sim:admin("GET", "/_sim/checks").checks)
      local entries, truth = preflight_all(sim)
      assert.are.equal(22, assert_agrees(entries, truth, witnessed, coverage))
      assert_others(sim, entries, truth)
    end)
  end)

  for _, seed in ipairs({ 1, 2, 3 }) do
    it("agrees with a generated fleet's ground truth (seed " .. seed .. ", every defect kind)", function()
      with_sim(("--time-scale 0 --generate clusters=44,accounts=3,regions=2,seed=%d,defects=1,"
        .. "multi=0.3,ipv6=0.2,routed=0.1,isolated=0.05,nomode=0.05,share=%d"):format(seed, seed == 2 and 2 or 1),
        function(sim)
        witnessed = witnessed or set(sim:admin("GET", "/_sim/checks").checks)
        local entries, truth = preflight_all(sim)
        local kinds, n = {}, 0
        for _, a in ipairs(sim:admin("GET", "/_sim/fleet").accounts) do
          for _, list in ipairs({ a.networks or {}, a.clusters or {} }) do
            for _, x in ipairs(list) do
              for _, d in ipairs(x.defects or {}) do
                if not kinds[d] then n = n + 1 end
                kinds[d] = true
              end
            end
          end
        end
        assert.are.equal(22, n, "every defect kind is in the fleet")
        assert.are.equal(44, assert_agrees(entries, truth, witnessed, coverage))
        assert_others(sim, entries, truth)
      end)
    end)
  end

  it("between them, every check the simulator witnesses both passed and failed", function()
    for id in pairs(witnessed) do
      assert.is_true(coverage[id] and coverage[id].pass, id .. " never passed")
      assert.is_true(coverage[id] and coverage[id].fail, id .. " never failed")
    end
  end)
end)

describe("preflight workflow: reads", function()
  local sim
  before_each(function() sim = simmod.start("--time-scale 0") end)
  after_each(function() sim:stop() end)

  it("a cluster role whose IAM reads are denied: that check is not evaluated, with the reason; the rest are",
    function()
      sim:admin("POST", "/_sim/scp", { account = "444455556666", policy = {
        Version = "2012-10-17", Statement = { { Effect = "Deny", Action = "iam:*", Resource = "*" } } } })
      local keys = account_keys(sim)
      local client = client_for(sim, keys, "444455556666", "us-east-1")
      local doc = preflight.run(client, { clusters = { "dev-a" } })
      client:close()
      assert.are.same({}, doc.errors)
      local e = doc.clusters[1]
      assert.are.same({ "iam_role_describe" }, ids_with(e, "not_evaluated"))
      local r = by_id(e).iam_role_describe
      assert.matches("the cluster IAM role could not be read: AccessDenied", r.message, 1, true)
      assert.matches("explicit deny in a service control policy", r.message, 1, true)
      assert.are.equal(0, e.blocking)
      -- Both the documents and the simulator were tried, and nothing else was denied.
      local denied = {}
      for _, q in ipairs(sim:admin("GET", "/_sim/log").requests) do
        if type(q.error) == "string" then denied[#denied + 1] = q.operation .. ":" .. q.error end
      end
      assert.are.same({ "GetRole:AccessDenied", "SimulatePrincipalPolicy:AccessDenied" }, sorted(denied))
    end)

  it("an EC2 read that fails leaves its checks not evaluated with the reason, never passed", function()
    sim:admin("POST", "/_sim/faults", { reset = true, error_rate = "1@DescribeRouteTables" })
    local client = sim:client{ max_attempts = 1 }
    local doc = preflight.run(client, { clusters = { "prod-api", "legacy-batch" } })
    client:close()
    assert.are.same({}, doc.errors)
    local route_checks = { "route_default", "route_blackhole", "route_igw_only", "route_specific_blackhole",
                           "egress_device_nat", "egress_device_nat_upstream", "egress_device_tgw",
                           "egress_device_instance" }
    for _, e in ipairs(doc.clusters) do
      local by = by_id(e)
      for _, id in ipairs(route_checks) do
        assert.are.equal("not_evaluated", by[id].status, e.name .. " " .. id)
      end
      assert.matches("^the route tables could not be read: %a+: ", by.route_default.message)
      -- What does not need the route tables is still checked.
      assert.are.equal("pass", by.nacl_outbound_443.status)
      assert.are.equal("pass", by.sg_egress_443.status)
    end
  end)

  it("the EC2 reads of a VPC are shared by its clusters, and clusters are checked concurrently", function()
    sim:stop()
    sim = simmod.start("--time-scale 0 --latency-ms 20 --generate clusters=12,accounts=1,regions=1,share=3,"
      .. "defects=0,seed=5")
    local state = sim:admin("GET", "/_sim/state")
    local names, vpcs, nvpc = {}, {}, 0
    for _, c in ipairs(state.clusters) do
      names[#names + 1] = c.name
      if not vpcs[c.vpc_id] then nvpc = nvpc + 1 end
      vpcs[c.vpc_id] = true
    end
    assert.are.equal(4, nvpc)
    sim:reset_stats(8, { "eks:DescribeCluster" })
    local client = sim:client{ env_extra = { AWS_REGION = state.clusters[1].region } }
    local doc = preflight.run(client, { clusters = names, concurrency = 8 })
    client:close()
    assert.are.equal(12, #doc.clusters)
    local count = {}
    for _, q in ipairs(sim:admin("GET", "/_sim/log").requests) do
      count[q.operation] = (count[q.operation] or 0) + 1
    end
    assert.are.equal(12, count.DescribeCluster)
    for _, op in ipairs({ "DescribeRouteTables", "DescribeNetworkAcls", "DescribeVpcs", "DescribeSubnets",
                          "DescribeNatGateways", "DescribeFlowLogs" }) do
      assert.are.equal(4, count[op], op .. ": one per VPC")
    end
    assert.are.equal(8, count.DescribeVpcAttribute)
    assert.are.equal(1, count.GetRole, "one cluster role, read once")
    assert.are.equal(1, count.DescribeEgressOnlyInternetGateways, "once per region")
    -- 8 clusters at once, each with several reads in flight.
    assert.is_true(sim:admin("GET", "/_sim/stats").in_flight_max >= 8)
  end)

  it("for_migration: blocking ids of the network checks; the cluster's state is left to the migration", function()
    local client = client_for(sim, account_keys(sim), "111122223333", "us-east-1")
    local out = assert(client:call("eks", "DescribeCluster", { name = "legacy-batch" }))
    local pf = assert(preflight.for_migration(client, { account = "111122223333", region = "us-east-1",
      name = "legacy-batch" }, out.cluster))
    assert.is_true(pf.evaluated)
    assert.are.equal(1, pf.blocking)
    assert.are.same({ "route_default" }, pf.blocking_ids)
    assert.are.same({}, pf.not_evaluated_ids)
    local ids = {}
    for _, r in ipairs(pf.results) do ids[r.id] = true end
    assert.is_nil(ids.cluster_status)
    assert.is_nil(ids.update_in_progress)
    assert.is_true(ids.route_default)
    client:close()
    -- A cluster busy with an update is not blocked by it here (migrate waits for it).
    local dev = client_for(sim, account_keys(sim), "444455556666", "us-east-1")
    out = assert(dev:call("eks", "DescribeCluster", { name = "dev-busy" }))
    pf = assert(preflight.for_migration(dev, { account = "444455556666", region = "us-east-1", name = "dev-busy" },
      out.cluster))
    assert.are.equal(0, pf.blocking)
    dev:close()
  end)

  it("network: the checks of subnets before a cluster exists", function()
    sim:stop()
    sim = simmod.start("--time-scale 0 --fleet tools/ekssim/fleets/explicit.json")
    local client = client_for(sim, account_keys(sim), "111122223333", "us-east-1")
    local pf = assert(preflight.network(client, {
      subnet_ids = { "subnet-0a0000000000a0011", "subnet-0a0000000000a0012" },
      security_group_ids = { "sg-0a0000000000a0011" }, name = "planned",
      role_arn = "arn:aws:iam::111122223333:role/eksClusterRole" }))
    assert.are.equal("vpc-0a00000000000a001", pf.vpc_id)
    assert.are.same({ "nacl_outbound_443" }, pf.blocking_ids)
    local by = {}
    for _, r in ipairs(pf.results) do by[r.id] = r end
    assert.is_nil(by.cluster_status)
    assert.are.equal("pass", by.sg_egress_443.status)
    assert.matches("EKS creates the cluster security group", by.sg_egress_443.message, 1, true)
    assert.are.equal("pass", by.iam_role_describe.status)
    local v6 = assert(preflight.network(client, {
      subnet_ids = { "subnet-0a0000000000a0053", "subnet-0a0000000000a0054" },
      ip_family = "ipv6" }))
    assert.are.same({ "ipv6_egress_only" }, v6.blocking_ids)
    assert.are.equal(0, #v6.missing_subnets)
    local gone = assert(preflight.network(client,
      { subnet_ids = { "subnet-0a0000000000a0011", "subnet-0fffffffffffffff0" } }))
    assert.are.same({ "subnet-0fffffffffffffff0" }, gone.missing_subnets)
    client:close()
  end)

  it("raises on misuse, naming the problem", function()
    local client = sim:client()
    local function raises(pattern, fn)
      local ok, err = pcall(fn)
      assert.is_false(ok)
      assert.matches(pattern, tostring(err))
    end
    raises("clusters must be a non%-empty list", function() preflight.run(client, { clusters = {} }) end)
    raises('"bad name!" is not an EKS cluster name',
      function() preflight.run(client, { clusters = { "bad name!" } }) end)
    raises('unknown option "cluster"', function() preflight.run(client, { cluster = "x" }) end)
    raises('unknown check id "nope"', function() preflight.run(client, { clusters = { "a" }, checks = { "nope" } }) end)
    raises("client must be an eksegress client", function() preflight.run({}, { clusters = { "a" } }) end)
    raises("subnet_ids must be a non%-empty list", function() preflight.network(client, {}) end)
    client:close()
    assert.is_truthy(cjson)
  end)
end)
