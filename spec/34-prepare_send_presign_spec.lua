-- The client's seams against the simulator (issue 9, 1): prepare builds the
-- exact request with no secret and no I/O, send signs and sends it (call is
-- send(prepare(...))), presign gives a URL signed inside the client (the EKS
-- token), and service policy comes from the models: the describe before an
-- egress update with the same credentials, the identity for the guard's
-- audit lines, default regions.
local cjson = require "cjson"
local simmod = require "helpers.sim"

local SECOND = { access_key_id = "AKIAEKSSIM0000000002",
                 secret_access_key = "ekssim/SecondAccount/Secret+EXAMPLEKEY02" }

local function b64url(s)
  local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    for k = 1, 2 + (b and 1 or 0) + (c and 1 or 0) do
      local idx = (n >> (6 * (4 - k))) & 63
      out[#out + 1] = chars:sub(idx + 1, idx + 1)
    end
  end
  return table.concat(out)
end

describe("client seams: prepare, send, presign (issue 9)", function()
  local sim, client
  setup(function()
    sim = simmod.start("--time-scale 0")
    client = sim:client()
  end)
  teardown(function()
    client:close()
    sim:stop()
  end)

  local function requests_seen() return sim:admin("GET", "/_sim/stats").requests end

  it("prepare gives the exact request, sends nothing, and holds no secret", function()
    local before = requests_seen()
    local req = assert(client:prepare("eks", "UpdateClusterConfig",
      { name = "prod-api", resourcesVpcConfig = { controlPlaneEgressMode = "CUSTOMER_ROUTED" },
        clientRequestToken = "tok-1" }, { acknowledge = "prod-api" }))
    assert.are.equal(before + 1, requests_seen())   -- only the stats request itself
    assert.are.equal("POST", req.method)
    assert.are.equal(sim.url .. "/clusters/prod-api/update-config", req.url)
    assert.are.equal("/clusters/prod-api/update-config", req.path)
    assert.are.equal("", req.query)
    assert.are.same({ resourcesVpcConfig = { controlPlaneEgressMode = "CUSTOMER_ROUTED" },
      clientRequestToken = "tok-1" }, cjson.decode(req.body))
    assert.are.equal("eks", req.service)
    assert.are.equal("UpdateClusterConfig", req.operation)
    assert.are.equal("eks", req.signing_name)
    assert.are.equal("us-east-1", req.signing_region)
    assert.are.equal("us-east-1", req.region)
    assert.are.equal("prod-api", req.acknowledge)
    assert.is_false(req.allow_undocumented)
    assert.is_true(req.mutating)
    assert.are.same({ operation = "DescribeCluster", params = { name = "prod-api" } }, req.observe)
    for _, h in ipairs(req.headers) do assert.are_not.equal("authorization", h[1]:lower()) end
    local shown = cjson.encode(req) .. tostring(req)
    assert.is_nil(shown:find(simmod.SECRET_KEY, 1, true))
    assert.matches("POST " .. sim.url:gsub("%p", "%%%0") .. "/clusters/prod%-api/update%-config", tostring(req))
  end)

  it("call is send(prepare(...)): the same request reaches the service and the same answer comes back", function()
    local via_call = assert(client:call("eks", "DescribeCluster", { name = "prod-api" }))
    local req = assert(client:prepare("eks", "DescribeCluster", { name = "prod-api" }))
    local via_send, err, meta = client:send(req)
    assert.is_nil(err)
    assert.are.same(via_call.cluster, via_send.cluster)
    assert.is_number(meta.id)
    assert.is_string(meta.request_id)
    -- a prepared request can be sent again; per-send options override
    assert(client:send(req, { timeout_ms = 10000, max_attempts = 1 }))
  end)

  it("prepare raises on misuse and returns nil, err for runtime failures", function()
    assert.has_error(function() client:prepare("eks", "NoSuchOp", {}) end)
    assert.has_error(function() client:prepare("eks", "DescribeCluster", {}) end)
    assert.has_error(function() client:send({ method = "GET", url = sim.url }) end,
      "client:send: expects a request made by client:prepare")
    local noregion = sim:client{ env_extra = { AWS_REGION = false } }
    local req, err = noregion:prepare("eks", "ListClusters", {})
    assert.is_nil(req)
    assert.are.equal("NoRegion", err.code)
    -- STS and Organizations declare a default region in their models
    assert.are.equal("us-east-1", assert(noregion:prepare("sts", "GetCallerIdentity", {})).signing_region)
    assert.are.equal("us-east-1", assert(noregion:prepare("organizations", "ListAccounts", {})).signing_region)
    assert(noregion:whoami())
    noregion:close()
  end)

  it("presign produces the EKS token URL, which STS accepts only with the signed cluster header", function()
    local url = assert(client:presign("sts", "GetCallerIdentity", {},
      { expires = 60, headers = { ["x-k8s-aws-id"] = "prod-api" } }))
    assert.matches("^" .. sim.url:gsub("%p", "%%%0") .. "/%?", url)
    assert.matches("Action=GetCallerIdentity", url, 1, true)
    assert.matches("Version=2011%-06%-15", url)
    assert.matches("X%-Amz%-Expires=60", url)
    assert.matches("X%-Amz%-SignedHeaders=host%%3Bx%-k8s%-aws%-id", url)
    assert.matches("X%-Amz%-Credential=" .. simmod.ACCESS_KEY, url)
    assert.is_nil(url:find(simmod.SECRET_KEY, 1, true))
    local token = "k8s-aws-v1." .. b64url(url)
    assert.is_nil(token:find("=", 1, true))
    local function fetch(headers)
      return assert(client:raw_request{ method = "GET", url = url, headers = headers })
    end
    local ok = fetch({ { "x-k8s-aws-id", "prod-api" }, { "Accept", "application/json" } })
    assert.are.equal(200, ok.status, ok.body)
    assert.matches("111122223333", ok.body)
    -- The header is part of the signature: another cluster's name fails.
    local other = fetch({ { "x-k8s-aws-id", "other-cluster" } })
    assert.are.equal(403, other.status)
  end)

  it("prepare's path is the path as sent, with an endpoint's path prefix", function()
    local c = sim:client{ endpoint_url = sim.url .. "/prefix" }
    local req = assert(c:prepare("eks", "DescribeCluster", { name = "x" }))
    assert.are.equal("/prefix/clusters/x", req.path)
    assert.are.equal(sim.url .. "/prefix/clusters/x", req.url)
    c:close()
  end)

  it("presign refuses an operation whose JSON body a URL cannot carry", function()
    assert.has_error(function()
      client:presign("eks", "UpdateClusterConfig", { name = "x", logging = {} })
    end)
  end)

  it("an egress update is preceded by its own DescribeCluster, with the same credentials", function()
    local fresh = simmod.start("--time-scale 0")
    finally(function() fresh:stop() end)
    local c = fresh:client()
    local since = math.tointeger(fresh:admin("GET", "/_sim/log").last_seq)
    -- dev-a lives in the second account: per-call credentials must drive both calls
    local out, err = c:call("eks", "UpdateClusterConfig",
      { name = "dev-a", resourcesVpcConfig = { controlPlaneEgressMode = "CUSTOMER_ROUTED" } },
      { acknowledge = "dev-a", credentials = SECOND })
    assert.is_nil(err, tostring(err))
    assert.are.equal("ControlPlaneEgressUpdate", out.update.type)
    local log = fresh:admin("GET", "/_sim/log?since=" .. since).requests
    local ops = {}
    for _, r in ipairs(log) do
      if r.cluster == "dev-a" then ops[#ops + 1] = { r.operation, r.account } end
    end
    assert.are.same({ { "DescribeCluster", "444455556666" }, { "UpdateClusterConfig", "444455556666" } }, ops)
    c:close()
  end)

  it("the guard's audit lines name the caller without the script calling whoami", function()
    local fresh = simmod.start("--time-scale 0")
    local audit = os.tmpname()
    finally(function()
      fresh:stop()
      os.remove(audit)
    end)
    local c = fresh:client{ audit_path = audit }
    local _, err = c:call("eks", "UpdateClusterConfig",
      { name = "prod-api", resourcesVpcConfig = { controlPlaneEgressMode = "CUSTOMER_ROUTED" } })
    assert.are.equal("IrreversibleChangeNotAcknowledged", err.code)
    c:close()
    local lines = {}
    for line in io.lines(audit) do lines[#lines + 1] = cjson.decode(line) end
    assert.are.equal(1, #lines)
    assert.are.equal("arn:aws:iam::111122223333:user/ekssim-admin", lines[1].identity)
  end)
end)
