-- The preflight snapshot normalizer: what eksegress's client returns (EC2 XML
-- element names, text values) into the SDK-named, SDK-typed snapshot. Fixtures
-- under spec/fixtures/preflight/client/ are real client outputs captured from the
-- bundled simulator (see the README there); a cross-check against the installed
-- botocore model covers every field of every describe call the preflight makes.
local cjson = require "cjson"
local fixtures = require "helpers.fixtures"
local snapshot = require "eksegress.workflows.preflight.snapshot"
local checks = require "eksegress.workflows.preflight.checks"

local function client_fixture(name)
  return cjson.decode(fixtures.read("spec/fixtures/preflight/client/" .. name .. ".json"))
end

-- The item of `list` whose `key` is `value`.
local function by(list, key, value)
  local t = {}
  for _, item in ipairs(list) do t[item[key]] = item end
  return t[value]
end

describe("snapshot.from_client over saved client outputs", function()
  it("renames and types EC2 fields as the SDKs do (analytics)", function()
    local snap = snapshot.from_client(client_fixture("analytics"))
    local subnet = by(snap.Subnets, "SubnetId", "subnet-0732856f540b44db1")
    assert.equal(4066, subnet.AvailableIpAddressCount)
    assert.equal(math.type(subnet.AvailableIpAddressCount), "integer")
    assert.equal("us-west-2a", subnet.AvailabilityZone)

    local acl = by(snap.NetworkAcls, "NetworkAclId", "acl-000730928a2fe2546")
    assert.is_false(acl.IsDefault)
    assert.same({ { NetworkAclAssociationId = acl.Associations[1].NetworkAclAssociationId,
                    NetworkAclId = "acl-000730928a2fe2546", SubnetId = "subnet-0732856f540b44db1" } },
      acl.Associations)
    local e = acl.Entries[7]
    assert.same({ CidrBlock = "0.0.0.0/0", Egress = false, PortRange = { From = 32768, To = 65535 }, Protocol = "6",
                  RuleAction = "allow", RuleNumber = 100 }, e)

    local main = snap.RouteTables[1]
    assert.same({ { DestinationCidrBlock = "10.21.0.0/16", GatewayId = "local", Origin = "CreateRouteTable",
                    State = "active" } }, main.Routes)
    assert.is_true(main.Associations[1].Main)

    local sg = by(snap.SecurityGroups, "GroupId", "sg-0e9dfff2f9090fc28")
    assert.same({ { IpProtocol = "-1", IpRanges = { { CidrIp = "0.0.0.0/0" } }, Ipv6Ranges = {}, PrefixListIds = {},
                    UserIdGroupPairs = {} } }, sg.IpPermissionsEgress)

    local dopt = by(snap.DhcpOptions, "DhcpOptionsId", "dopt-0f8bf0fbae4d465af")
    local servers = by(dopt.DhcpConfigurations, "Key", "domain-name-servers")
    assert.same({ { Value = "10.250.0.10" }, { Value = "10.250.0.11" } }, servers.Values)

    assert.same({ VpcId = "vpc-00297ab204035ba32", EnableDnsSupport = { Value = true },
                  EnableDnsHostnames = { Value = true } }, snap.VpcAttributes)
    assert.equal("analytics", snap.cluster.name)
    assert.same({}, snap.updates)
  end)

  it("keeps the cluster as EKS returns it, without JSON nulls", function()
    local raw = client_fixture("payments")
    raw.cluster.cluster.outpostConfig = cjson.null
    local snap = snapshot.from_client(raw)
    assert.is_nil(snap.cluster.outpostConfig)
    assert.equal("AWS_MANAGED", snap.cluster.resourcesVpcConfig.controlPlaneEgressMode)
    assert.equal("vpc-0dbf60791e41bd45a", snap.cluster.resourcesVpcConfig.vpcId)
  end)

  -- Expected failures: tools/ekssim/README.md, the sample fleet's table.
  for _, case in ipairs({
    { "payments", {} },
    { "legacy-batch", { "route_default" } },
    { "analytics", { "dhcp_amazon_dns", "nacl_inbound_ephemeral" } },
    { "edge-eu", { "ipv6_egress_only", "route_blackhole" } },
    { "dev-b", { "egress_device_nat" } },
  }) do
    local name, expected = case[1], case[2]
    it("the checks over the normalized " .. name .. " outputs fail exactly as the simulator's ground truth says",
      function()
        local _, summary = checks.run(snapshot.from_client(client_fixture(name)))
        table.sort(summary.failing)
        assert.same(expected, summary.failing)
      end)
  end

  it("accepts collected item lists as well as whole responses", function()
    local raw = client_fixture("dev-b")
    local whole = snapshot.from_client(raw)
    for part, wire in pairs({ Subnets = "subnetSet", RouteTables = "routeTableSet", NatGateways = "natGatewaySet" }) do
      raw.ec2[part] = raw.ec2[part][wire]
    end
    local collected = snapshot.from_client(raw)
    assert.same(whole.Subnets, collected.Subnets)
    assert.same(whole.RouteTables, collected.RouteTables)
    assert.same(whole.NatGateways, collected.NatGateways)
  end)

  it("turns a blank list element the XML layer could not recognise into an empty list", function()
    local out = snapshot.ec2({ routeTableSet = { { routeTableId = "rtb-1", routeSet = "", associationSet = "",
                                                   tagSet = "" } } })
    assert.same({ RouteTables = { { RouteTableId = "rtb-1", Routes = {}, Associations = {}, Tags = {} } } }, out)
  end)
end)

