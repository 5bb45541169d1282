-- The CLI as a process, given bad input it had no spec for yet (issue 16,
-- section 3; docs/RELIABILITY.md lists every category and the spec that
-- covers it): global flags and regions, broken config and credentials
-- files, bad settings in the environment, invalid cluster names, and plans
-- and audit reports crafted with a valid id but impossible targets; and
-- responses that are not what AWS sends (a proxy's HTML page, an empty, truncated,
-- wrongly typed, out-of-range or hostile body, a dropped connection).
--
-- Every case: the documented exit code (cli/exit.lua: 64 for a bad flag,
-- argument or input file; 2 when the targets cannot be read, as for a
-- missing profile), one line on stderr that starts "eksegress: ", no Lua
-- traceback or source location, nothing on stdout, and nothing sent (the
-- simulator's log does not move).
local cjson = require "cjson"
local canonical = require "eksegress.canonical"
local document = require "eksegress.workflows.migrate.document"
local cli = require "helpers.cli"
local mh = require "helpers.migrate"
local scripted = require "helpers.scripted"

local lines = mh.lines

describe("eksegress given bad input (process)", function()
  local sim, fleet, dir, plan_text, cluster, region

  setup(function()
    sim, fleet = mh.start_fleet{ generate = "clusters=2,accounts=1,regions=1,seed=3,defects=0,routed=0,isolated=0,"
      .. "nomode=0", args = "--time-scale 0.001" }
    dir = mh.tmpdir()
    cluster = fleet.accounts[1].clusters[1]
    region = cluster.region
    local path = dir .. "/good.plan.json"
    local r = mh.cli(sim, { "plan", "--region", region, "--out", path, "--cluster", cluster.name })
    assert(r.status == 0, r.stderr)
    plan_text = mh.read(path)
  end)
  teardown(function() mh.stop(sim, dir) end)

  local n = 0
  local function file(text)
    n = n + 1
    local p = ("%s/case%d"):format(dir, n)
    mh.write(p, text)
    return p
  end

  -- Run the CLI; it must exit with `status` and say `want` (a plain
  -- substring) in its one line, having sent nothing. o.env: extra variables.
  local function refused(status, args, want, o)
    o = o or {}
    local seq = mh.log(sim).last_seq
    local r = mh.cli(sim, args, o)
    local ls = lines(r.stderr)
    assert.are.equal(status, r.status, r.stderr)
    assert.are.equal(1, #ls, r.stderr)
    assert.is_truthy(ls[1]:find("^eksegress: "), ls[1])
    assert.is_truthy(ls[1]:find(want, 1, true), ("%q lacks %q"):format(ls[1], want))
    for _, bad in ipairs{ "stack traceback", "lua5.4:", "internal error" } do
      assert.is_nil(r.stderr:find(bad, 1, true), bad .. " in " .. r.stderr)
    end
    assert.is_nil(ls[1]:find("%.lua:%d+"), "a Lua source location: " .. ls[1])
    -- Exit 2 is a run that could not read its targets: preflight still
    -- prints its document, with the error under "errors".
    if not o.report then assert.are.equal("", r.stdout) end
    assert.are.equal(seq, mh.log(sim).last_seq, "nothing was sent")
    return ls[1]
  end

  describe("global flags and regions", function()
    for _, case in ipairs{
      { { "--region", "us east 1", "audit" }, '--region: "us east 1" is not a region name' },
      { { "--region", "../x", "preflight", "--cluster", "a" }, '--region: "../x" is not a region name' },
      { { "--region", "", "audit" }, '--region: "" is not a region name' },
      { { "token", "--cluster", "a", "--region", "a.b" }, '--region: "a.b" is not a region name' },
      { { "reach", "--cluster", "a", "--region", "x;y" }, '--region: "x;y" is not a region name' },
      { { "create", "--region", "us-east-1-", "--name", "x", "--role-arn", "arn:aws:iam::111122223333:role/r",
          "--subnets", "subnet-1,subnet-2" }, '--region: "us-east-1-" is not a region name' },
    } do
      it("regression: an invalid --region is a usage error, not an internal error: " .. case[2], function()
        refused(64, case[1], case[2])
      end)
    end

    for _, case in ipairs{
      { { "nosuchcommand" }, "unknown command 'nosuchcommand'" },
      { { "audit", "--nope" }, "unknown option '--nope'" },
      { { "--output", "pdf", "audit" }, '--output must be one of table, json, csv, markdown for audit (got "pdf")' },
      { { "--cli-read-timeout=-1", "audit" }, "--cli-read-timeout must be a number of seconds from 0 to 3600" },
      { { "--cli-connect-timeout", "soon", "audit" }, "--cli-connect-timeout must be a number of seconds" },
      { { "--max-connections", "0", "audit" }, "--max-connections must be an integer from 1 to 100000" },
      { { "--profile", "a", "--profile", "b", "preflight", "--cluster", "x" }, "--profile may be given once" },
      { { "--export", "report.exe", "audit" }, "--export report.exe: audit writes" },
      { { "audit", "--regions", "us-east-1,,us-west-2" }, "--regions has an empty item" },
      { { "audit", "--regions", "us-east-1,../x" }, '--regions: "../x" is not a region name' },
      { { "audit", "--concurrency=-3" }, "--concurrency" },
      { { "audit", "--require", "ROUTED" }, "--require" },
      { { "audit", "--organization", "--role-name", "r", "--accounts", "12" }, '"12" is not a 12-digit account id' },
    } do
      it("usage error (exit 64): " .. table.concat(case[1], " "), function()
        refused(64, case[1], case[2])
      end)
    end
  end)

  describe("invalid cluster names", function()
    for _, name in ipairs{ "a b", "../etc", "-lead", ("x"):rep(101), "名前", "a/b", "" } do
      it(("plan --cluster %q: exit 64"):format(name), function()
        refused(64, { "plan", "--region", region, "--out", dir .. "/x.json", "--cluster=" .. name },
          "is not a valid EKS cluster name")
      end)
    end
  end)

  describe("config and credentials files", function()
    local function env(config, credentials, extra)
      local t = { AWS_CONFIG_FILE = config or "/nonexistent/config",
                  AWS_SHARED_CREDENTIALS_FILE = credentials or "/nonexistent/credentials" }
      for k, v in pairs(extra or {}) do t[k] = v end
      return { env = t }
    end
    local args = { "preflight", "--cluster", "a" }

    it("a config file without a section: exit 2, the file and line named", function()
      local p = file("region = us-east-1\n[default]\n")
      refused(2, args, p .. ":1: Expected a profile definition (ConfigParseError)", env(p))
    end)
    it("a section line without its ']': exit 2, the line named", function()
      local p = file("[default]\nregion = us-east-1\n\n[profile dev\nregion = us-west-2\n")
      refused(2, args, p .. ":4: Profile definition must end with ']'", env(p))
    end)
    it("a credentials file with a property outside any section: exit 2", function()
      local p = file("aws_access_key_id = AKIDEXAMPLE\n")
      refused(2, args, p .. ":1: Expected a profile definition", env(nil, p))
    end)
    it("a credentials file with a continuation before any property: exit 2", function()
      local p = file("[default]\n  aws_secret_access_key = x\n")
      refused(2, args, p .. ":2: Expected a property definition, found continuation", env(nil, p))
    end)
    it("binary garbage as the config file: exit 2, one line", function()
      local t = {}
      for i = 1, 4096 do t[i] = string.char((i * 7919) % 256) end
      local p = file(table.concat(t))
      refused(2, args, "ConfigParseError", env(p))
    end)
    it("a config path that is a directory or a device: exit 2, not read", function()
      refused(2, args, "is a directory, not a regular file (ConfigReadError)", env(dir))
      refused(2, args, "/dev/zero is a character device, not a regular file (ConfigReadError)", env("/dev/zero"))
    end)
    it("a config file beyond 16 MiB: exit 2, refused by size", function()
      local p = file("[default]\n# " .. ("x"):rep(17 * 1024 * 1024) .. "\n")
      refused(2, args, "ConfigReadError", env(p))
    end)
    it("a profile that does not exist (--profile and AWS_PROFILE): exit 2, saying what to check", function()
      local p = file("[default]\nregion = us-east-1\n")
      refused(2, { "--profile", "nosuch", "preflight", "--cluster", "a" }, "(ProfileNotFound)", env(p))
      refused(2, args, "(ProfileNotFound)", env(p, nil, { AWS_PROFILE = "nosuch" }))
    end)
    it("an invalid region in the profile or in AWS_REGION: exit 2, naming where it came from", function()
      local p = file("[default]\nregion = us east 1\n")
      refused(2, args, 'invalid region "us east 1" (from profile default region)',
        env(p, nil, { AWS_REGION = false }))
      refused(2, args, 'invalid region "../x" (from AWS_REGION)', env(nil, nil, { AWS_REGION = "../x" }))
    end)
    it("bad settings in the environment or the profile: exit 2, naming the setting", function()
      refused(2, args, 'invalid AWS_MAX_ATTEMPTS "x"', env(nil, nil, { AWS_MAX_ATTEMPTS = "x" }))
      local p = file("[default]\nretry_mode = sometimes\n")
      refused(2, args, "retry_mode", env(p))
    end)
    it("a profile whose credentials are incomplete: exit 2, and the half it has is not shown", function()
      local p = file("[default]\naws_secret_access_key = CANARYsecretWithoutAnId0123456789\n")
      local o = env(nil, p, { AWS_ACCESS_KEY_ID = false, AWS_SECRET_ACCESS_KEY = false })
      o.report = true
      local line = refused(2, args, "has aws_secret_access_key but not aws_access_key_id (PartialCredentials)", o)
      assert.is_nil(line:find("CANARY", 1, true))
    end)
  end)

  describe("plans and audit reports crafted with a valid id", function()
    -- The plan as a user with the tool's code could rewrite it: the edit,
    -- then the key, the fingerprint and the id recomputed.
    local function crafted(fn)
      local p = cjson.decode(plan_text)
      fn(p.clusters[1])
      p.clusters[1].key = document.key(p.clusters[1])
      document.seal(p)
      return file(canonical.encode(p))
    end
    local function apply(path)
      -- One cluster: --confirm takes its name.
      local p = cjson.decode(mh.read(path))
      return { "apply", path, "--confirm", p.clusters[1].name, "--journal", path .. ".journal" }
    end

    it("regression: a plan entry whose region is not a region name is refused, not an internal error", function()
      refused(64, apply(crafted(function(c) c.region = "../x" end)), 'region "../x" is not a region name')
    end)
    it("a plan entry whose name is not a cluster name is refused before anything is sent, naming it", function()
      refused(64, apply(crafted(function(c)
        c.name = "a/b"
        c.request.path = "/clusters/a%2Fb/update-config"
      end)), 'name "a/b" is not an EKS cluster name')
    end)
    it("regression: a plan entry whose account is not a 12-digit id is refused", function()
      refused(64, apply(crafted(function(c) c.account = "12" end)), 'account "12" is not a 12-digit account id')
    end)
    it("regression: an audit report whose cluster has an invalid region is a usage error, not a plan with a "
       .. "Lua error in it", function()
      local report = {
        schema = "eksegress/audit/1",
        clusters = { { account = cluster.account or fleet.accounts[1].id, region = "../x", name = cluster.name,
                       egress_mode = "AWS_MANAGED" } },
      }
      refused(64, { "plan", "--from-report", file(cjson.encode(report)), "--out", dir .. "/r.json" },
        "is not a region name")
    end)
  end)

  describe("responses that are not what AWS sends", function()
    -- Exit 2 (the targets could not be read), every stderr line one of ours,
    -- no traceback or internal error, the reason in the line.
    local function unreadable(r, want)
      assert.are.equal(2, r.status, r.stderr)
      local ls = lines(r.stderr)
      assert.is_true(#ls >= 1)
      for _, l in ipairs(ls) do
        assert.is_truthy(l:find("^eksegress: "), l)
        assert.is_nil(l:find("%.lua:%d+"), "a Lua source location: " .. l)
      end
      for _, bad in ipairs{ "stack traceback", "lua5.4:", "internal error" } do
        assert.is_nil(r.stderr:find(bad, 1, true), bad .. " in " .. r.stderr)
      end
      assert.is_truthy(r.stderr:find(want, 1, true), ("%q lacks %q"):format(r.stderr, want))
    end

    local srv
    setup(function() srv = scripted.start() end)
    teardown(function() if srv then srv:stop() end end)

    -- preflight reads EKS (rest-json) first; audit reads STS (XML) first.
    for _, case in ipairs{
      { 200, "<html><body>Welcome to the proxy</body></html>", "malformed JSON response",
        "unexpected root element in response" },
      { 502, "<html><body>Bad gateway</body></html>", "HTTP status 502", "HTTP status 502" },
      { 200, "", "empty response body", "empty response body" },
      { 200, '{"cluster":', "unexpected end", "XML parse error" },
      { 200, '{"cluster":"prod"}', "member 'cluster' must be an object", "XML parse error" },
      { 200, '{"cluster":{"name":"c","resourcesVpcConfig":"x"}}',
        "member 'cluster.resourcesVpcConfig' must be an object", "XML parse error" },
      { 200, '{"cluster":{"name":"c","createdAt":1e999}}', "a number is beyond the range of a double",
        "XML parse error" },
      { 200, ("["):rep(100000), "JSON nested deeper than 64 levels", "XML parse error" },
      { 200, "<!DOCTYPE x [<!ENTITY a 'aaaa'>]><GetCallerIdentityResponse>&a;</GetCallerIdentityResponse>",
        "malformed JSON response", "DOCTYPE" },
    } do
      it(("HTTP %d %q: exit 2, one line naming what was wrong"):format(case[1], case[2]:sub(1, 40)), function()
        srv:script{ { path = "*", status = case[1], body = case[2] } }
        unreadable(cli.run({ url = srv.url }, { "preflight", "--cluster", "c" }, { AWS_MAX_ATTEMPTS = "1" }),
          case[3])
        unreadable(cli.run({ url = srv.url }, { "audit" }, { AWS_MAX_ATTEMPTS = "1" }), case[4])
      end)
    end

    it("every response truncated (Content-Length larger than the body) or dropped: exit 2, one line", function()
      for _, fault in ipairs{ "truncate_rate", "drop_rate" } do
        sim:admin("POST", "/_sim/faults", { reset = true, seed = 86, [fault] = 1 })
        local r = mh.cli(sim, { "preflight", "--region", region, "--cluster", cluster.name },
          { env = { AWS_MAX_ATTEMPTS = "2" } })
        sim:admin("POST", "/_sim/faults", { reset = true })
        unreadable(r, "cluster " .. cluster.name)
      end
    end)
  end)
end)
