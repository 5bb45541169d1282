-- The Lua client against the simulator over real HTTP (issue 5): every
-- operation, pagination, waiters, error classes, throttling, concurrency.
local cjson = require "cjson"
local eksegress = require "eksegress"
local simmod = require "helpers.sim"

describe("client against the simulator", function()
  local sim, client
  setup(function()
    sim = simmod.start("--time-scale 0.001 --seed 3")
    client = sim:client{ backoff_base = 0.01 }
  end)
  teardown(function()
    client:close()
    sim:stop()
  end)

  describe("EKS", function()
    it("ListClusters returns the region's clusters", function()
      local out, err = client:call("eks", "ListClusters", {})
      assert.is_nil(err)
      table.sort(out.clusters)
      assert.are.same({ "legacy-batch", "old-api", "prod-api", "prod-routed" }, out.clusters)
    end)

    it("DescribeCluster keeps fields as AWS names them, unknown ones included", function()
      local out = assert(client:call("eks", "DescribeCluster", { name = "prod-api" }))
      assert.are.equal("prod-api", out.cluster.name)
      assert.are.equal("AWS_MANAGED", out.cluster.resourcesVpcConfig.controlPlaneEgressMode)
      assert.is_string(out.cluster.arn)
      assert.is_table(out.cluster.resourcesVpcConfig.subnetIds)
      -- A field the bundled model does not describe still shows up.
      assert.is_not_nil(out.cluster.identity)
    end)

    it("DescribeCluster of a cluster without the field leaves it absent", function()
      local out = assert(client:call("eks", "DescribeCluster", { name = "old-api" }))
      assert.is_nil(out.cluster.resourcesVpcConfig.controlPlaneEgressMode)
    end)

    it("nodegroups, add-ons and identity providers", function()
      local ng = assert(client:call("eks", "ListNodegroups", { clusterName = "prod-api" }))
      assert.is_true(#ng.nodegroups >= 1)
      local d = assert(client:call("eks", "DescribeNodegroup",
        { clusterName = "prod-api", nodegroupName = ng.nodegroups[1] }))
      assert.are.equal(ng.nodegroups[1], d.nodegroup.nodegroupName)
      local ad = assert(client:call("eks", "ListAddons", { clusterName = "prod-api" }))
      assert.is_table(ad.addons)
      local idp = assert(client:call("eks", "ListIdentityProviderConfigs", { clusterName = "prod-api" }))
      assert.is_true(#idp.identityProviderConfigs >= 1)
      local one = idp.identityProviderConfigs[1]
      local dd = assert(client:call("eks", "DescribeIdentityProviderConfig",
        { clusterName = "prod-api", identityProviderConfig = { type = one.type, name = one.name } }))
      assert.is_string(dd.identityProviderConfig.oidc.issuerUrl)
    end)

    it("create, wait active, update logging, describe the update, delete, wait deleted", function()
      local d = assert(client:call("eks", "DescribeCluster", { name = "prod-api" }))
      local vpc = d.cluster.resourcesVpcConfig
      local created, err = client:call("eks", "CreateCluster", {
        name = "spec-new", roleArn = d.cluster.roleArn,
        resourcesVpcConfig = { subnetIds = vpc.subnetIds, securityGroupIds = vpc.securityGroupIds },
      })
      assert.is_nil(err)
      assert.are.equal("CREATING", created.cluster.status)
      local active = assert(client:wait("eks", "ClusterActive", { name = "spec-new" },
        { delay = 0.05, max_attempts = 100 }))
      assert.are.equal("ACTIVE", active.cluster.status)

      local upd = assert(client:call("eks", "UpdateClusterConfig", {
        name = "spec-new", logging = { clusterLogging = { { types = { "api" }, enabled = true } } },
      }))
      assert.are.equal("LoggingUpdate", upd.update.type)
      local ids = assert(client:call("eks", "ListUpdates", { name = "spec-new" }))
      assert.are.same({ upd.update.id }, ids.updateIds)
      local fin = assert(client:wait("eks", "UpdateFinished", { name = "spec-new", updateId = upd.update.id },
        { delay = 0.05, max_attempts = 100 }))
      assert.are.equal("Successful", fin.update.status)

      assert(client:call("eks", "DeleteCluster", { name = "spec-new" }))
      assert(client:wait("eks", "ClusterDeleted", { name = "spec-new" }, { delay = 0.05, max_attempts = 100 }))
      local _, gone = client:call("eks", "DescribeCluster", { name = "spec-new" })
      assert.are.equal("ResourceNotFoundException", gone.code)
    end)

    it("a waiter stops on a failure state", function()
      local _, err = client:wait("eks", "ClusterActive", { name = "dev-failed" },
        { delay = 0.01, max_attempts = 3, credentials = {
          access_key_id = "AKIAEKSSIM0000000002", secret_access_key = "ekssim/SecondAccount/Secret+EXAMPLEKEY02" } })
      assert.are.equal("WaiterFailure", err.code)
    end)

    it("a waiter gives up after max attempts", function()
      -- dev-busy has an update stuck in progress: it never becomes ACTIVE.
      local _, err = client:wait("eks", "ClusterActive", { name = "dev-busy" }, { delay = 0.01, max_attempts = 2,
        credentials = { access_key_id = "AKIAEKSSIM0000000002",
                        secret_access_key = "ekssim/SecondAccount/Secret+EXAMPLEKEY02" } })
      assert.are.equal("WaiterTimeout", err.code)
    end)
  end)

  describe("pagination", function()
    local big
    setup(function()
      big = simmod.start("--time-scale 0 --generate 'clusters=45,accounts=1,regions=1,seed=4'")
    end)
    teardown(function() big:stop() end)

    it("iterates every page lazily across page boundaries", function()
      local c = big:client()
      local pages, names = 0, {}
      for page, err in c:paginate("eks", "ListClusters", { maxResults = 10 }) do
        assert.is_nil(err)
        pages = pages + 1
        for _, n in ipairs(page.clusters) do names[#names + 1] = n end
      end
      assert.are.equal(5, pages)
      assert.are.equal(45, #names)
      local seen = {}
      for _, n in ipairs(names) do
        assert.is_nil(seen[n], "cluster listed twice: " .. n)
        seen[n] = true
      end
      c:close()
    end)

    it("stops after the first page when the caller breaks", function()
      local c = big:client()
      local before = math.tointeger(big:admin("GET", "/_sim/log").last_seq)
      -- luacheck: push ignore 512 (breaking out after the first page is what is tested)
      for _ in c:paginate("eks", "ListClusters", { maxResults = 10 }) do break end
      -- luacheck: pop
      local after = big:admin("GET", "/_sim/log?since=" .. before)
      assert.are.equal(1, #after.requests)
      c:close()
    end)

    it("collects an EC2 paginated list", function()
      local c = big:client()
      local all = assert(c:collect("ec2", "DescribeSubnets", { MaxResults = 5 }))
      local one = assert(c:call("ec2", "DescribeSubnets", {}))
      assert.are.equal(#one.subnetSet, #all)
      assert.is_true(#all > 5)
      c:close()
    end)
  end)

  describe("EC2, STS, Organizations", function()
    it("EC2 preflight calls decode into tables with wire names", function()
      local d = assert(client:call("eks", "DescribeCluster", { name = "prod-api" }))
      local vpc_id = d.cluster.resourcesVpcConfig.vpcId
      local subnets = assert(client:call("ec2", "DescribeSubnets",
        { Filters = { { Name = "vpc-id", Values = { vpc_id } } } }))
      assert.is_true(#subnets.subnetSet >= 2)
      assert.are.equal(vpc_id, subnets.subnetSet[1].vpcId)
      local calls = {
        { "DescribeRouteTables", { Filters = { { Name = "vpc-id", Values = { vpc_id } } } }, "routeTableSet" },
        { "DescribeNatGateways", {}, "natGatewaySet" },
        { "DescribeNetworkAcls", { Filters = { { Name = "vpc-id", Values = { vpc_id } } } }, "networkAclSet" },
        { "DescribeSecurityGroups", { Filters = { { Name = "vpc-id", Values = { vpc_id } } } }, "securityGroupInfo" },
        { "DescribeSecurityGroupRules", {}, "securityGroupRuleSet" },
        { "DescribeVpcs", { VpcIds = { vpc_id } }, "vpcSet" },
        { "DescribeDhcpOptions", {}, "dhcpOptionsSet" },
        { "DescribeNetworkInterfaces", {}, "networkInterfaceSet" },
        { "DescribeVpcEndpoints", {}, "vpcEndpointSet" },
        { "DescribeEgressOnlyInternetGateways", {}, "egressOnlyInternetGatewaySet" },
        { "DescribeTransitGateways", {}, "transitGatewaySet" },
        { "DescribeRegions", {}, "regionInfo" },
        { "DescribeTransitGatewayVpcAttachments", {}, "transitGatewayVpcAttachments" },
      }
      for _, c in ipairs(calls) do
        local out, err = client:call("ec2", c[1], c[2])
        assert.is_nil(err, c[1] .. ": " .. tostring(err))
        assert.is_table(out[c[3]], c[1] .. " has " .. c[3])
      end
      local attr = assert(client:call("ec2", "DescribeVpcAttribute",
        { VpcId = vpc_id, Attribute = "enableDnsSupport" }))
      assert.are.equal("true", attr.enableDnsSupport.value)
    end)

    it("STS GetCallerIdentity and AssumeRole", function()
      local who = assert(client:whoami())
      assert.are.equal("111122223333", who.Account)
      local ar = assert(client:call("sts", "AssumeRole", {
        RoleArn = "arn:aws:iam::111122223333:role/EksReadOnly", RoleSessionName = "spec" }))
      assert.matches("^ASIA", ar.Credentials.AccessKeyId)
      assert.is_string(ar.Credentials.SessionToken)
    end)

    it("Organizations ListAccounts pages", function()
      local all = assert(client:collect("organizations", "ListAccounts", { MaxResults = 1 }))
      assert.are.equal(3, #all)
    end)
  end)

  describe("errors", function()
    it("carry the AWS code, message, HTTP status and request id", function()
      local out, err = client:call("eks", "DescribeCluster", { name = "no-such-cluster" })
      assert.is_nil(out)
      assert.are.equal("ResourceNotFoundException", err.code)
      assert.are.equal(404, err.status)
      assert.is_string(err.request_id)
      assert.is_false(err.retryable)
      assert.are.equal("DescribeCluster", err.operation)
      assert.matches("ResourceNotFoundException: .*%(HTTP 404%)", tostring(err))
    end)

    it("EC2 XML errors", function()
      local _, err = client:call("ec2", "DescribeSubnets", { SubnetIds = { "subnet-0000000000000dead" } })
      assert.are.equal("InvalidSubnetID.NotFound", err.code)
      assert.are.equal(400, err.status)
      assert.is_string(err.request_id)
    end)

    it("an unknown access key", function()
      local c = sim:client{ env_extra = { AWS_ACCESS_KEY_ID = "AKIANOTKNOWN00000000" } }
      local _, err = c:call("sts", "GetCallerIdentity", {})
      assert.are.equal("InvalidClientTokenId", err.code)
      assert.are.equal(403, err.status)
      c:close()
    end)

    it("a wrong secret", function()
      local c = sim:client{ env_extra = { AWS_SECRET_ACCESS_KEY = "not-the-secret" } }
      local _, err = c:call("eks", "ListClusters", {})
      assert.are.equal("InvalidSignatureException", err.code)
      assert.is_nil(tostring(err):find("not-the-secret", 1, true))
      c:close()
    end)

    it("access denied by an SCP-denied region", function()
      local _, err = client:call("eks", "ListClusters", {}, { region = "sa-east-1" })
      assert.are.equal("AccessDeniedException", err.code)
      assert.are.equal(403, err.status)
    end)

    it("paginate yields (false, err) instead of ending silently on an error", function()
      local seen = {}
      for page, err in client:paginate("eks", "ListClusters", {}, { region = "sa-east-1" }) do
        seen[#seen + 1] = { page = page, err = err }
      end
      assert.are.equal(1, #seen)
      assert.is_false(seen[1].page)
      assert.are.equal("AccessDeniedException", seen[1].err.code)
      local all, err = client:collect("eks", "ListClusters", {}, { region = "sa-east-1" })
      assert.is_nil(all)
      assert.are.equal("AccessDeniedException", err.code)
    end)

    it("a refused connection is a structured, retryable error", function()
      local c = sim:client{ env_extra = { AWS_ENDPOINT_URL = "http://127.0.0.1:1" }, max_attempts = 1 }
      local _, err = c:call("eks", "ListClusters", {}, { max_attempts = 1 })
      assert.are.equal("ConnectionError", err.code)
      assert.is_true(err.retryable)
      c:close()
    end)

    it("misuse raises", function()
      assert.has_error(function() client:call("eks", "NoSuchOperation", {}) end)
      assert.has_error(function() client:call("nosuchservice", "X", {}) end)
      assert.has_error(function() client:call("eks", "DescribeCluster", {}) end)
      assert.has_error(function() client:call("eks", "DescribeCluster", "prod") end)
    end)

    it("a non-loopback plain-http endpoint is refused", function()
      local ok, c = pcall(sim.client, sim, { env_extra = { AWS_ENDPOINT_URL = "http://example.com" } })
      local err
      if ok then
        err = select(2, c:call("eks", "ListClusters", {}))
      else
        err = { code = tostring(c) }
      end
      assert.matches("Insecure", tostring(err.code))
    end)
  end)

  describe("throttling and transient faults", function()
    it("a throttling storm is retried to success or reported as throttling", function()
      sim:admin("POST", "/_sim/faults", { reset = true, seed = 11, throttle_rate = 0.5 })
      local ok_count, throttled = 0, 0
      for _ = 1, 20 do
        local out, err = client:call("eks", "ListClusters", {})
        if out then
          ok_count = ok_count + 1
        else
          assert.are.equal("ThrottlingException", err.code)
          assert.is_true(err.throttling)
          throttled = throttled + 1
        end
      end
      sim:admin("POST", "/_sim/faults", { reset = true })
      assert.are.equal(20, ok_count + throttled)
      assert.is_true(ok_count >= 10)
    end)

    it("5xx and dropped connections are retried", function()
      sim:admin("POST", "/_sim/faults",
        { reset = true, seed = 5, error_rate = 0.3, drop_rate = 0.2, drop_when = "before" })
      local attempts = 0
      local results, errs = eksegress.parallel({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, function()
        local out, err, meta = client:call("eks", "DescribeCluster", { name = "prod-api" })
        attempts = attempts + (meta and meta.attempts or 0)
        return out, err
      end, { concurrency = 5 })
      sim:admin("POST", "/_sim/faults", { reset = true })
      local n = 0
      for i = 1, 10 do
        assert.is_true(results[i] ~= nil or errs[i] ~= nil, "item " .. i .. " lost")
        if results[i] then n = n + 1 end
        if errs[i] then assert.is_true(errs[i].retryable, tostring(errs[i])) end
      end
      -- About 44% of attempts fail, so retries happened; with three attempts
      -- each call fails only ~8% of the time (the bound leaves room for chance).
      assert.is_true(attempts > 10, "retries were made")
      assert.is_true(n >= 5, "most calls succeed after retries, got " .. n)
    end)
  end)

  describe("concurrency", function()
    it("describes every cluster in four regions concurrently", function()
      local regions = { "us-east-1", "us-west-2", "eu-west-1", "af-south-1" }
      local lists = eksegress.parallel(regions, function(region)
        return client:call("eks", "ListClusters", {}, { region = region })
      end, { concurrency = 4 })
      local jobs = {}
      for i, region in ipairs(regions) do
        for _, name in ipairs(lists[i].clusters) do jobs[#jobs + 1] = { region = region, name = name } end
      end
      local described, errs = eksegress.parallel(jobs, function(j)
        return client:call("eks", "DescribeCluster", { name = j.name }, { region = j.region })
      end, { concurrency = 8 })
      assert.are.equal(10, #jobs)
      for i = 1, #jobs do
        assert.is_nil(errs[i])
        assert.are.equal(jobs[i].name, described[i].cluster.name)
      end
    end)

    it("one failing item never loses the others", function()
      local results, errs = eksegress.parallel({ "prod-api", "missing", "old-api" }, function(name)
        if name == "old-api" then error("boom") end
        return client:call("eks", "DescribeCluster", { name = name })
      end)
      assert.are.equal("prod-api", results[1].cluster.name)
      assert.are.equal("ResourceNotFoundException", errs[2].code)
      assert.are.equal("TaskError", errs[3].code)
      assert.matches("boom", errs[3].message)
    end)

    it("a client-side rate limit still completes every call", function()
      local c = sim:client{ rate_limit = 50, rate_burst = 5 }
      local results = eksegress.parallel({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, function()
        return c:call("eks", "ListClusters", {})
      end, { concurrency = 10 })
      for i = 1, 10 do assert.is_table(results[i]) end
      c:close()
    end)

    it("raw responses never carry the secret", function()
      local out = assert(client:call("sts", "GetCallerIdentity", {}))
      assert.is_nil(cjson.encode(out):find(simmod.SECRET_KEY, 1, true))
      assert.is_nil(tostring(client):find(simmod.SECRET_KEY, 1, true))
    end)
  end)
end)
