-- luacheck: std +busted
-- Wire-protocol codecs: request building (exact bytes) and response shaping.
-- XML tests that need the C decoder run when eksegress.core is on LUA_CPATH
-- (make: build/<x>/eksegress/core.so); the shaping rules are also tested on
-- hand-built trees, which need nothing compiled.
local services = require "eksegress.services"
local query = require "eksegress.protocols.query"
local common = require "eksegress.protocols.common"
local ec2 = require "eksegress.protocols.ec2"
local restjson = require "eksegress.protocols.restjson"
local json = require "eksegress.protocols.json"
local xmltable = require "eksegress.protocols.xmltable"

local HAVE_CORE = pcall(function()
  assert(type(require("eksegress.core").xml_decode) == "function")
end)

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function fixture(name)
  return read("spec/fixtures/" .. name)
end

-- Split a raw ".http" fixture into {status, headers (lower-case names), body}.
local function http_fixture(name)
  local raw = fixture(name)
  local head, body = raw:match("^(.-)\r?\n\r?\n(.*)$")
  local lines = {}
  for line in head:gmatch("[^\r\n]+") do lines[#lines + 1] = line end
  local status = tonumber(lines[1]:match("^HTTP/%S+ (%d+)"))
  local headers = {}
  for i = 2, #lines do
    local k, v = lines[i]:match("^([^:]+):%s*(.-)%s*$")
    headers[k:lower()] = v
  end
  return { status = status, headers = headers, body = (body:gsub("\r?\n$", "")) }
end

local function build(svcname, opname, params)
  local svc = assert(services.get(svcname))
  local codec = require("eksegress.protocols." .. svc.protocol_module)
  return codec.build(svc, opname, svc.operations[opname], params)
end

local function parse(svcname, opname, body, status)
  local svc = assert(services.get(svcname))
  local codec = require("eksegress.protocols." .. svc.protocol_module)
  return codec.parse(svc, opname, svc.operations[opname],
                     { status = status or 200, headers = {}, body = body })
end

local function build_error(svcname, opname, params)
  local ok, err = pcall(build, svcname, opname, params)
  assert.is_false(ok, "expected build to raise")
  return err
end

---------------------------------------------------------------------------------------
describe("common.percent_encode", function()
  it("keeps only the SigV4 unreserved set", function()
    assert.equal("AZaz09-_.~", common.percent_encode("AZaz09-_.~"))
    assert.equal("a%20b%2Bc%2Fd%3Ae%3Df%26g%3Fh%25i%2Aj", common.percent_encode("a b+c/d:e=f&g?h%i*j"))
    assert.equal("caf%C3%A9%20%E2%98%BA", common.percent_encode("café ☺"))
    assert.equal("%00%0A%7F%FF", common.percent_encode("\0\n\127\255"))
  end)
end)

describe("common.format_number", function()
  it("gives integers as integers and floats in their shortest form", function()
    assert.equal("5", common.format_number(5))
    assert.equal("5", common.format_number(5.0))
    assert.equal("0.1", common.format_number(0.1))
    assert.equal("1700000000.123", common.format_number(1700000000.123))
    assert.equal("-2.5", common.format_number(-2.5))
    assert.is_nil(common.format_number(0 / 0))
    assert.is_nil(common.format_number(math.huge))
  end)
end)

---------------------------------------------------------------------------------------
describe("restjson.build (EKS)", function()
  it("DescribeCluster: GET with the name as a URI label", function()
    local req = build("eks", "DescribeCluster", { name = "prod" })
    assert.same({ method = "GET", path = "/clusters/prod", query = "", headers = {}, body = "" }, req)
  end)

  it("UriEncodes labels: spaces, '+', '/', ':', '=', UTF-8", function()
    local req = build("eks", "DescribeCluster", { name = "a b+c/d:e=f~g_h.i-é" })
    assert.equal("/clusters/a%20b%2Bc%2Fd%3Ae%3Df~g_h.i-%C3%A9", req.path)
  end)

  it("ListClusters: query parameters encoded, sorted, include[] repeated", function()
    local req = build("eks", "ListClusters", { maxResults = 10, nextToken = "a+b/c= d", include = { "all", "x y" } })
    assert.equal("GET", req.method)
    assert.equal("/clusters", req.path)
    assert.equal("include=all&include=x%20y&maxResults=10&nextToken=a%2Bb%2Fc%3D%20d", req.query)
    assert.equal("", req.body)
    assert.same({}, req.headers)
  end)

  it("ListClusters without parameters", function()
    assert.same({ method = "GET", path = "/clusters", query = "", headers = {}, body = "" },
                build("eks", "ListClusters", {}))
    assert.same({ method = "GET", path = "/clusters", query = "", headers = {}, body = "" },
                build("eks", "ListClusters", nil))
  end)

  it("DescribeUpdate: two labels and optional query members", function()
    local req = build("eks", "DescribeUpdate", { name = "prod", updateId = "b5f0ba18-9a87", addonName = "vpc-cni",
                                                 capabilityName = "argo cd" })
    assert.equal("/clusters/prod/updates/b5f0ba18-9a87", req.path)
    assert.equal("addonName=vpc-cni&capabilityName=argo%20cd", req.query)
    assert.equal("", req.body)
  end)

  it("ListUpdates and the cluster-scoped List* operations", function()
    local req = build("eks", "ListUpdates", { name = "prod", nodegroupName = "ng-1", maxResults = 100 })
    assert.equal("/clusters/prod/updates", req.path)
    assert.equal("maxResults=100&nodegroupName=ng-1", req.query)
    assert.equal("/clusters/prod/node-groups", build("eks", "ListNodegroups", { clusterName = "prod" }).path)
    assert.equal("/clusters/prod/node-groups/ng%201",
                 build("eks", "DescribeNodegroup", { clusterName = "prod", nodegroupName = "ng 1" }).path)
    assert.equal("/clusters/prod/identity-provider-configs",
                 build("eks", "ListIdentityProviderConfigs", { clusterName = "prod" }).path)
    req = build("eks", "ListAddons", { clusterName = "prod", nextToken = "t/1" })
    assert.equal("/clusters/prod/addons", req.path)
    assert.equal("nextToken=t%2F1", req.query)
  end)

  it("DeleteCluster: DELETE, no body", function()
    assert.same({ method = "DELETE", path = "/clusters/prod", query = "", headers = {}, body = "" },
                build("eks", "DeleteCluster", { name = "prod" }))
  end)

  it("CreateCluster: every field in the body, unknown ones included, keys sorted", function()
    local params = {
      name = "prod", roleArn = "arn:aws:iam::123456789012:role/eks", version = "1.31",
      resourcesVpcConfig = { subnetIds = { "subnet-1", "subnet-2" }, securityGroupIds = {},
                             endpointPublicAccess = false, controlPlaneEgressMode = "CUSTOMER_ROUTED",
                             futureVpcKnob = 3 },
      tags = { team = "platform", ["cost/center"] = "42" },
      logging = { clusterLogging = { { types = { "api", "audit" }, enabled = true } } },
      clientRequestToken = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d",
      kubeApiServerConfig = { featureGates = { "A=true" }, empty = {} },
    }
    local req = build("eks", "CreateCluster", params)
    assert.equal("POST", req.method)
    assert.equal("/clusters", req.path)
    assert.equal("", req.query)
    assert.same({ { "Content-Type", "application/json" } }, req.headers)
    assert.equal('{"clientRequestToken":"9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d",'
      .. '"kubeApiServerConfig":{"empty":{},"featureGates":["A=true"]},'
      .. '"logging":{"clusterLogging":[{"enabled":true,"types":["api","audit"]}]},'
      .. '"name":"prod",'
      .. '"resourcesVpcConfig":{"controlPlaneEgressMode":"CUSTOMER_ROUTED","endpointPublicAccess":false,'
      .. '"futureVpcKnob":3,"securityGroupIds":[],"subnetIds":["subnet-1","subnet-2"]},'
      .. '"roleArn":"arn:aws:iam::123456789012:role/eks",'
      .. '"tags":{"cost/center":"42","team":"platform"},"version":"1.31"}', req.body)
  end)

  it("fills clientRequestToken with a UUID when absent, without touching the caller's table", function()
    local params = { name = "prod", resourcesVpcConfig = { controlPlaneEgressMode = "CUSTOMER_ROUTED" } }
    local req = build("eks", "UpdateClusterConfig", params)
    assert.is_nil(params.clientRequestToken)
    local token = req.body:match('"clientRequestToken":"([^"]+)"')
    local uuid = "^" .. ("%x"):rep(8) .. "%-" .. ("%x"):rep(4) .. "%-4" .. ("%x"):rep(3) .. "%-[89ab]"
      .. ("%x"):rep(3) .. "%-" .. ("%x"):rep(12) .. "$"
    assert.truthy(token and token:match(uuid))
    local req2 = build("eks", "UpdateClusterConfig", params)
    assert.not_equal(req.body, req2.body)
  end)

  it("UpdateClusterConfig: name in the URI only, the rest in the body", function()
    local req = build("eks", "UpdateClusterConfig", {
      name = "prod", clientRequestToken = "tok",
      resourcesVpcConfig = { controlPlaneEgressMode = "CUSTOMER_ROUTED" } })
    assert.equal("POST", req.method)
    assert.equal("/clusters/prod/update-config", req.path)
    assert.equal("", req.query)
    assert.equal('{"clientRequestToken":"tok","resourcesVpcConfig":{"controlPlaneEgressMode":"CUSTOMER_ROUTED"}}',
                 req.body)
  end)

  it("DescribeIdentityProviderConfig: POST with the config in the body", function()
    local req = build("eks", "DescribeIdentityProviderConfig", {
      clusterName = "prod", identityProviderConfig = { type = "oidc", name = "corp sso" } })
    assert.equal("POST", req.method)
    assert.equal("/clusters/prod/identity-provider-configs/describe", req.path)
    assert.equal('{"identityProviderConfig":{"name":"corp sso","type":"oidc"}}', req.body)
  end)

  it("sends unknown members of a body-less operation in the query string", function()
    local req = build("eks", "DescribeCluster", { name = "prod", futureFlag = true, futureList = { "a", "b c" } })
    assert.equal("futureFlag=true&futureList=a&futureList=b%20c", req.query)
    assert.equal("", req.body)
  end)

  it("escapes JSON strings and keeps UTF-8 as is", function()
    local req = build("eks", "UpdateClusterConfig", {
      name = "prod", clientRequestToken = "t", note = 'q"b\\s/\n\t\1é☺' })
    assert.equal('{"clientRequestToken":"t","note":"q\\"b\\\\s/\\n\\t\\u0001é☺"}', req.body)
  end)

  it("encodes numbers exactly and honours array_mt for empty lists of unknown type", function()
    local req = build("eks", "UpdateClusterConfig", {
      name = "p", clientRequestToken = "t", x = { i = 3, f = 0.25, big = 2 ^ 53, neg = -7,
                                                  arr = setmetatable({}, restjson.array_mt) } })
    assert.equal('{"clientRequestToken":"t","x":{"arr":[],"big":9007199254740992,"f":0.25,"i":3,"neg":-7}}', req.body)
  end)

  describe("misuse raises", function()
    it("a missing required member", function()
      assert.equal("eks DescribeCluster: missing required parameter 'name'", build_error("eks", "DescribeCluster", {}))
      assert.equal("eks ListNodegroups: missing required parameter 'clusterName'",
                   build_error("eks", "ListNodegroups", { name = "prod" }))
      assert.equal("eks CreateCluster: missing required parameter 'resourcesVpcConfig'",
                   build_error("eks", "CreateCluster", { name = "a", roleArn = "r" }))
      assert.equal("eks DescribeIdentityProviderConfig: missing required parameter 'identityProviderConfig.name'",
                   build_error("eks", "DescribeIdentityProviderConfig",
                               { clusterName = "c", identityProviderConfig = { type = "oidc" } }))
    end)

    it("labels that would change the path", function()
      assert.equal("eks DescribeCluster: parameter 'name' must not be empty",
                   build_error("eks", "DescribeCluster", { name = "" }))
      assert.equal("eks DeleteCluster: parameter 'name' must not be '.' or '..'",
                   build_error("eks", "DeleteCluster", { name = ".." }))
      assert.equal("eks DeleteCluster: parameter 'name' must not be '.' or '..'",
                   build_error("eks", "DeleteCluster", { name = "." }))
    end)

    it("wrong types", function()
      assert.equal("eks DescribeCluster: parameter 'name' must be a string (got integer)",
                   build_error("eks", "DescribeCluster", { name = 5 }))
      assert.equal("eks ListClusters: parameter 'maxResults' must be an integer (got string)",
                   build_error("eks", "ListClusters", { maxResults = "10" }))
      assert.equal("eks ListClusters: parameter 'maxResults' must be an integer (got float)",
                   build_error("eks", "ListClusters", { maxResults = 1.5 }))
      assert.equal("eks ListClusters: parameter 'include' must be a list (got string)",
                   build_error("eks", "ListClusters", { include = "all" }))
      assert.equal("eks CreateCluster: parameter 'resourcesVpcConfig.subnetIds' must be a list (got table)",
                   build_error("eks", "CreateCluster", { name = "a", roleArn = "r",
                                                         resourcesVpcConfig = { subnetIds = { a = 1 } } }))
      assert.equal("eks CreateCluster: parameter 'resourcesVpcConfig.endpointPublicAccess' must be a boolean"
                     .. " (got string)",
                   build_error("eks", "CreateCluster", { name = "a", roleArn = "r",
                                                         resourcesVpcConfig = { endpointPublicAccess = "true" } }))
      assert.equal("eks UpdateClusterConfig: parameter 'x' has an unsupported type (function)",
                   build_error("eks", "UpdateClusterConfig", { name = "a", x = print }))
      assert.equal("eks DescribeCluster: parameter 'futureThing' cannot be sent in the query string (got a table)",
                   build_error("eks", "DescribeCluster", { name = "a", futureThing = { a = 1 } }))
      assert.equal("eks DescribeCluster: parameters must be a table (got string)",
                   build_error("eks", "DescribeCluster", "prod"))
      assert.equal("eks DescribeCluster: parameters table has a non-string key (integer)",
                   build_error("eks", "DescribeCluster", { "prod" }))
    end)

    it("invalid UTF-8 and non-finite numbers", function()
      assert.equal("eks DescribeCluster: parameter 'name' must be valid UTF-8",
                   build_error("eks", "DescribeCluster", { name = "\255" }))
      assert.equal("eks UpdateClusterConfig: parameter 'n' must be a finite number (got float)",
                   build_error("eks", "UpdateClusterConfig", { name = "a", n = 0 / 0 }))
    end)

    it("an unknown operation", function()
      local svc = services.get("eks")
      local ok, err = pcall(restjson.build, svc, "Nope", nil, {})
      assert.is_false(ok)
      assert.equal("eks Nope: unknown operation", err)
    end)
  end)
end)

---------------------------------------------------------------------------------------
describe("restjson.parse", function()
  it("keeps every field, drops nulls, makes integral numbers integers", function()
    local out, err = parse("eks", "DescribeCluster", fixture("protocols/eks-DescribeCluster-response.json"))
    assert.is_nil(err)
    local c = out.cluster
    assert.equal("prod", c.name)
    assert.equal("ACTIVE", c.status)
    assert.equal("AWS_MANAGED", c.resourcesVpcConfig.controlPlaneEgressMode)
    assert.same({ "subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f" }, c.resourcesVpcConfig.subnetIds)
    assert.same({}, c.resourcesVpcConfig.securityGroupIds)
    assert.is_true(c.resourcesVpcConfig.endpointPublicAccess)
    assert.is_false(c.resourcesVpcConfig.endpointPrivateAccess)
    assert.equal(1700000000.123, c.createdAt)
    assert.is_nil(c.clientRequestToken)
    assert.equal("42", c.tags["cost/center"])
    assert.same({ mode = "SOMETHING_NEW", limits = { 1, 2.5, -3 }, nested = { flag = true } }, c.futureFeature)
    assert.equal("integer", math.type(c.futureFeature.limits[1]))
    assert.equal('café "quoted" \\ slash/', c.description)
    assert.same({}, c.health.issues)
  end)

  it("parses a page with a token and an update", function()
    local out = parse("eks", "ListClusters", fixture("protocols/eks-ListClusters-page.json"))
    assert.same({ "prod", "staging", "dev" }, out.clusters)
    assert.equal("eyJ0IjoiYWJjL2RlZitnaGk9In0=", out.nextToken)
    out = parse("eks", "DescribeUpdate", fixture("protocols/eks-DescribeUpdate-response.json"))
    assert.equal("InProgress", out.update.status)
    assert.equal("ControlPlaneEgressUpdate", out.update.type)
    assert.equal(1722000000, out.update.createdAt)
    assert.equal("integer", math.type(out.update.createdAt))
  end)

  it("returns nil, err for malformed or unexpected bodies", function()
    for _, body in ipairs({ "", "{", "[1,2]", '"x"', "42", "null", "{\"a\":}", "<xml/>", "{\"a\":1}garbage",
                            "{\"a\":NaN}", "{\"a\":0x10}" }) do
      local out, err = parse("eks", "DescribeCluster", body)
      assert.is_nil(out, body)
      assert.equal("ParseError", err.code, body)
      assert.equal("string", type(err.message))
      assert.equal("DescribeCluster", err.operation)
      assert.equal("eks", err.service)
    end
    local svc = services.get("eks")
    local out, err = restjson.parse(svc, "DescribeCluster", svc.operations.DescribeCluster, { status = 200 })
    assert.is_nil(out)
    assert.equal("ParseError", err.code)
  end)

  it("regression: a 16 MiB body of tiny values is a ParseError naming the limit, not 485 MB", function()
    -- {"clusters":[0,0,...]}: 16 MiB of text, 8 million values.
    local n = (16 * 1024 * 1024 - 16) // 2
    local body = '{"clusters":[' .. string.rep("0,", n - 1) .. "0]}"
    local before = collectgarbage("count")
    local out, err = parse("eks", "ListClusters", body)
    local grew_kb = collectgarbage("count") - before
    assert.is_nil(out)
    assert.equal("ParseError", err.code)
    assert.equal("JsonTooLarge", err.reason)
    assert.equal("JSON response refused: JSON document has more than 1000000 values (max_values)", err.message)
    assert.equal("ListClusters", err.operation)
    -- Nothing was decoded: the Lua heap grew by far less than the body itself.
    assert.is_true(grew_kb < #body / 1024, ("grew %.0f kB"):format(grew_kb))
  end)

  it("regression: JSON nested past 64 levels is a ParseError naming the limit", function()
    local deep = string.rep('{"a":', 65) .. "1" .. string.rep("}", 65)
    local out, err = parse("eks", "DescribeCluster", deep)
    assert.is_nil(out)
    assert.equal("JsonTooDeep", err.reason)
    assert.truthy(err.message:find("64 levels (max_depth)", 1, true), err.message)
    assert(parse("eks", "DescribeCluster", string.rep('{"a":', 64) .. "1" .. string.rep("}", 64)))
    local nested = string.rep("[", 100) .. string.rep("]", 100)
    out, err = parse("organizations", "ListAccounts", '{"Accounts":' .. nested .. "}")
    assert.is_nil(out)
    assert.equal("JsonTooDeep", err.reason)
  end)

  it("the bounds scanner and the decoder agree on what is JSON", function()
    local cjson = require "cjson.safe"
    local core = require "eksegress.core"
    for _, doc in ipairs({ '{}', '{"a":[1,2.5,-3e2,true,false,null,"x\\u00e9\\n"]}', ' {"a" : {} } ',
                           '{"":""}', '[{}]', '"s"', "0", "-0.0E+1" }) do
      assert.is_truthy(core.json_check(doc), doc)
      assert.is_not_nil(cjson.decode(doc), doc)
    end
    for _, doc in ipairs({ "", "{", "{a:1}", "[1,]", "{\"a\":1,}", "01", "1.", "NaN", "0x10", "'a'",
                           "[1]x", "\"\\x\"" }) do
      local fine, err = core.json_check(doc)
      assert.is_nil(fine, doc)
      assert.equal("JsonParseError", err.code, doc)
    end
  end)

  it("never raises on arbitrary bytes", function()
    local rng = 12345
    local function rand(n)
      rng = (rng * 1103515245 + 12345) % 2147483648
      return rng % n
    end
    local svc = services.get("eks")
    for _ = 1, 300 do
      local t = {}
      for i = 1, rand(40) do t[i] = string.char(rand(256)) end
      local body = table.concat(t)
      if rand(2) == 0 then body = "{" .. body end
      local ok = pcall(restjson.parse, svc, "DescribeCluster", svc.operations.DescribeCluster,
                       { status = 200, headers = {}, body = body })
      assert.is_true(ok)
    end
  end)

  it("parse_error: x-amzn-ErrorType header, message and modelled fields", function()
    local resp = http_fixture("wire/eks-error-response.http")
    local info = restjson.parse_error(services.get("eks"), "DescribeCluster", nil, resp)
    assert.equal(404, resp.status)
    assert.equal("ResourceNotFoundException", info.code)
    assert.equal("No cluster found for name: missing-cluster.", info.message)
    assert.equal("missing-cluster", info.fields.clusterName)
    assert.equal("8f0c8a5e-0000-4000-8000-example", info.request_id)
  end)

  it("parse_error: body code / __type with a namespace, or nothing", function()
    local info = restjson.parse_error(nil, "X", nil, { status = 400, headers = {},
      body = '{"__type":"com.amazonaws.eks#InvalidParameterException",'
        .. '"message":"Only one type of update can be allowed."}' })
    assert.equal("InvalidParameterException", info.code)
    assert.equal("Only one type of update can be allowed.", info.message)
    info = restjson.parse_error(nil, "X", nil, { status = 429, body = "",
      headers = { ["x-amzn-errortype"] = "aws.protocols#ThrottlingException:http://x/" } })
    assert.equal("ThrottlingException", info.code)
    assert.is_nil(restjson.parse_error(nil, "X", nil,
                                       { status = 502, headers = {}, body = "<html>bad gateway</html>" }))
  end)
end)

---------------------------------------------------------------------------------------
describe("json 1.1 (Organizations)", function()
  it("build: POST / with X-Amz-Target and a JSON body", function()
    assert.same({
      method = "POST", path = "/", query = "",
      headers = { { "Content-Type", "application/x-amz-json-1.1" },
                  { "X-Amz-Target", "AWSOrganizationsV20161128.ListAccounts" } },
      body = "{}",
    }, build("organizations", "ListAccounts", {}))
    assert.equal('{"MaxResults":20,"NextToken":"a/b+c="}',
                 build("organizations", "ListAccounts", { MaxResults = 20, NextToken = "a/b+c=" }).body)
    assert.equal("organizations ListAccounts: parameter 'MaxResults' must be an integer (got string)",
                 build_error("organizations", "ListAccounts", { MaxResults = "20" }))
  end)

  it("parse: a ListAccounts page", function()
    local out, err = parse("organizations", "ListAccounts", fixture("protocols/organizations-ListAccounts-page.json"))
    assert.is_nil(err)
    assert.equal(2, #out.Accounts)
    assert.equal("111111111111", out.Accounts[1].Id)
    assert.equal("SUSPENDED", out.Accounts[2].Status)
    assert.equal(1481830215, out.Accounts[1].JoinedTimestamp)
    assert.equal("AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8=", out.NextToken)
    local bad
    out, bad = parse("organizations", "ListAccounts", "{\"Accounts\":[")
    assert.is_nil(out)
    assert.equal("ParseError", bad.code)
  end)

  it("parse_error: __type without its namespace", function()
    local resp = http_fixture("protocols/organizations-error-response.http")
    local info = json.parse_error(services.get("organizations"), "ListAccounts", nil, resp)
    assert.equal("AWSOrganizationsNotInUseException", info.code)
    assert.equal("Your account is not a member of an organization.", info.message)
    assert.equal("0e9a1c2f-0000-4000-8000-orgexample", info.request_id)
  end)
end)

---------------------------------------------------------------------------------------
describe("ec2.build", function()
  local CT = { { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" } }

  it("DescribeSubnets: Filter.N.Name / Filter.N.Value.M, SubnetId.N, Action and Version first", function()
    local req = build("ec2", "DescribeSubnets", {
      Filters = { { Name = "vpc-id", Values = { "vpc-1" } }, { Name = "tag:Name", Values = { "a b", "c+d" } } },
      SubnetIds = { "subnet-1", "subnet-2" }, MaxResults = 5, NextToken = "x/y=", DryRun = false })
    assert.same({
      method = "POST", path = "/", query = "", headers = CT,
      body = "Action=DescribeSubnets&Version=2016-11-15&DryRun=false"
        .. "&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1"
        .. "&Filter.2.Name=tag%3AName&Filter.2.Value.1=a%20b&Filter.2.Value.2=c%2Bd"
        .. "&MaxResults=5&NextToken=x%2Fy%3D&SubnetId.1=subnet-1&SubnetId.2=subnet-2",
    }, req)
  end)

  it("no parameters: Action and Version only", function()
    assert.equal("Action=DescribeVpcs&Version=2016-11-15", build("ec2", "DescribeVpcs", {}).body)
    assert.equal("Action=DescribeVpcs&Version=2016-11-15", build("ec2", "DescribeVpcs").body)
  end)

  it("ID lists use the EC2 wire names, never .member", function()
    assert.equal("Action=DescribeRouteTables&Version=2016-11-15&RouteTableId.1=rtb-1&RouteTableId.2=rtb-2",
                 build("ec2", "DescribeRouteTables", { RouteTableIds = { "rtb-1", "rtb-2" } }).body)
    assert.equal("Action=DescribeVpcs&Version=2016-11-15&VpcId.1=vpc-1",
                 build("ec2", "DescribeVpcs", { VpcIds = { "vpc-1" } }).body)
    assert.equal("Action=DescribeSecurityGroups&Version=2016-11-15&GroupId.1=sg-1&GroupName.1=default",
                 build("ec2", "DescribeSecurityGroups", { GroupIds = { "sg-1" }, GroupNames = { "default" } }).body)
    assert.equal("Action=DescribeNatGateways&Version=2016-11-15&Filter.1.Name=state&Filter.1.Value.1=available"
                   .. "&NatGatewayId.1=nat-1",
                 build("ec2", "DescribeNatGateways", { Filter = { { Name = "state", Values = { "available" } } },
                                                       NatGatewayIds = { "nat-1" } }).body)
    assert.equal("Action=DescribeNatGateways&Version=2016-11-15&Filter.1.Name=state&Filter.1.Value.1=available",
                 build("ec2", "DescribeNatGateways",
                       { Filters = { { Name = "state", Values = { "available" } } } }).body)
    assert.equal("Action=DescribeVpcEndpoints&Version=2016-11-15&VpcEndpointId.1=vpce-1",
                 build("ec2", "DescribeVpcEndpoints", { VpcEndpointIds = { "vpce-1" } }).body)
    assert.equal("Action=DescribeTransitGateways&Version=2016-11-15&TransitGatewayIds.1=tgw-1",
                 build("ec2", "DescribeTransitGateways", { TransitGatewayIds = { "tgw-1" } }).body)
    assert.equal("Action=DescribeNetworkInterfaces&Version=2016-11-15&NetworkInterfaceId.1=eni-1",
                 build("ec2", "DescribeNetworkInterfaces", { NetworkInterfaceIds = { "eni-1" } }).body)
    assert.equal("Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1",
                 build("ec2", "DescribeInstances", { InstanceIds = { "i-1" } }).body)
  end)

  it("DescribeRegions AllRegions, DescribeVpcAttribute", function()
    assert.equal("Action=DescribeRegions&Version=2016-11-15&AllRegions=true&RegionName.1=us-east-1",
                 build("ec2", "DescribeRegions", { AllRegions = true, RegionNames = { "us-east-1" } }).body)
    assert.equal("Action=DescribeVpcAttribute&Version=2016-11-15&Attribute=enableDnsSupport&VpcId=vpc-1",
                 build("ec2", "DescribeVpcAttribute", { VpcId = "vpc-1", Attribute = "enableDnsSupport" }).body)
  end)

  it("empty lists send nothing; unknown members are sent under their own name", function()
    assert.equal("Action=DescribeSubnets&Version=2016-11-15",
                 build("ec2", "DescribeSubnets", { SubnetIds = {}, Filters = {} }).body)
    assert.equal("Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=vpc-id",
                 build("ec2", "DescribeSubnets", { Filters = { { Name = "vpc-id", Values = {} } } }).body)
    assert.equal("Action=DescribeSubnets&Version=2016-11-15&FutureFlag=true&FutureIds.1=a&FutureIds.2=b"
                   .. "&FutureStruct.Inner=x%20y",
                 build("ec2", "DescribeSubnets", { FutureFlag = true, FutureIds = { "a", "b" },
                                                   FutureStruct = { Inner = "x y" } }).body)
  end)

  it("escapes values: space, '+', '/', ':', '=', '&', UTF-8", function()
    local req = build("ec2", "DescribeVpcs", { Filters = { { Name = "tag:Owner", Values = { "R&D a+b/c=d é" } } } })
    assert.equal("Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=tag%3AOwner"
                   .. "&Filter.1.Value.1=R%26D%20a%2Bb%2Fc%3Dd%20%C3%A9", req.body)
  end)

  it("misuse raises", function()
    assert.equal("ec2 DescribeVpcAttribute: missing required parameter 'Attribute'",
                 build_error("ec2", "DescribeVpcAttribute", { VpcId = "vpc-1" }))
    assert.equal("ec2 DescribeSubnets: parameter 'SubnetIds' must be a list (got string)",
                 build_error("ec2", "DescribeSubnets", { SubnetIds = "subnet-1" }))
    assert.equal("ec2 DescribeSubnets: parameter 'MaxResults' must be an integer (got string)",
                 build_error("ec2", "DescribeSubnets", { MaxResults = "5" }))
    assert.equal("ec2 DescribeSubnets: parameter 'DryRun' must be a boolean (got string)",
                 build_error("ec2", "DescribeSubnets", { DryRun = "true" }))
    assert.equal("ec2 DescribeSubnets: parameter 'Filters[1].Values[1]' must be a string (got integer)",
                 build_error("ec2", "DescribeSubnets", { Filters = { { Name = "a", Values = { 1 } } } }))
    assert.equal("ec2 DescribeSubnets: parameter 'Filters[1]' must be a table (got string)",
                 build_error("ec2", "DescribeSubnets", { Filters = { "vpc-id" } }))
    assert.equal("ec2 DescribeSubnets: parameter 'Action' is reserved",
                 build_error("ec2", "DescribeSubnets", { Action = "RunInstances" }))
  end)
end)

---------------------------------------------------------------------------------------
describe("query.build (STS)", function()
  local CT = { { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" } }

  it("GetCallerIdentity", function()
    assert.same({ method = "POST", path = "/", query = "", headers = CT,
                  body = "Action=GetCallerIdentity&Version=2011-06-15" }, build("sts", "GetCallerIdentity", {}))
  end)

  it("AssumeRole: scalars, .member lists, structures in lists", function()
    local req = build("sts", "AssumeRole", {
      RoleArn = "arn:aws:iam::123456789012:role/demo", RoleSessionName = "lua session",
      DurationSeconds = 900, ExternalId = "ext=1", SerialNumber = "arn:aws:iam::123456789012:mfa/u",
      TokenCode = "123456", Policy = '{"Version":"2012-10-17"}',
      PolicyArns = { { arn = "arn:aws:iam::aws:policy/ReadOnlyAccess" }, { arn = "arn:aws:iam::1:policy/p" } },
      Tags = { { Key = "team", Value = "platform" } }, TransitiveTagKeys = { "team" },
    })
    assert.equal("Action=AssumeRole&Version=2011-06-15&DurationSeconds=900&ExternalId=ext%3D1"
      .. "&Policy=%7B%22Version%22%3A%222012-10-17%22%7D"
      .. "&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess"
      .. "&PolicyArns.member.2.arn=arn%3Aaws%3Aiam%3A%3A1%3Apolicy%2Fp"
      .. "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdemo&RoleSessionName=lua%20session"
      .. "&SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Fu"
      .. "&Tags.member.1.Key=team&Tags.member.1.Value=platform&TokenCode=123456"
      .. "&TransitiveTagKeys.member.1=team", req.body)
  end)

  it("an empty Query list is sent as 'Name='", function()
    assert.equal("Action=AssumeRole&Version=2011-06-15&PolicyArns=&RoleArn=r&RoleSessionName=s",
                 build("sts", "AssumeRole", { RoleArn = "r", RoleSessionName = "s", PolicyArns = {} }).body)
  end)

  it("AssumeRoleWithWebIdentity", function()
    local req = build("sts", "AssumeRoleWithWebIdentity", {
      RoleArn = "arn:aws:iam::1:role/irsa", RoleSessionName = "s", WebIdentityToken = "eyJ.a-b_c.d+e/f=" })
    assert.equal("Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Firsa"
                   .. "&RoleSessionName=s&WebIdentityToken=eyJ.a-b_c.d%2Be%2Ff%3D", req.body)
  end)

  it("misuse raises", function()
    assert.equal("sts AssumeRole: missing required parameter 'RoleSessionName'",
                 build_error("sts", "AssumeRole", { RoleArn = "r" }))
    assert.equal("sts AssumeRole: missing required parameter 'Tags[1].Value'",
                 build_error("sts", "AssumeRole", { RoleArn = "r", RoleSessionName = "s", Tags = { { Key = "k" } } }))
    assert.equal("sts AssumeRole: parameter 'DurationSeconds' must be an integer (got string)",
                 build_error("sts", "AssumeRole", { RoleArn = "r", RoleSessionName = "s", DurationSeconds = "900" }))
  end)
end)

---------------------------------------------------------------------------------------
-- Hand-built trees in the decoder's shape: { name =, text =, [i] = child }.
local function E(name, a, ...)
  if type(a) == "string" then return { name = name, text = a } end
  local node = { name = name, text = "" }
  for i, c in ipairs({ a, ... }) do node[i] = c end
  return node
end

describe("xmltable.shape (hand-built trees)", function()
  it("item and member children make lists", function()
    assert.same({ "a", "b" }, xmltable.shape(E("subnetIdSet", E("item", "a"), E("item", "b"))))
    assert.same({ { Key = "k", Value = "v" } },
                xmltable.shape(E("Tags", E("member", E("Key", "k"), E("Value", "v")))))
    assert.same({ "only" }, xmltable.shape(E("whatever", E("item", "only"))))
  end)

  it("empty or blank ...Set leaves and known lists are empty lists", function()
    assert.same({}, xmltable.shape(E("tagSet", "")))
    assert.same({}, xmltable.shape(E("subnetSet", "\n    ")))
    assert.same({}, xmltable.shape(E("groups", ""), { lists = { groups = true } }))
    assert.equal("", xmltable.shape(E("groups", "")))
    assert.equal("", xmltable.shape(E("tagSet", ""), { set_suffix = false }))
  end)

  it("keeps leaf text exactly and never guesses types", function()
    assert.equal("  two  spaces\n", xmltable.shape(E("value", "  two  spaces\n")))
    assert.equal("250", xmltable.shape(E("availableIpAddressCount", "250")))
    assert.equal("false", xmltable.shape(E("defaultForAz", "false")))
    assert.equal("   ", xmltable.shape(E("description", "   ")))
    assert.equal("oddSet text", xmltable.shape(E("oddSet", "oddSet text")))
  end)

  it("maps, nested sets, unknown elements, repeated names", function()
    local tree = E("DescribeRouteTablesResponse",
      E("requestId", "r-1"),
      E("routeTableSet",
        E("item",
          E("routeTableId", "rtb-1"),
          E("routeSet", E("item", E("gatewayId", "local"), E("state", "active"))),
          E("associationSet", E("item", E("main", "true"), E("associationState", E("state", "associated")))),
          E("propagatingVgwSet", ""),
          E("brandNewField", E("x", "1")))),
      E("flat", "1"), E("flat", "2"), E("flat", "3"),
      E("nextToken", "tok"))
    assert.same({
      requestId = "r-1",
      routeTableSet = { {
        routeTableId = "rtb-1",
        routeSet = { { gatewayId = "local", state = "active" } },
        associationSet = { { main = "true", associationState = { state = "associated" } } },
        propagatingVgwSet = {},
        brandNewField = { x = "1" },
      } },
      flat = { "1", "2", "3" },
      nextToken = "tok",
    }, xmltable.shape_map(tree))
  end)

  it("shape_map of a leaf is an empty map; child helpers", function()
    assert.same({}, xmltable.shape_map(E("GetCallerIdentityResult", "")))
    local t = E("r", E("a", "1"), E("b", E("c", "2")))
    assert.equal("1", xmltable.child_text(t, "a"))
    assert.is_nil(xmltable.child_text(t, "b"))
    assert.is_nil(xmltable.child(t, "zz"))
  end)
end)

describe("xmltable typed helpers", function()
  it("to_boolean, to_integer, to_number", function()
    assert.is_true(xmltable.to_boolean("true"))
    assert.is_false(xmltable.to_boolean("false"))
    assert.is_nil(xmltable.to_boolean("True"))
    assert.equal(250, xmltable.to_integer("250"))
    assert.equal("integer", math.type(xmltable.to_integer(" -3\n")))
    assert.is_nil(xmltable.to_integer("2.5"))
    assert.is_nil(xmltable.to_integer("0x10"))
    assert.is_nil(xmltable.to_integer(nil))
    assert.equal(2.5, xmltable.to_number("2.5"))
    assert.equal(1e3, xmltable.to_number("1e3"))
    assert.is_nil(xmltable.to_number("0x10"))
    assert.is_nil(xmltable.to_number("inf"))
    assert.is_nil(xmltable.to_number("."))
  end)

  it("to_timestamp: UTC, fractions, offsets, rejects junk", function()
    assert.equal(1440941760, xmltable.to_timestamp("2015-08-30T13:36:00Z"))
    assert.equal(0, xmltable.to_timestamp("1970-01-01T00:00:00Z"))
    assert.equal(951782400, xmltable.to_timestamp("2000-02-29T00:00:00Z"))
    assert.equal(1767323045.678, xmltable.to_timestamp("2026-01-02T03:04:05.678Z"))
    assert.equal(1440941760, xmltable.to_timestamp("2015-08-30T15:36:00+02:00"))
    assert.equal(1440941760, xmltable.to_timestamp("2015-08-30T08:36:00-0500"))
    assert.is_nil(xmltable.to_timestamp("2015-13-30T13:36:00Z"))
    assert.is_nil(xmltable.to_timestamp("yesterday"))
    assert.is_nil(xmltable.to_timestamp("2015-08-30T13:36:00 UTC"))
  end)

  it("tags", function()
    assert.same({ Name = "a", team = "" }, xmltable.tags({ { key = "Name", value = "a" }, { key = "team" } }))
    assert.same({ k = "v" }, xmltable.tags({ { Key = "k", Value = "v" } }))
    assert.same({}, xmltable.tags("nope"))
  end)
end)

---------------------------------------------------------------------------------------
describe("XML responses through the C decoder", function()
  if not HAVE_CORE then
    pending("eksegress.core not built (run with LUA_CPATH='build/<x>/?.so;;')")
    return
  end

  it("DescribeSubnets: lists, tags, text kept", function()
    local out, err = parse("ec2", "DescribeSubnets", fixture("wire/ec2-DescribeSubnets-response.xml"))
    assert.is_nil(err)
    assert.equal("7a62c49f-347e-4fc4-9331-6e8eEXAMPLE", out.requestId)
    assert.equal(2, #out.subnetSet)
    local s = out.subnetSet[1]
    assert.equal("subnet-0aaa1111bbbb2222c", s.subnetId)
    assert.equal("250", s.availableIpAddressCount)
    assert.equal("false", s.defaultForAz)
    assert.same({}, s.ipv6CidrBlockAssociationSet)
    assert.same({ { key = "kubernetes.io/role/internal-elb", value = "1" }, { key = "Name", value = "private-a" } },
                s.tagSet)
    assert.same({}, out.subnetSet[2].tagSet)
    assert.equal("true", out.subnetSet[2].mapPublicIpOnLaunch)
    assert.is_nil(out.nextToken)
  end)

  it("DescribeRouteTables with a nextToken", function()
    local out = parse("ec2", "DescribeRouteTables", fixture("wire/ec2-DescribeRouteTables-response.xml"))
    assert.equal("eyJ2IjoiMSIsImMiOiJhYmMvZGVmK2doaT0ifQ==", out.nextToken)
    local rt = out.routeTableSet[1]
    assert.equal(2, #rt.routeSet)
    assert.equal("local", rt.routeSet[1].gatewayId)
    assert.equal("nat-0abc1234def567890", rt.routeSet[2].natGatewayId)
    assert.equal("associated", rt.associationSet[1].associationState.state)
    assert.equal("false", rt.associationSet[1].main)
    assert.same({}, rt.propagatingVgwSet)
    assert.same({}, rt.tagSet)
  end)

  it("empty sets and an empty nextToken", function()
    local out = parse("ec2", "DescribeSubnets", fixture("wire/ec2-DescribeSubnets-empty-sets.xml"))
    assert.same({ requestId = "00000000-1111-4222-8333-444444444444", subnetSet = {}, nextToken = "" }, out)
    out = parse("ec2", "DescribeRegions", fixture("protocols/ec2-DescribeRegions-empty.xml"))
    assert.same({}, out.regionInfo)
  end)

  it("DescribeRegions, DescribeVpcAttribute", function()
    local out = parse("ec2", "DescribeRegions", fixture("protocols/ec2-DescribeRegions-response.xml"))
    assert.equal(2, #out.regionInfo)
    assert.equal("not-opted-in", out.regionInfo[2].optInStatus)
    out = parse("ec2", "DescribeVpcAttribute", fixture("protocols/ec2-DescribeVpcAttribute-response.xml"))
    assert.same({ requestId = "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE", vpcId = "vpc-0123456789abcdef0",
                  enableDnsSupport = { value = "true" } }, out)
  end)

  it("nested sets: security groups and VPC endpoints", function()
    local out = parse("ec2", "DescribeSecurityGroups", fixture("wire/ec2-DescribeSecurityGroups-nested-sets.xml"))
    local sg = out.securityGroupInfo[1]
    assert.equal("sg-0123456789abcdef0", sg.groupId)
    local p = sg.ipPermissions[1]
    assert.equal("443", p.fromPort)
    assert.equal("sg-0fedcba9876543210", p.groups[1].groupId)
    assert.same({ { cidrIp = "10.0.0.0/16", description = "vpc" }, { cidrIp = "192.168.0.0/24" } }, p.ipRanges)
    assert.same({}, p.ipv6Ranges)
    assert.same({}, p.prefixListIds)
    local e = sg.ipPermissionsEgress[1]
    assert.same({}, e.groups)
    assert.equal("-1", e.ipProtocol)

    out = parse("ec2", "DescribeVpcEndpoints", fixture("wire/ec2-DescribeVpcEndpoints-nested-sets.xml"))
    assert.equal(2, #out.vpcEndpointSet)
    local a, b = out.vpcEndpointSet[1], out.vpcEndpointSet[2]
    assert.same({ "subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f" }, a.subnetIdSet)
    assert.same({ "eni-0aaa", "eni-0bbb" }, a.networkInterfaceIdSet)
    assert.same({}, a.routeTableIdSet)
    assert.same({ { groupId = "sg-0123456789abcdef0", groupName = "endpoints" } }, a.groupSet)
    assert.same({ "rtb-0123456789abcdef0" }, b.routeTableIdSet)
    assert.same({}, b.groupSet)
  end)

  it("entities, character references and CDATA decode; whitespace is kept", function()
    local out = parse("ec2", "DescribeNatGateways", fixture("wire/ec2-DescribeNatGateways-entities-cdata.xml"))
    local tags = xmltable.tags(out.natGatewaySet[1].tagSet)
    assert.equal("R&D <net> \"team\" 'a'", tags.Owner)
    assert.equal("café ☺ 日本", tags.Unicode)
    assert.equal('if a < b && c > d then "x" end', tags.Script)
    assert.equal("pre-<raw>-&-post", tags.Mixed)
    assert.equal("  two  inner   spaces\nsecond line\ttab  ", tags.Spaces)
    assert.equal("   ", tags.Blank)
    assert.equal("", tags.Empty)
    assert.equal("203.0.113.10", out.natGatewaySet[1].natGatewayAddressSet[1].publicIp)
  end)

  it("STS AssumeRole: the Result content plus ResponseMetadata", function()
    local out, err = parse("sts", "AssumeRole", fixture("wire/sts-AssumeRole-response.xml"))
    assert.is_nil(err)
    assert.same({
      SourceIdentity = "DevUser123",
      AssumedRoleUser = { Arn = "arn:aws:sts::123456789012:assumed-role/demo/lua-session",
                          AssumedRoleId = "AROAEXAMPLEROLEID1234:lua-session" },
      Credentials = { AccessKeyId = "ASIAEXAMPLEACCESSKEY",
                      SecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
                      SessionToken = "FQoGZXIvYXdzEXAMPLEsessiontoken/with+slash==",
                      Expiration = "2015-08-30T13:36:00Z" },
      PackedPolicySize = "6",
      ResponseMetadata = { RequestId = "c6104cbe-af31-11e0-8154-cbc7ccf896c7" },
    }, out)
    assert.equal(1440941760, xmltable.to_timestamp(out.Credentials.Expiration))
  end)

  it("STS GetCallerIdentity, plain and with prefixed namespaces", function()
    local out = parse("sts", "GetCallerIdentity", fixture("wire/sts-GetCallerIdentity-response.xml"))
    assert.same({ Arn = "arn:aws:sts::123456789012:assumed-role/demo/lua-session",
                  UserId = "AROAEXAMPLEROLEID1234:lua-session", Account = "123456789012",
                  ResponseMetadata = { RequestId = "01234567-89ab-cdef-0123-456789abcdef" } }, out)
    out = parse("sts", "GetCallerIdentity", fixture("wire/sts-GetCallerIdentity-prefixed-ns.xml"))
    assert.equal("AIDAEXAMPLEUSERID0001", out.UserId)
    assert.equal("123456789012", out.Account)
    assert.equal("11111111-2222-4333-8444-555555555555", out.ResponseMetadata.RequestId)
  end)

  it("STS AssumeRoleWithWebIdentity", function()
    local out = parse("sts", "AssumeRoleWithWebIdentity",
                      fixture("protocols/sts-AssumeRoleWithWebIdentity-response.xml"))
    assert.equal("ASIAEXAMPLEWEBIDENT1", out.Credentials.AccessKeyId)
    assert.equal("system:serviceaccount:kube-system:eksegress", out.SubjectFromWebIdentityToken)
    assert.equal(1767323045.678, xmltable.to_timestamp(out.Credentials.Expiration))
  end)

  it("Query .member lists (IAM-shaped), with known empty lists", function()
    local svc = { name = "iam", api_version = "2010-05-08", xml_lists = { Roles = true, Tags = true } }
    local out = query.parse(svc, "ListRoles", {}, { status = 200, body = fixture("wire/iam-ListRoles-members.xml") })
    assert.equal("true", out.IsTruncated)
    assert.equal(2, #out.Roles)
    assert.same({ { Key = "team", Value = "platform" } }, out.Roles[1].Tags)
    assert.same({}, out.Roles[2].Tags)
    assert.equal("7a62c49f-0000-4000-8000-iamexample", out.ResponseMetadata.RequestId)
  end)

  it("an error document in a 2xx response is an error", function()
    local out, err = parse("ec2", "DescribeSubnets", fixture("protocols/ec2-error-in-200.xml"))
    assert.is_nil(out)
    assert.equal("InternalError", err.code)
    assert.equal("11111111-2222-4333-8444-555555555555", err.request_id)
    out, err = parse("sts", "GetCallerIdentity", fixture("wire/sts-error-response.xml"))
    assert.is_nil(out)
    assert.equal("SignatureDoesNotMatch", err.code)
  end)

  it("parse_error: EC2 and STS error bodies", function()
    local info = ec2.parse_error(nil, "DescribeSubnets", nil,
                                 { status = 400, body = fixture("wire/ec2-error-response.xml") })
    assert.same({ code = "InvalidSubnetID.NotFound",
                  message = "The subnet ID 'subnet-00000000000000000' does not exist",
                  request_id = "ea966190-f9aa-478e-9ede-example" }, info)
    info = ec2.parse_error(nil, "DescribeSubnets", nil,
                           { status = 503, body = fixture("wire/ec2-throttle-error-response.xml") })
    assert.equal("RequestLimitExceeded", info.code)
    info = query.parse_error(nil, "AssumeRole", nil, { status = 403, body = fixture("wire/sts-error-response.xml") })
    assert.equal("SignatureDoesNotMatch", info.code)
    assert.equal("Sender", info.type)
    assert.equal("4b5a8a3e-0000-4000-8000-example", info.request_id)
    assert.is_nil(query.parse_error(nil, "AssumeRole", nil, { status = 500, body = "<html><body>oops</body></html>" }))
    assert.is_nil(query.parse_error(nil, "AssumeRole", nil, { status = 500, body = "" }))
    assert.is_nil(query.parse_error(nil, "AssumeRole", nil, { status = 500, body = "not xml" }))
  end)

  it("malformed and hostile bodies give nil, err and never raise", function()
    local names = { "billion-laughs.xml", "garbage.xml", "mismatched-tags.xml", "parameter-entity.xml",
                    "truncated.xml", "two-roots.xml", "unbound-prefix.xml", "undefined-entity.xml",
                    "xxe-external-dtd.xml", "xxe-external-entity.xml" }
    for _, n in ipairs(names) do
      local ok, out, err = pcall(parse, "ec2", "DescribeSubnets", fixture("wire/hostile/" .. n))
      assert.is_true(ok, n)
      assert.is_nil(out, n)
      assert.equal("ParseError", err.code, n)
    end
    for _, body in ipairs({ "", "<", "<DescribeSubnetsResponse>", "{}", "\0\1\2", "<a><b></a>" }) do
      local ok, out, err = pcall(parse, "ec2", "DescribeSubnets", body)
      assert.is_true(ok)
      assert.is_nil(out)
      assert.equal("ParseError", err.code)
      ok, out, err = pcall(parse, "sts", "GetCallerIdentity", body)
      assert.is_true(ok)
      assert.is_nil(out)
      assert.equal("ParseError", err.code)
    end
    local out, err = parse("ec2", "DescribeSubnets", fixture("wire/deep-nesting-65.xml"))
    assert.is_nil(out)
    assert.equal("ParseError", err.code)
    out, err = parse("ec2", "DescribeSubnets", "<Unexpected><a>1</a></Unexpected>")
    assert.is_nil(out)
    assert.equal("ParseError", err.code)
  end)

  it("error messages never quote the document", function()
    local secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
    local body = "<AssumeRoleResponse><AssumeRoleResult><Credentials><SecretAccessKey>" .. secret
      .. "</SecretAccessKey></Credentials>"
    local out, err = parse("sts", "AssumeRole", body)
    assert.is_nil(out)
    assert.is_nil(tostring(err.message):find(secret, 1, true))
    assert.is_nil(tostring(err):find(secret, 1, true))
  end)
end)

---------------------------------------------------------------------------------------
-- The calls the network preflight makes: EC2 additions and IAM.

-- A response must pass its operation's declared output types (the client's
-- services.check_output, applied to every 2xx answer).
local function assert_output_types(svcname, opname, out)
  local op = services.get(svcname).operations[opname]
  assert.is_table(op.output_types, opname)
  local fine, why = services.check_output(op, out)
  assert.is_true(fine, opname .. ": " .. tostring(why))
end

describe("EC2 preflight calls", function()
  it("build: prefix lists, their entries, flow logs, internet gateways, instances", function()
    assert.equal("Action=DescribeManagedPrefixLists&Version=2016-11-15&Filter.1.Name=prefix-list-name"
      .. "&Filter.1.Value.1=com.amazonaws.us-west-2.s3&MaxResults=100&PrefixListId.1=pl-1",
      build("ec2", "DescribeManagedPrefixLists", { PrefixListIds = { "pl-1" }, MaxResults = 100,
        Filters = { { Name = "prefix-list-name", Values = { "com.amazonaws.us-west-2.s3" } } } }).body)
    assert.equal("Action=GetManagedPrefixListEntries&Version=2016-11-15&NextToken=t%2B1&PrefixListId=pl-1"
      .. "&TargetVersion=4", build("ec2", "GetManagedPrefixListEntries",
        { PrefixListId = "pl-1", TargetVersion = 4, NextToken = "t+1" }).body)
    assert.equal("ec2 GetManagedPrefixListEntries: missing required parameter 'PrefixListId'",
      build_error("ec2", "GetManagedPrefixListEntries", {}))
    assert.equal("Action=DescribeFlowLogs&Version=2016-11-15&Filter.1.Name=resource-id&Filter.1.Value.1=vpc-1",
      build("ec2", "DescribeFlowLogs", { Filter = { { Name = "resource-id", Values = { "vpc-1" } } } }).body)
    assert.equal("Action=DescribeFlowLogs&Version=2016-11-15&FlowLogId.1=fl-1",
      build("ec2", "DescribeFlowLogs", { FlowLogIds = { "fl-1" } }).body)
    assert.equal("Action=DescribeInternetGateways&Version=2016-11-15&Filter.1.Name=attachment.vpc-id"
      .. "&Filter.1.Value.1=vpc-1", build("ec2", "DescribeInternetGateways",
        { Filters = { { Name = "attachment.vpc-id", Values = { "vpc-1" } } } }).body)
    assert.equal("Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1&InstanceId.2=i-2",
      build("ec2", "DescribeInstances", { InstanceIds = { "i-1", "i-2" } }).body)
  end)

  if not HAVE_CORE then
    pending("eksegress.core not built")
    return
  end

  it("parse: DescribeManagedPrefixLists, a page with a token", function()
    local out = assert(parse("ec2", "DescribeManagedPrefixLists",
      fixture("protocols/ec2-DescribeManagedPrefixLists-page.xml")))
    assert_output_types("ec2", "DescribeManagedPrefixLists", out)
    assert.equal(2, #out.prefixListSet)
    assert.equal("com.amazonaws.us-west-2.s3", out.prefixListSet[1].prefixListName)
    assert.same({}, out.prefixListSet[1].tagSet)
    assert.equal("10", out.prefixListSet[2].maxEntries)
    assert.same({ team = "platform" }, xmltable.tags(out.prefixListSet[2].tagSet))
    assert.equal("eyJ2IjoxfQ==", out.nextToken)
  end)

  it("parse: GetManagedPrefixListEntries, DescribeFlowLogs, DescribeInternetGateways", function()
    local out = assert(parse("ec2", "GetManagedPrefixListEntries",
      fixture("protocols/ec2-GetManagedPrefixListEntries-response.xml")))
    assert_output_types("ec2", "GetManagedPrefixListEntries", out)
    assert.same({ { cidr = "10.20.0.0/16", description = "office" }, { cidr = "192.0.2.0/24" } }, out.entrySet)
    out = assert(parse("ec2", "DescribeFlowLogs", fixture("protocols/ec2-DescribeFlowLogs-response.xml")))
    assert_output_types("ec2", "DescribeFlowLogs", out)
    assert.equal("vpc-0123456789abcdef0", out.flowLogSet[1].resourceId)
    assert.equal("ACTIVE", out.flowLogSet[1].flowLogStatus)
    assert.equal("", out.nextToken)
    out = assert(parse("ec2", "DescribeInternetGateways",
      fixture("protocols/ec2-DescribeInternetGateways-response.xml")))
    assert_output_types("ec2", "DescribeInternetGateways", out)
    assert.same({ { vpcId = "vpc-0123456789abcdef0", state = "available" } }, out.internetGatewaySet[1].attachmentSet)
    assert.same({}, out.internetGatewaySet[2].attachmentSet)
  end)

  it("parse: DescribeInstances, reservations holding instances", function()
    local out = assert(parse("ec2", "DescribeInstances", fixture("protocols/ec2-DescribeInstances-response.xml")))
    assert_output_types("ec2", "DescribeInstances", out)
    local i = out.reservationSet[1].instancesSet[1]
    assert.equal("i-0123456789abcdef0", i.instanceId)
    assert.equal("running", i.instanceState.name)
    assert.equal("false", i.sourceDestCheck)
    assert.equal("sg-0123456789abcdef0", i.groupSet[1].groupId)
    assert.same({}, out.reservationSet[1].groupSet)
  end)
end)

describe("IAM (query protocol, global endpoint)", function()
  local CT = { { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" } }

  it("build: POST / with Action, Version 2010-05-08 and .member lists", function()
    assert.same({ method = "POST", path = "/", query = "", headers = CT,
                  body = "Action=GetRole&Version=2010-05-08&RoleName=eks-cluster-role" },
                build("iam", "GetRole", { RoleName = "eks-cluster-role" }))
    assert.equal("Action=ListAttachedRolePolicies&Version=2010-05-08&Marker=m%2F1&MaxItems=100&RoleName=r",
      build("iam", "ListAttachedRolePolicies", { RoleName = "r", Marker = "m/1", MaxItems = 100 }).body)
    assert.equal("Action=GetPolicyVersion&Version=2010-05-08&PolicyArn=arn%3Aaws%3Aiam%3A%3A1%3Apolicy%2Fp"
      .. "&VersionId=v3", build("iam", "GetPolicyVersion",
        { PolicyArn = "arn:aws:iam::1:policy/p", VersionId = "v3" }).body)
    assert.equal("Action=SimulatePrincipalPolicy&Version=2010-05-08"
      .. "&ActionNames.member.1=eks%3AUpdateClusterConfig&ActionNames.member.2=eks%3ADescribeCluster"
      .. "&ContextEntries.member.1.ContextKeyName=aws%3ARequestedRegion"
      .. "&ContextEntries.member.1.ContextKeyType=string"
      .. "&ContextEntries.member.1.ContextKeyValues.member.1=us-west-2"
      .. "&PolicySourceArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr"
      .. "&ResourceArns.member.1=arn%3Aaws%3Aeks%3Aus-west-2%3A1%3Acluster%2Fprod",
      build("iam", "SimulatePrincipalPolicy", {
        PolicySourceArn = "arn:aws:iam::1:role/r",
        ActionNames = { "eks:UpdateClusterConfig", "eks:DescribeCluster" },
        ResourceArns = { "arn:aws:eks:us-west-2:1:cluster/prod" },
        ContextEntries = { { ContextKeyName = "aws:RequestedRegion", ContextKeyType = "string",
                             ContextKeyValues = { "us-west-2" } } },
      }).body)
    assert.equal("iam SimulatePrincipalPolicy: missing required parameter 'ActionNames'",
      build_error("iam", "SimulatePrincipalPolicy", { PolicySourceArn = "arn:aws:iam::1:role/r" }))
    assert.equal("iam GetRolePolicy: missing required parameter 'PolicyName'",
      build_error("iam", "GetRolePolicy", { RoleName = "r" }))
  end)

  it("endpoint: iam.amazonaws.com signed for us-east-1 from any aws region; per partition", function()
    local endpoints = require "eksegress.endpoints"
    local function resolve(region, fips)
      return assert(endpoints.default("iam", region, { use_fips_endpoint = fips }))
    end
    local e = resolve("eu-west-1")
    assert.same({ "https://iam.amazonaws.com", "us-east-1", "iam", "aws" },
                { e.url, e.signing_region, e.signing_name, e.partition })
    assert.equal("https://iam.amazonaws.com", resolve(nil).url)
    assert.equal("https://iam-fips.amazonaws.com", resolve("us-west-2", true).url)
    e = resolve("cn-northwest-1")
    assert.same({ "https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1" }, { e.url, e.signing_region })
    e = resolve("us-gov-east-1", true)
    assert.same({ "https://iam.us-gov.amazonaws.com", "us-gov-west-1" }, { e.url, e.signing_region })
    local _, err = endpoints.default("iam", "cn-north-1", { use_fips_endpoint = true })
    assert.equal("EndpointNotFound", err.code)
  end)

  if not HAVE_CORE then
    pending("eksegress.core not built")
    return
  end

  it("parse: GetRole", function()
    local out = assert(parse("iam", "GetRole", fixture("protocols/iam-GetRole-response.xml")))
    assert_output_types("iam", "GetRole", out)
    assert.equal("eks-cluster-role", out.Role.RoleName)
    assert.equal("arn:aws:iam::123456789012:role/eks-cluster-role", out.Role.Arn)
    assert.truthy(out.Role.AssumeRolePolicyDocument:find("^%%7B%%22Version"))
    assert.same({ { Key = "team", Value = "platform" } }, out.Role.Tags)
    assert.equal("us-west-2", out.Role.RoleLastUsed.Region)
    assert.equal("df37e965-9967-11e1-a4c3-270EXAMPLE04", out.ResponseMetadata.RequestId)
  end)

  it("parse: a truncated ListAttachedRolePolicies page, an empty ListRolePolicies", function()
    local out = assert(parse("iam", "ListAttachedRolePolicies",
      fixture("protocols/iam-ListAttachedRolePolicies-page.xml")))
    assert_output_types("iam", "ListAttachedRolePolicies", out)
    assert.equal(2, #out.AttachedPolicies)
    assert.equal("AmazonEKSClusterPolicy", out.AttachedPolicies[1].PolicyName)
    assert.equal("true", out.IsTruncated)
    assert.equal("AAIAAAAAAAAAUAAAAAoAAABJbW1vcnRhbA==", out.Marker)
    out = assert(parse("iam", "ListRolePolicies", fixture("protocols/iam-ListRolePolicies-empty.xml")))
    assert_output_types("iam", "ListRolePolicies", out)
    assert.same({}, out.PolicyNames)
    assert.equal("false", out.IsTruncated)
    assert.is_nil(out.Marker)
  end)

  it("parse: GetRolePolicy, GetPolicy, GetPolicyVersion", function()
    local out = assert(parse("iam", "GetRolePolicy", fixture("protocols/iam-GetRolePolicy-response.xml")))
    assert_output_types("iam", "GetRolePolicy", out)
    assert.equal("inline-egress", out.PolicyName)
    out = assert(parse("iam", "GetPolicy", fixture("protocols/iam-GetPolicy-response.xml")))
    assert_output_types("iam", "GetPolicy", out)
    assert.equal("v3", out.Policy.DefaultVersionId)
    out = assert(parse("iam", "GetPolicyVersion", fixture("protocols/iam-GetPolicyVersion-response.xml")))
    assert_output_types("iam", "GetPolicyVersion", out)
    assert.equal("true", out.PolicyVersion.IsDefaultVersion)
    assert.truthy(out.PolicyVersion.Document:find("eks%%3AUpdateClusterConfig"))
  end)

  it("parse: SimulatePrincipalPolicy, nested member lists and an entry map", function()
    local out = assert(parse("iam", "SimulatePrincipalPolicy",
      fixture("protocols/iam-SimulatePrincipalPolicy-response.xml")))
    assert_output_types("iam", "SimulatePrincipalPolicy", out)
    local deny, allow = out.EvaluationResults[1], out.EvaluationResults[2]
    assert.equal("explicitDeny", deny.EvalDecision)
    assert.equal("eks:UpdateClusterConfig", deny.EvalActionName)
    assert.equal("eks-egress-extra", deny.MatchedStatements[1].SourcePolicyId)
    assert.equal("3", deny.MatchedStatements[1].StartPosition.Line)
    assert.same({}, deny.MissingContextValues)
    assert.same({ ["IAM Policy"] = "explicitDeny", ["Resource Policy"] = "implicitDeny" }, deny.EvalDecisionDetails)
    assert.equal("true", deny.OrganizationsDecisionDetail.AllowedByOrganizations)
    assert.same({}, allow.MatchedStatements)
    assert.same({ "aws:RequestedRegion" }, allow.MissingContextValues)
    assert.same({}, allow.EvalDecisionDetails)
    assert.equal("false", out.IsTruncated)
  end)

  it("parse_error: an IAM error document", function()
    local info = query.parse_error(services.get("iam"), "GetRole", nil, { status = 404, body =
      '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
      .. "<Code>NoSuchEntity</Code><Message>The role with name x cannot be found.</Message></Error>"
      .. "<RequestId>4a3f0000-iam</RequestId></ErrorResponse>" })
    assert.same({ code = "NoSuchEntity", message = "The role with name x cannot be found.", type = "Sender",
                  request_id = "4a3f0000-iam" }, info)
  end)
end)