describe("snapshot.from_client: parts the client does not model yet", function()
  it("flattens DescribeInstances reservations into Instances, with context-dependent names", function()
    local snap = snapshot.from_client({ ec2 = { Instances = { reservationSet = { {
      reservationId = "r-1", groupSet = { { groupId = "sg-r" } },
      instancesSet = { {
        instanceId = "i-0abc", instanceState = { code = "16", name = "running" }, sourceDestCheck = "false",
        dnsName = "ec2-198-51-100-20.compute-1.amazonaws.com", ipAddress = "198.51.100.20",
        groupSet = { { groupId = "sg-nat", groupName = "nat" } },
        stateReason = { code = "Client.UserInitiatedShutdown", message = "user" },
        productCodes = { { productCode = "abc", type = "marketplace" } },
        tagSet = { { key = "Name", value = "nat" } },
      } },
    } } } } })
    assert.same({ {
      InstanceId = "i-0abc", State = { Code = 16, Name = "running" }, SourceDestCheck = false,
      PublicDnsName = "ec2-198-51-100-20.compute-1.amazonaws.com", PublicIpAddress = "198.51.100.20",
      SecurityGroups = { { GroupId = "sg-nat", GroupName = "nat" } },
      StateReason = { Code = "Client.UserInitiatedShutdown", Message = "user" },
      ProductCodes = { { ProductCodeId = "abc", ProductCodeType = "marketplace" } },
      Tags = { { Key = "Name", Value = "nat" } },
    } }, snap.Instances)
  end)

  it("attaches GetManagedPrefixListEntries results to their prefix lists", function()
    local snap = snapshot.from_client({ ec2 = {
      ManagedPrefixLists = { prefixListSet = { { prefixListId = "pl-1", prefixListName = "egress", maxEntries = "5",
                                                 version = "3", addressFamily = "IPv4" } } },
      PrefixListEntries = { ["pl-1"] = { entries = { { cidr = "0.0.0.0/1", description = "low" } } },
                            ["pl-2"] = { { cidr = "128.0.0.0/1" } } },
    } })
    assert.same({
      { PrefixListId = "pl-1", PrefixListName = "egress", MaxEntries = 5, Version = 3, AddressFamily = "IPv4",
        Entries = { { Cidr = "0.0.0.0/1", Description = "low" } } },
      { PrefixListId = "pl-2", Entries = { { Cidr = "128.0.0.0/1" } } },
    }, snap.ManagedPrefixLists)
  end)

  it("decodes IAM policy documents (URL-encoded JSON, as IAM sends them)", function()
    local doc = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeVpcs","Resource":"*"}]}'
    local encoded = doc:gsub("[^%w]", function(c) return ("%%%02X"):format(c:byte()) end)
    local snap = snapshot.from_client({ role = {
      GetRole = { Role = { RoleName = "r", Arn = "arn:aws:iam::111122223333:role/r" } },
      AttachedPolicies = { { PolicyName = "p", PolicyArn = "arn:aws:iam::111122223333:policy/p",
                             PolicyVersion = { Document = encoded } } },
      RolePolicies = { { PolicyName = "inline", PolicyDocument = doc } },
      SimulatePrincipalPolicy = { EvaluationResults = { { EvalActionName = "ec2:DescribeVpcs",
                                                          EvalDecision = "allowed" } } },
    } })
    local expected = cjson.decode(doc)
    assert.equal("r", snap.role.Role.RoleName)
    assert.same(expected, snap.role.AttachedPolicies[1].Document)
    assert.same(expected, snap.role.RolePolicies[1].PolicyDocument)
    assert.equal("allowed", snap.role.EvaluationResults[1].EvalDecision)
    local bad, why = snapshot.policy_document("%7Bnot json")
    assert.is_nil(bad)
    assert.matches("not JSON", why)
  end)

  it("records why a part could not be read", function()
    local snap = snapshot.from_client({ errors = {
      role = { code = "AccessDenied", message = "not authorized to perform iam:GetRole" },
      FlowLogs = "timed out",
    } })
    assert.same({ role = "AccessDenied: not authorized to perform iam:GetRole", FlowLogs = "timed out" }, snap.errors)
    local results = checks.run(snap, { checks = { "iam_role_describe" } })
    assert.equal("not_evaluated", results[1].status)
    assert.matches("AccessDenied: not authorized to perform iam:GetRole", results[1].message, 1, true)
  end)

  it("raises on misuse", function()
    assert.has_error(function() snapshot.from_client("x") end)
    assert.has_error(function() snapshot.ec2(nil) end)
  end)
end)

