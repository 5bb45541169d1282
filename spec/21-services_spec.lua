-- luacheck: std +busted
-- Service definitions: operations, paginators, waiters, flags; and, when botocore is
-- installed (/usr/bin/python3), a cross-check of the definitions against the pinned
-- botocore models they were taken from.
local services = require "eksegress.services"

local EXPECTED = {
  eks = {
    ListClusters = { "nextToken", "nextToken", "maxResults", "clusters" },
    DescribeCluster = false,
    CreateCluster = false,
    UpdateClusterConfig = false,
    DescribeUpdate = false,
    ListUpdates = { "nextToken", "nextToken", "maxResults", "updateIds" },
    DeleteCluster = false,
    ListNodegroups = { "nextToken", "nextToken", "maxResults", "nodegroups" },
    DescribeNodegroup = false,
    ListIdentityProviderConfigs = { "nextToken", "nextToken", "maxResults", "identityProviderConfigs" },
    DescribeIdentityProviderConfig = false,
    ListAddons = { "nextToken", "nextToken", "maxResults", "addons" },
  },
  ec2 = {
    DescribeSubnets = { "NextToken", "nextToken", "MaxResults", "subnetSet" },
    DescribeRouteTables = { "NextToken", "nextToken", "MaxResults", "routeTableSet" },
    DescribeNatGateways = { "NextToken", "nextToken", "MaxResults", "natGatewaySet" },
    DescribeNetworkAcls = { "NextToken", "nextToken", "MaxResults", "networkAclSet" },
    DescribeSecurityGroups = { "NextToken", "nextToken", "MaxResults", "securityGroupInfo" },
    DescribeSecurityGroupRules = { "NextToken", "nextToken", "MaxResults", "securityGroupRuleSet" },
    DescribeVpcs = { "NextToken", "nextToken", "MaxResults", "vpcSet" },
    DescribeVpcAttribute = false, -- not paginated in the API
    DescribeDhcpOptions = { "NextToken", "nextToken", "MaxResults", "dhcpOptionsSet" },
    DescribeNetworkInterfaces = { "NextToken", "nextToken", "MaxResults", "networkInterfaceSet" },
    DescribeVpcEndpoints = { "NextToken", "nextToken", "MaxResults", "vpcEndpointSet" },
    DescribeEgressOnlyInternetGateways = { "NextToken", "nextToken", "MaxResults", "egressOnlyInternetGatewaySet" },
    DescribeTransitGateways = { "NextToken", "nextToken", "MaxResults", "transitGatewaySet" },
    DescribeTransitGatewayVpcAttachments = { "NextToken", "nextToken", "MaxResults", "transitGatewayVpcAttachments" },
    DescribeInstances = { "NextToken", "nextToken", "MaxResults", "reservationSet" },
    DescribeRegions = false, -- not paginated in the API
    DescribeInternetGateways = { "NextToken", "nextToken", "MaxResults", "internetGatewaySet" },
    DescribeManagedPrefixLists = { "NextToken", "nextToken", "MaxResults", "prefixListSet" },
    GetManagedPrefixListEntries = { "NextToken", "nextToken", "MaxResults", "entrySet" },
    DescribeFlowLogs = { "NextToken", "nextToken", "MaxResults", "flowLogSet" },
  },
  iam = {
    GetRole = false,
    ListAttachedRolePolicies = { "Marker", "Marker", "MaxItems", "AttachedPolicies", "IsTruncated" },
    ListRolePolicies = { "Marker", "Marker", "MaxItems", "PolicyNames", "IsTruncated" },
    GetRolePolicy = false,
    GetPolicy = false,
    GetPolicyVersion = false,
    SimulatePrincipalPolicy = { "Marker", "Marker", "MaxItems", "EvaluationResults", "IsTruncated" },
  },
  sts = {
    GetCallerIdentity = false,
    AssumeRole = false,
    AssumeRoleWithWebIdentity = false,
  },
  organizations = {
    ListAccounts = { "NextToken", "NextToken", "MaxResults", "Accounts" },
  },
}