-- Every field of every describe call the preflight makes: botocore parses a
-- synthetic response with every member present (and again with every list
-- empty); the client's EC2 codec parses the same body; the normalizer must turn
-- the client's output into exactly what botocore returns.
local BOTOCORE_DUMP = [[
import datetime, json, sys
try:
    import botocore.session
    from botocore import parsers
except Exception as e:
    print(json.dumps({"skip": "botocore not importable: %s" % e})); sys.exit(0)
OPS = sys.argv[1].split(",")
TS = "2026-06-18T10:00:00.000Z"
model = botocore.session.get_session().get_service_model("ec2")
def body(shape, empty, depth=0):
    t = shape.type_name
    if t == "structure":
        out = []
        for name, m in shape.members.items():
            loc = m.serialization.get("name", name)
            if depth < 12:
                out.append("<%s>%s</%s>" % (loc, body(m, empty, depth + 1), loc))
        return "".join(out)
    if t == "list":
        if empty: return ""
        loc = shape.member.serialization.get("name", "item")
        return "<%s>%s</%s>" % (loc, body(shape.member, empty, depth + 1), loc)
    if t == "boolean": return "true"
    if t in ("integer", "long"): return "7"
    if t == "timestamp": return TS
    if shape.enum: return shape.enum[0]
    return "text-" + shape.name
def plain(v):
    if isinstance(v, dict): return {k: plain(x) for k, x in v.items() if k != "ResponseMetadata"}
    if isinstance(v, list): return [plain(x) for x in v]
    if isinstance(v, datetime.datetime): return TS
    return v
out = {"version": botocore.__version__, "cases": []}
for op in OPS:
    om = model.operation_model(op)
    for empty in (False, True):
        xml = ('<?xml version="1.0" encoding="UTF-8"?><%sResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
               '<requestId>r-1</requestId>%s</%sResponse>') % (op, body(om.output_shape, empty), op)
        parsed = parsers.EC2QueryParser().parse({"body": xml.encode(), "headers": {}, "status_code": 200},
                                                om.output_shape)
        out["cases"].append({"op": op, "empty": empty, "xml": xml, "sdk": plain(parsed)})
print(json.dumps(out))
]]

local OPS = { "DescribeVpcs", "DescribeVpcAttribute", "DescribeSubnets", "DescribeRouteTables", "DescribeNetworkAcls",
              "DescribeSecurityGroups", "DescribeNatGateways", "DescribeTransitGateways",
              "DescribeTransitGatewayVpcAttachments", "DescribeInternetGateways", "DescribeEgressOnlyInternetGateways",
              "DescribeDhcpOptions", "DescribeVpcEndpoints", "DescribeFlowLogs", "DescribeNetworkInterfaces",
              "DescribeInstances", "DescribeManagedPrefixLists", "GetManagedPrefixListEntries" }

local function botocore_cases()
  local script = os.tmpname()
  local f = assert(io.open(script, "wb"))
  f:write(BOTOCORE_DUMP)
  f:close()
  local py = os.getenv("EKSEGRESS_PYTHON") or "python3"
  local p = io.popen(("%s %s %s 2>&1"):format(py, script, table.concat(OPS, ",")))
  local text = p:read("a")
  p:close()
  os.remove(script)
  local ok, data = pcall(cjson.decode, text)
  if not ok or type(data) ~= "table" then return nil, "no output from botocore: " .. text:sub(1, 200) end
  if data.skip then return nil, data.skip end
  return data
end

local function differences(ours, theirs, path, out)
  if type(ours) ~= type(theirs) then
    out[#out + 1] = ("%s: %s vs botocore %s"):format(path, type(ours), type(theirs))
    return out
  end
  if type(ours) == "table" then
    for k, v in pairs(ours) do differences(v, theirs[k], path .. "." .. tostring(k), out) end
    for k in pairs(theirs) do
      if ours[k] == nil then out[#out + 1] = path .. "." .. tostring(k) .. ": missing" end
    end
  elseif ours ~= theirs then
    out[#out + 1] = ("%s: %s vs botocore %s"):format(path, tostring(ours), tostring(theirs))
  end
  return out
end

describe("snapshot.ec2 agrees with botocore's EC2 model", function()
  local data, why = botocore_cases()
  if not data then
    pending("botocore cross-check skipped: " .. tostring(why))
    return
  end
  local ec2 = require "eksegress.protocols.ec2"
  local svc = require("eksegress.services").get("ec2")
  it(("every field of %d describe calls, filled and with empty lists (botocore %s)"):format(#OPS, data.version),
    function()
      assert.equal(#OPS * 2, #data.cases)
      local problems = {}
      for _, case in ipairs(data.cases) do
        local wire = assert(ec2.parse(svc, case.op, nil, { status = 200, headers = {}, body = case.xml }))
        local ours = snapshot.ec2(wire)
        ours.RequestId = nil
        differences(ours, case.sdk, case.op .. (case.empty and "(empty)" or ""), problems)
      end
      assert.same({}, problems)
    end)
end)