local PROTOCOLS = {
  eks = { "rest-json", "restjson", "2017-11-01" },
  ec2 = { "ec2", "ec2", "2016-11-15" },
  iam = { "query", "query", "2010-05-08" },
  sts = { "query", "query", "2011-06-15" },
  organizations = { "json", "json", "2016-11-28" },
}

describe("services registry", function()
  it("returns each service, nil, err for unknown ones", function()
    assert.same({ "ec2", "eks", "iam", "organizations", "sts" }, services.names())
    for name in pairs(EXPECTED) do
      local svc = assert(services.get(name))
      assert.equal(name, svc.name)
    end
    for _, bad in ipairs({ "s3", "EKS", "", "../eks", "model", 42 }) do
      local svc, err = services.get(bad)
      assert.is_nil(svc)
      assert.equal("UnknownService", err.code)
    end
  end)

  it("service metadata", function()
    for name, p in pairs(PROTOCOLS) do
      local svc = services.get(name)
      assert.equal(p[1], svc.protocol, name)
      assert.equal(p[2], svc.protocol_module, name)
      assert.equal(p[3], svc.api_version, name)
      assert.equal(name, svc.signing_name)
      assert.equal(name, svc.endpoint_prefix)
      assert.equal("table", type(require("eksegress.protocols." .. svc.protocol_module)))
      assert.equal(name == "organizations" or name == "iam", svc.global == true, name)
      assert.equal("table", type(svc.waiters))
    end
    local org = services.get("organizations")
    assert.equal("organizations.us-east-1.amazonaws.com", org.global_endpoint)
    assert.equal("us-east-1", org.signing_region)
    assert.equal("AWSOrganizationsV20161128", org.target_prefix)
    assert.same({ hostname = "organizations.cn-northwest-1.amazonaws.com.cn", region = "cn-northwest-1" },
                org.global_endpoints["aws-cn"])
    assert.equal("us-gov-west-1", org.global_endpoints["aws-us-gov"].region)
  end)

  it("every operation exists with http, input and its paginator", function()
    for name, ops in pairs(EXPECTED) do
      local svc = services.get(name)
      local count = 0
      for opname, pg in pairs(ops) do
        count = count + 1
        local op = svc.operations[opname]
        assert.is_table(op, name .. " " .. opname)
        assert.equal(opname, op.name)
        assert.is_string(op.http.method)
        assert.is_string(op.http.uri)
        assert.is_table(op.input)
        if pg then
          assert.same({ input_token = pg[1], output_token = pg[2], limit_key = pg[3], result_key = pg[4],
                        more_results = pg[5] }, op.paginator, name .. " " .. opname)
          assert.is_table(op.input[pg[1]], opname .. " has its input token member")
          assert.is_table(op.input[pg[3]], opname .. " has its limit member")
        else
          assert.is_nil(op.paginator, name .. " " .. opname)
        end
      end
      local defined = 0
      for _ in pairs(svc.operations) do defined = defined + 1 end
      assert.equal(count, defined, name .. ": no unexpected operations")
      assert.is_nil(svc.operations.NoSuchOperation)
    end
  end)

  it("every List* operation is paginated", function()
    for _, name in ipairs(services.names()) do
      for opname, op in pairs(services.get(name).operations) do
        if opname:find("^List") then assert.is_table(op.paginator, opname) end
      end
    end
  end)

  it("mutating and unsigned flags", function()
    local mutating, unsigned = {}, {}
    for _, name in ipairs(services.names()) do
      for opname, op in pairs(services.get(name).operations) do
        if op.mutating then mutating[#mutating + 1] = name .. ":" .. opname end
        if op.unsigned then unsigned[#unsigned + 1] = name .. ":" .. opname end
      end
    end
    table.sort(mutating)
    assert.same({ "eks:CreateCluster", "eks:DeleteCluster", "eks:UpdateClusterConfig" }, mutating)
    assert.same({ "sts:AssumeRoleWithWebIdentity" }, unsigned)
  end)

  it("EKS http bindings", function()
    local ops = services.get("eks").operations
    local want = {
      ListClusters = { "GET", "/clusters" },
      DescribeCluster = { "GET", "/clusters/{name}" },
      CreateCluster = { "POST", "/clusters" },
      UpdateClusterConfig = { "POST", "/clusters/{name}/update-config" },
      DescribeUpdate = { "GET", "/clusters/{name}/updates/{updateId}" },
      ListUpdates = { "GET", "/clusters/{name}/updates" },
      DeleteCluster = { "DELETE", "/clusters/{name}" },
      ListNodegroups = { "GET", "/clusters/{name}/node-groups" },
      DescribeNodegroup = { "GET", "/clusters/{name}/node-groups/{nodegroupName}" },
      ListIdentityProviderConfigs = { "GET", "/clusters/{name}/identity-provider-configs" },
      DescribeIdentityProviderConfig = { "POST", "/clusters/{name}/identity-provider-configs/describe" },
      ListAddons = { "GET", "/clusters/{name}/addons" },
    }
    for opname, w in pairs(want) do
      assert.same({ method = w[1], uri = w[2] }, ops[opname].http, opname)
    end
    assert.is_true(ops.CreateCluster.input.clientRequestToken.idempotency_token)
    assert.is_true(ops.UpdateClusterConfig.input.clientRequestToken.idempotency_token)
    assert.equal("querystring", ops.DescribeUpdate.input.capabilityName.location)
    assert.equal("querystring", ops.ListUpdates.input.capabilityName.location)
  end)

  -- Build every operation with its required members filled in (smoke test).
  it("every operation builds with just its required members", function()
    local function fill(def)
      if def.type == "structure" then
        local t = {}
        for k, m in pairs(def.members or {}) do
          if m.required then t[k] = fill(m) end
        end
        return t
      elseif def.type == "list" then return { fill(def.member) }
      elseif def.type == "integer" then return 1
      elseif def.type == "boolean" then return true
      end
      return "x"
    end
    for _, name in ipairs(services.names()) do
      local svc = services.get(name)
      local codec = require("eksegress.protocols." .. svc.protocol_module)
      for opname, op in pairs(svc.operations) do
        local params = fill({ type = "structure", members = op.input })
        local req = codec.build(svc, opname, op, params)
        assert.equal(op.http.method, req.method, opname)
        assert.is_string(req.body)
        assert.is_string(req.query)
        for _, h in ipairs(req.headers) do
          local lower = h[1]:lower()
          assert.is_true(lower ~= "host" and lower ~= "authorization" and lower ~= "x-amz-date"
                         and lower ~= "x-amz-security-token" and lower ~= "x-amz-content-sha256", h[1])
        end
      end
    end
  end)
end)

describe("the model builder (services.model)", function()
  local model = require "eksegress.services.model"

  it("members merges in order, false removes, nil is skipped", function()
    local a, b = { type = "string" }, { type = "integer" }
    assert.same({ X = a, Y = b }, model.members({ X = a, Z = a }, nil, { Y = b, Z = false }))
  end)

  it("service checks the declared fields and finishes the operations", function()
    local svc = model.service({ name = "x", protocol = "query", protocol_module = "query", api_version = "1",
      endpoint_prefix = "x", signing_name = "x" },
      { A = { input = {} }, B = { input = {}, http = { method = "GET" } } },
      { http = { method = "POST", uri = "/" } })
    assert.equal("A", svc.operations.A.name)
    assert.same({ method = "POST", uri = "/" }, svc.operations.A.http)
    assert.same({ method = "GET" }, svc.operations.B.http)
    assert.same({}, svc.waiters)
    assert.has_error(function() model.service({ name = "y", protocol = "query" }, {}) end,
      "services: model y lacks protocol_module")
    assert.has_error(function()
      model.service({ name = "z", protocol = "q", protocol_module = "q", api_version = "1", endpoint_prefix = "z",
        signing_name = "z", global = true }, {})
    end, "services: global service z has no global_endpoints")
  end)

  it("every declared output type is from the vocabulary, on an operation that exists", function()
    -- The vocabulary of services.check_output: a scalar kind or list<kind>, "?" optional.
    local kinds = { string = true, table = true, list = true, number = true, integer = true, boolean = true }
    local function known_type(t)
      t = t:gsub("%?$", "")
      local element = t:match("^list<(%a+)>$")
      if element then return kinds[element] == true end
      return kinds[t] == true
    end
    local declared = 0
    for _, name in ipairs(services.names()) do
      for opname, op in pairs(services.get(name).operations) do
        for path, t in pairs(op.output_types or {}) do
          declared = declared + 1
          assert.is_true(known_type(t), name .. " " .. opname .. " " .. path .. ": " .. tostring(t))
          assert.truthy(path:find("^[%a][%w]*[%.%w]*$"), path)
        end
        if op.paginator and name ~= "eks" and name ~= "organizations" then
          assert.is_string(op.output_types and op.output_types[op.paginator.result_key],
            name .. " " .. opname .. " declares its result list")
        end
      end
    end
    assert.is_true(declared >= 25)
  end)
end)

describe("waiters", function()
  local eks = services.get("eks")

  local function run(waiter, out, err)
    for _, a in ipairs(waiter.acceptors) do
      if services.match_acceptor(a, out, err) then return a.state end
    end
    return "retry"
  end

  it("are defined on operations that exist", function()
    for _, name in ipairs({ "ClusterActive", "ClusterDeleted", "UpdateFinished" }) do
      local w = eks.waiters[name]
      assert.is_table(w, name)
      assert.is_table(eks.operations[w.operation], name)
      assert.equal(30, w.delay)
      assert.is_true(w.max_attempts > 0)
      assert.is_true(#w.acceptors > 0)
    end
    assert.equal("DescribeCluster", eks.waiters.ClusterActive.operation)
    assert.equal(40, eks.waiters.ClusterActive.max_attempts)
    assert.equal("DescribeCluster", eks.waiters.ClusterDeleted.operation)
    assert.equal("DescribeUpdate", eks.waiters.UpdateFinished.operation)
  end)

  it("ClusterActive", function()
    local w = eks.waiters.ClusterActive
    assert.same({ state = "success", matcher = "path", path = "cluster.status", expected = "ACTIVE" }, w.acceptors[1])
    assert.equal("success", run(w, { cluster = { status = "ACTIVE" } }))
    assert.equal("failure", run(w, { cluster = { status = "DELETING" } }))
    assert.equal("failure", run(w, { cluster = { status = "FAILED" } }))
    assert.equal("retry", run(w, { cluster = { status = "CREATING" } }))
    assert.equal("retry", run(w, { cluster = { status = "UPDATING" } }))
    assert.equal("retry", run(w, nil, { code = "ResourceNotFoundException" }))
  end)

  it("ClusterDeleted", function()
    local w = eks.waiters.ClusterDeleted
    assert.equal("success", run(w, nil, { code = "ResourceNotFoundException", status = 404 }))
    assert.equal("failure", run(w, { cluster = { status = "ACTIVE" } }))
    assert.equal("failure", run(w, { cluster = { status = "CREATING" } }))
    assert.equal("failure", run(w, { cluster = { status = "PENDING" } }))
    assert.equal("retry", run(w, { cluster = { status = "DELETING" } }))
    assert.equal("retry", run(w, nil, { code = "ThrottlingException" }))
  end)

  it("UpdateFinished", function()
    local w = eks.waiters.UpdateFinished
    assert.equal("success", run(w, { update = { status = "Successful" } }))
    assert.equal("failure", run(w, { update = { status = "Failed" } }))
    assert.equal("failure", run(w, { update = { status = "Cancelled" } }))
    assert.equal("retry", run(w, { update = { status = "InProgress" } }))
  end)

  it("path_get", function()
    local t = { cluster = { status = "ACTIVE", health = { issues = { { code = "X" } } } } }
    assert.equal("ACTIVE", services.path_get(t, "cluster.status"))
    assert.equal("X", services.path_get(t, "cluster.health.issues.1.code"))
    assert.is_nil(services.path_get(t, "cluster.status.deeper"))
    assert.is_nil(services.path_get(nil, "a"))
    assert.is_nil(services.path_get(t, "nope.x"))
  end)
end)

---------------------------------------------------------------------------------------
-- Cross-check against botocore's models (the pinned source of these definitions).
local PYTHON = os.getenv("EKSEGRESS_PYTHON") or "/usr/bin/python3"

local DUMP = [==[
import json, sys
try:
    import botocore.session
except Exception:
    print(json.dumps({"skip": "botocore not importable"})); sys.exit(0)
s = botocore.session.get_session()
want = json.loads(sys.argv[1])
out = {"version": botocore.__version__, "services": {}}
for svc, ops in want.items():
    m = s.get_service_model(svc)
    pag = s.get_paginator_model(svc)
    d = {}
    for op in ops:
        om = m.operation_model(op)
        members = {}
        if om.input_shape is not None:
            for k, sh in om.input_shape.members.items():
                ser = sh.serialization
                e = {"type": sh.type_name, "location": ser.get("location"), "name": ser.get("name"),
                     "queryName": ser.get("queryName"),
                     "required": k in om.input_shape.required_members}
                if sh.type_name == "list":
                    e["member_type"] = sh.member.type_name
                members[k] = e
        try:
            p = pag.get_paginator(op)
        except ValueError:
            p = None
        result_wire = None
        if p and om.output_shape is not None:
            rk = p["result_key"]
            result_wire = om.output_shape.members[rk].serialization.get("name", rk)
        outputs, required, lists, maps = {}, {}, set(), set()
        def walk(shape, path, seen, req=True):
            if shape.name in seen:
                return
            seen = seen | {shape.name}
            if shape.type_name == "structure":
                for k, sh in shape.members.items():
                    nm = sh.serialization.get("name", k)
                    p2 = (path + "." + nm) if path else nm
                    if path is not None:
                        outputs[p2] = sh.type_name
                        if req and k in shape.required_members:
                            required[p2] = True
                    if sh.type_name == "list":
                        lists.add(nm)
                        walk(sh.member, None, seen)
                    elif sh.type_name == "map":
                        maps.add(nm)
                        walk(sh.value, None, seen)
                    else:
                        walk(sh, p2 if path is not None else None, seen,
                             req and k in shape.required_members)
            elif shape.type_name == "list":
                walk(shape.member, None, seen)
        if om.output_shape is not None:
            walk(om.output_shape, "", frozenset())
        d[op] = {"method": om.http.get("method"), "uri": om.http.get("requestUri"),
                 "members": members, "paginator": p, "result_wire": result_wire,
                 "outputs": outputs, "required": required, "lists": sorted(lists), "maps": sorted(maps)}
    out["services"][svc] = d
ep = json.load(open(s.get_component("data_loader").search_paths[-1] + "/endpoints.json"))
out["endpoints"] = {}
for part in ep["partitions"]:
    if part["partition"] not in ("aws", "aws-cn", "aws-us-gov"):
        continue
    for svc in want:
        e = part["services"].get(svc)
        if e is None:
            continue
        info = {}
        fips = [v["hostname"] for v in e.get("defaults", {}).get("variants", []) if v.get("tags") == ["fips"]]
        if fips:
            info["fips_pattern"] = fips[0]
        pe = e.get("partitionEndpoint")
        if pe and e.get("isRegionalized") is False:
            g = e["endpoints"][pe]
            info["global"] = {"hostname": g["hostname"], "region": g["credentialScope"]["region"]}
            gf = [v["hostname"] for v in g.get("variants", []) if v.get("tags") == ["fips"]]
            if gf:
                info["global"]["fips_hostname"] = gf[0]
        out["endpoints"].setdefault(svc, {})[part["partition"]] = info
print(json.dumps(out))
]==]

local function botocore_dump()
  local ok, cjson = pcall(require, "cjson.safe")
  if not ok then return nil, "cjson missing" end
  local f = io.open(PYTHON, "r")
  if not f then return nil, PYTHON .. " not found" end
  f:close()
  local want = {}
  for name, ops in pairs(EXPECTED) do
    want[name] = {}
    for opname in pairs(ops) do want[name][#want[name] + 1] = opname end
  end
  local script = os.tmpname()
  local sf = assert(io.open(script, "w"))
  sf:write(DUMP)
  sf:close()
  local arg = cjson.encode(want):gsub("'", "")
  local p = io.popen(PYTHON .. " " .. script .. " '" .. arg .. "' 2>/dev/null")
  local text = p:read("a")
  p:close()
  os.remove(script)
  local data = cjson.decode(text or "")
  if type(data) ~= "table" then return nil, "no output from botocore dump" end
  if data.skip then return nil, data.skip end
  return data
end

describe("definitions match the pinned botocore models", function()
  local data, why = botocore_dump()
  if not data then
    pending("botocore cross-check skipped: " .. tostring(why))
    return
  end

  it("EC2: member wire names, types, required members, paginators", function()
    local svc = services.get("ec2")
    for opname, m in pairs(data.services.ec2) do
      local op = svc.operations[opname]
      for member, e in pairs(m.members) do
        local def = op.input[member]
        assert.is_table(def, opname .. "." .. member)
        local wire = type(e.queryName) == "string" and e.queryName
        if not wire then
          wire = (type(e.name) == "string") and (e.name:sub(1, 1):upper() .. e.name:sub(2)) or member
        end
        assert.equal(wire, def.wire or member, opname .. "." .. member)
        assert.equal(e.type, def.type, opname .. "." .. member)
        assert.equal(e.required, def.required == true, opname .. "." .. member)
      end
      if type(m.paginator) == "table" then
        assert.equal(m.paginator.input_token, op.paginator.input_token)
        assert.equal(m.paginator.limit_key, op.paginator.limit_key)
        assert.equal(m.result_wire, op.paginator.result_key, opname)
      else
        assert.is_nil(op.paginator, opname)
      end
    end
  end)

  it("EKS: methods, URIs, member locations, paginators", function()
    local svc = services.get("eks")
    for opname, m in pairs(data.services.eks) do
      local op = svc.operations[opname]
      assert.equal(m.method, op.http.method, opname)
      assert.equal(m.uri, op.http.uri, opname)
      for member, e in pairs(m.members) do
        local def = op.input[member]
        assert.is_table(def, opname .. "." .. member)
        local loc = type(e.location) == "string" and e.location or nil
        assert.equal(loc, def.location, opname .. "." .. member)
        if loc then assert.equal(e.name, def.name, opname .. "." .. member) end
        assert.equal(e.type, def.type, opname .. "." .. member)
        assert.equal(e.required, def.required == true, opname .. "." .. member)
      end
      if type(m.paginator) == "table" then
        assert.same({ input_token = m.paginator.input_token, output_token = m.paginator.output_token,
                      limit_key = m.paginator.limit_key, result_key = m.paginator.result_key }, op.paginator)
      else
        assert.is_nil(op.paginator, opname)
      end
    end
  end)

  it("STS, IAM and Organizations: members, required members and paginators", function()
    for _, name in ipairs({ "sts", "iam", "organizations" }) do
      local svc = services.get(name)
      for opname, m in pairs(data.services[name]) do
        local op = svc.operations[opname]
        for member, e in pairs(m.members) do
          local def = op.input[member]
          assert.is_table(def, opname .. "." .. member)
          assert.equal(e.type, def.type, opname .. "." .. member)
          assert.equal(e.required, def.required == true, opname .. "." .. member)
          if e.member_type then assert.equal(e.member_type, def.member.type, opname .. "." .. member) end
        end
        if type(m.paginator) == "table" then
          assert.same({ input_token = m.paginator.input_token, output_token = m.paginator.output_token,
                        limit_key = m.paginator.limit_key, result_key = m.paginator.result_key,
                        more_results = m.paginator.more_results }, op.paginator, opname)
        else
          assert.is_nil(op.paginator, opname)
        end
      end
    end
  end)

  it("EC2 and IAM: no member beyond the model (a typo would be sent as is)", function()
    for _, name in ipairs({ "ec2", "iam" }) do
      for opname, m in pairs(data.services[name]) do
        for member in pairs(services.get(name).operations[opname].input) do
          -- The one alias: Filters where the API says Filter.
          if not (member == "Filters" and m.members.Filter) then
            assert.is_table(m.members[member], name .. " " .. opname .. "." .. member)
          end
        end
      end
    end
  end)

  it("XML list and map element names cover every list and map of the outputs", function()
    for _, name in ipairs({ "ec2", "iam", "sts" }) do
      local svc = services.get(name)
      for opname, m in pairs(data.services[name]) do
        for _, list in ipairs(m.lists) do
          local by_suffix = svc.xml_set_suffix ~= false and list:sub(-3) == "Set"
          assert.is_true(by_suffix or (svc.xml_lists or {})[list] == true, name .. " " .. opname .. " list " .. list)
        end
        for _, map in ipairs(m.maps) do
          assert.is_true((svc.xml_maps or {})[map] == true, name .. " " .. opname .. " map " .. map)
        end
      end
    end
  end)

  it("declared output types match the output shapes", function()
    -- XML protocols keep every scalar as its text: a string whatever the model's type.
    local scalar = { string = "string", timestamp = "string", integer = "string", long = "string",
                     boolean = "string", double = "string", structure = "table", list = "list" }
    for _, name in ipairs({ "ec2", "iam" }) do
      for opname, m in pairs(data.services[name]) do
        for path, t in pairs(services.get(name).operations[opname].output_types or {}) do
          local bt = m.outputs[path]
          assert.is_string(bt, name .. " " .. opname .. ": no output member " .. path)
          local base = t:gsub("%?$", "")
          assert.equal(scalar[bt], (base:match("^(list)<") or base), name .. " " .. opname .. " " .. path)
          -- Required ("no ?") only where the model requires the member (EC2's
          -- model requires none: its result lists are required by declaration).
          if name == "iam" and not t:find("?", 1, true) then
            assert.is_true(m.required[path] == true, name .. " " .. opname .. " " .. path .. " is not required")
          end
        end
      end
    end
  end)

  it("endpoints: global endpoints and FIPS hosts as endpoints.json has them", function()
    for name, parts in pairs(data.endpoints) do
      local svc = services.get(name)
      for part, info in pairs(parts) do
        if info.global then
          assert.same(info.global, svc.global_endpoints[part], name .. " " .. part)
        else
          assert.is_nil((svc.global_endpoints or {})[part], name .. " " .. part)
        end
        if info.fips_pattern then
          local want = info.fips_pattern:gsub("{dnsSuffix}", "{dns}")
          assert.equal(want, (svc.fips_endpoints or {})[part], name .. " " .. part)
        elseif not info.global then
          assert.is_nil((svc.fips_endpoints or {})[part], name .. " " .. part)
        end
      end
    end
  end)
end)
