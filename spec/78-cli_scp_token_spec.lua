-- The CLI as a process: `eksegress scp` (the policy, what it blocks, the
-- --explain matrix, exit codes, the JSON validated against
-- docs/schemas/scp.schema.json) and `eksegress token` (the ExecCredential,
-- KUBERNETES_EXEC_INFO, --role-arn, and a kubeconfig exec stanza run the way
-- kubectl runs it: kubectl itself is not installed here, so
-- spec/helpers/kubectl_exec.py does what client-go does).
local cjson = require "cjson"
local cli = require "helpers.cli"
local schema = require "helpers.schema"
local simmod = require "helpers.sim"
local scp = require "eksegress.workflows.scp"
local base64 = require "eksegress.base64"

local lines = cli.lines

describe("eksegress scp", function()
  it("writes the safe policy on stdout and what it blocks on stderr", function()
    local r = cli.run(nil, { "scp" })
    assert.are.equal(0, r.status, r.stderr)
    local gen = assert(scp.generate{})
    assert.are.same(gen.policy, cjson.decode(r.stdout))
    assert.are.equal(scp.to_json(gen.policy, { indent = 2 }) .. "\n", r.stdout)
    local err = lines(r.stderr)
    assert.are.equal(#gen.blocks, #err)
    for i, b in ipairs(gen.blocks) do assert.are.equal("eksegress: scp: " .. b, err[i]) end
    assert.matches("Allows UpdateClusterConfig requests that do not carry the key", r.stderr, 1, true)
  end)

  it("--variant documented is AWS's sample, and says it blocks unrelated updates", function()
    local r = cli.run(nil, { "scp", "--variant", "documented" })
    assert.are.equal(0, r.status)
    local p = cjson.decode(r.stdout)
    assert.are.equal("RequireCustomerRoutedControlPlane", p.Statement[1].Sid)
    assert.are.same({ ["eks:controlPlaneEgressMode"] = "CUSTOMER_ROUTED" }, p.Statement[1].Condition.StringNotEquals)
    assert.matches("denied too", r.stderr, 1, true)
  end)

  it("--require AWS_MANAGED and --exempt-role-arn (repeatable) shape the policy", function()
    local r = cli.run(nil, { "scp", "--require", "AWS_MANAGED", "--exempt-role-arn",
      "arn:aws:iam::*:role/BreakGlass", "--exempt-role-arn", "arn:aws:iam::111122223333:role/Platform" })
    assert.are.equal(0, r.status, r.stderr)
    local p = cjson.decode(r.stdout)
    assert.are.equal(1, #p.Statement)
    assert.are.same({ "arn:aws:iam::*:role/BreakGlass", "arn:aws:iam::111122223333:role/Platform" },
      p.Statement[1].Condition.ArnNotLike["aws:PrincipalArn"])
    assert.matches("Exempts principals", r.stderr, 1, true)
  end)

  it("--explain --output json: the matrix of both variants, as the evaluator decides, valid against the schema",
    function()
    for _, variant in ipairs{ "safe", "documented" } do
      local r = cli.run(nil, { "scp", "--variant", variant, "--exempt-role-arn", "arn:aws:iam::*:role/BreakGlass",
                               "--explain", "--output", "json" })
      assert.are.equal(0, r.status, r.stderr)
      schema.assert_valid("docs/schemas/scp.schema.json", r.stdout)
      local doc = cjson.decode(r.stdout)
      assert.are.equal("eksegress/scp/1", doc.schema)
      local gen = assert(scp.generate{ variant = variant, exempt_role_arns = { "arn:aws:iam::*:role/BreakGlass" } })
      local rows = assert(scp.matrix(gen.policy, { exempt_role_arns = gen.exempt_role_arns }))
      assert.are.equal(#rows, #doc.matrix)
      for i, row in ipairs(rows) do
        assert.are.equal(row.id, doc.matrix[i].id)
        assert.are.equal(row.decision, doc.matrix[i].decision, variant .. " " .. row.id)
        assert.are.equal(tostring(row.statement), doc.matrix[i].statement)
      end
      local by = {}
      for _, m in ipairs(doc.matrix) do by[m.id] = m end
      assert.are.equal("deny", by.create_without_key.decision)
      assert.are.equal("allow", by.update_mode_customer_routed.decision)
      assert.are.equal("deny", by.update_mode_aws_managed.decision)
      assert.are.equal("allow", by.exempt_update_mode_aws_managed.decision)
      assert.are.equal(variant == "safe" and "allow" or "deny", by.update_logging.decision)
      assert.is_nil(by.update_logging.egress_mode)
      assert.are.equal("CUSTOMER_ISOLATED", by.create_customer_isolated.egress_mode)
    end
  end)

  it("--explain --output table: the policy, what it blocks, and one row per request with the deciding statement",
    function()
    local r = cli.run(nil, { "scp", "--explain", "--output", "table" }, { NO_COLOR = "1" })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("", r.stderr)   -- the table says what the policy blocks
    assert.matches('"Sid": "DenyCreateClusterWithoutCustomerRouted"', r.stdout, 1, true)
    assert.matches("REQUEST%s+DECISION%s+DECIDED BY%s+WHY", r.stdout)
    assert.matches("UpdateClusterConfig changing logging %(no egress key%)%s+allowed%s+FullAWSAccess", r.stdout)
    assert.matches("CreateCluster without controlPlaneEgressMode.-denied%s+DenyCreateClusterWithoutCustomerRouted",
      r.stdout)
  end)

  it("--out writes the policy to a file (whole or not at all); stdout then carries only the explanation", function()
    local path = os.tmpname()
    local r = cli.run(nil, { "scp", "--out", path })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("", r.stdout)
    local f = assert(io.open(path, "rb"))
    local text = f:read("a")
    f:close()
    assert.are.same(assert(scp.generate{}).policy, cjson.decode(text))
    assert.matches("wrote " .. path, r.stderr, 1, true)
    r = cli.run(nil, { "scp", "--out", path, "--explain", "--output", "json" })
    assert.are.equal(0, r.status)
    assert.are.equal("eksegress/scp/1", cjson.decode(r.stdout).schema)
    os.remove(path)
    r = cli.run(nil, { "scp", "--out", "/nonexistent/dir/scp.json" })
    assert.are.equal(2, r.status)
    assert.are.equal(1, #lines(r.stderr))
    assert.matches("^eksegress: scp: ", r.stderr)
  end)

  it("bad input is a usage error (exit 64) in one line, nothing on stdout", function()
    local long = {}
    for i = 1, 60 do long[#long + 1] = "--exempt-role-arn" long[#long + 1] =
      ("arn:aws:iam::111122223333:role/break-glass-role-with-a-long-name-%03d"):format(i) end
    table.insert(long, 1, "scp")
    for _, args in ipairs{
      { "scp", "--exempt-role-arn", "not-an-arn" },
      { "scp", "--exempt-role-arn", "arn:aws:iam::111122223333:user/alice" },
      { "scp", "--variant", "strict" },
      { "scp", "--require", "CUSTOMER_ISOLATED" },
      { "scp", "--variant", "documented", "--require", "AWS_MANAGED" },
      { "scp", "--explain", "--output", "csv" },
      long,
    } do
      local r = cli.run(nil, args)
      assert.are.equal(64, r.status, table.concat(args, " ") .. ": " .. r.stderr)
      assert.are.equal("", r.stdout)
      assert.are.equal(1, #lines(r.stderr), r.stderr)
      assert.matches("usage", r.stderr)
    end
    local r = cli.run(nil, long)
    assert.matches("over the SCP quota of 5120", r.stderr, 1, true)
  end)

  it("--help shows the options and examples", function()
    local r = cli.run(nil, { "scp", "--help" })
    assert.are.equal(0, r.status)
    for _, s in ipairs{ "--require", "--variant", "--exempt-role-arn", "--explain", "--out",
                        "eksegress scp > scp.json" } do
      assert.matches(s, r.stdout, 1, true)
    end
  end)
end)

describe("eksegress token", function()
  local sim, k8s_info
  setup(function()
    sim = simmod.start("--fleet spec/fixtures/reach/fleet.json --time-scale 0")
    k8s_info = sim:admin("GET", "/_sim/k8s")
  end)
  teardown(function() sim:stop() end)

  local function token_run(args, env)
    local argv = { "--endpoint-url", sim.url, "--region", "us-east-1", "token" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    return cli.run(sim, argv, env)
  end

  -- GET path on a cluster's API with a token, trusting the run's CA.
  local function k8s_get(cluster, tok, path)
    local eksegress = require "eksegress"
    local k8s = require "eksegress.k8s"
    local c = assert(eksegress.client{ region = "us-east-1", env = sim:env() })
    local api = assert(k8s.new{ client = c, endpoint = k8s_info.clusters["111122223333/us-east-1/" .. cluster],
      ca_pem = k8s_info.ca_pem, token = tok })
    local out, err = api:get(path or "/version")
    c:close()
    return out, err
  end

  it("prints an ExecCredential laid out as aws eks get-token prints it; the API accepts its token", function()
    local r = token_run({ "--cluster", "hooks" })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("", r.stderr)
    assert.matches('^{"kind": "ExecCredential", "apiVersion": "client.authentication.k8s.io/v1beta1", '
      .. '"spec": {}, "status": {"expirationTimestamp": "%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ", '
      .. '"token": "k8s%-aws%-v1%.[%w_%-]+"}}\n$', r.stdout)
    local cred = cjson.decode(r.stdout)
    local url = base64.decode(cred.status.token:sub(12))
    assert.matches("^https://sts%.us%-east%-1%.amazonaws%.com/%?Action=GetCallerIdentity&", url)
    assert.is_not_nil(k8s_get("hooks", cred.status.token))
    local _, err = k8s_get("plain", cred.status.token)
    assert.are.equal("Unauthorized", err.code)
  end)

  it("answers in the apiVersion KUBERNETES_EXEC_INFO names (v1, v1beta1); --cluster-name is an alias", function()
    local r = token_run({ "--cluster-name", "hooks" }, { KUBERNETES_EXEC_INFO =
      '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}' })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("client.authentication.k8s.io/v1", cjson.decode(r.stdout).apiVersion)
    r = token_run({ "--cluster", "hooks" }, { KUBERNETES_EXEC_INFO =
      '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{}}' })
    assert.are.equal("client.authentication.k8s.io/v1beta1", cjson.decode(r.stdout).apiVersion)
  end)

  it("a malformed or unsupported KUBERNETES_EXEC_INFO: exit 64, one line, no credential", function()
    for _, bad in ipairs{ "{not json", '{"apiVersion":"client.authentication.k8s.io/v2"}', "[]x" } do
      local r = token_run({ "--cluster", "hooks" }, { KUBERNETES_EXEC_INFO = bad })
      assert.are.equal(64, r.status, bad)
      assert.are.equal("", r.stdout)
      assert.are.equal(1, #lines(r.stderr))
      assert.matches("KUBERNETES_EXEC_INFO", r.stderr, 1, true)
    end
  end)

  it("--role-arn: AssumeRole (session EKSGetTokenAuth) at the configured endpoint, the token maps to the role",
    function()
    local r = token_run({ "--cluster", "hooks", "--role-arn", "arn:aws:iam::111122223333:role/EksEgressAdmin" })
    assert.are.equal(0, r.status, r.stderr)
    local tok = cjson.decode(r.stdout).status.token
    local url = base64.decode(tok:sub(12))
    assert.matches("X%-Amz%-Security%-Token=", url)
    assert.matches("^https://sts%.us%-east%-1%.amazonaws%.com/", url)
    assert.is_not_nil(k8s_get("hooks", tok))
    local log = sim:admin("GET", "/_sim/log")
    assert.are.equal("arn:aws:sts::111122223333:assumed-role/EksEgressAdmin/EKSGetTokenAuth",
      log.requests[#log.requests].principal)
  end)

  it("usage errors: no --cluster, a bad name, a bad --role-arn (exit 64)", function()
    for _, args in ipairs{ {}, { "--cluster", "bad name" },
                           { "--cluster", "hooks", "--role-arn", "arn:aws:iam::1:role/x" },
                           { "--cluster", "hooks", "--role-arn", "EksEgressAdmin" } } do
      local r = token_run(args)
      assert.are.equal(64, r.status, table.concat(args, " "))
      assert.are.equal("", r.stdout)
    end
  end)

  it("a role that cannot be assumed: exit 2, one line naming the role, no credential", function()
    local r = token_run({ "--cluster", "hooks", "--role-arn", "arn:aws:iam::111122223333:role/NoSuchRole" })
    assert.are.equal(2, r.status)
    assert.are.equal("", r.stdout)
    assert.are.equal(1, #lines(r.stderr))
    assert.matches("NoSuchRole", r.stderr, 1, true)
  end)

  it("a kubeconfig exec stanza works as kubectl runs it (client-go's exec rules, kubectl not installed)", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -m 700 " .. dir))
    local cwd = io.popen("pwd"):read("l")
    local endpoint = k8s_info.clusters["111122223333/us-east-1/hooks"]
    for _, api_version in ipairs{ "client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1" } do
      local kubeconfig = dir .. "/config"
      local f = assert(io.open(kubeconfig, "wb"))
      f:write(([[
apiVersion: v1
kind: Config
clusters:
- name: hooks
  cluster:
    server: %s
    certificate-authority-data: %s
contexts:
- name: hooks
  context:
    cluster: hooks
    user: eksegress
current-context: hooks
users:
- name: eksegress
  user:
    exec:
      apiVersion: %s
      command: %s/bin/eksegress
      args: [token, --cluster, hooks, --region, us-east-1]
      env:
      - name: AWS_ENDPOINT_URL
        value: %s
      - name: AWS_ACCESS_KEY_ID
        value: AKIDEXAMPLE
      - name: AWS_SECRET_ACCESS_KEY
        value: wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
      interactiveMode: Never
      provideClusterInfo: false
]]):format(endpoint, base64.encode(k8s_info.ca_pem), api_version, cwd, sim.url))
      f:close()
      local core = require "eksegress.core"
      -- the stanza alone gives the credentials and the endpoint
      local env = cli.env(nil, { AWS_ACCESS_KEY_ID = false, AWS_SECRET_ACCESS_KEY = false, AWS_REGION = false })
      local r = assert(core.run_process({ os.getenv("EKSEGRESS_PYTHON") or "python3", "spec/helpers/kubectl_exec.py",
        kubeconfig, "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations?limit=3" },
        { env = env, timeout_ms = 120000 }))
      assert.are.equal(0, r.status, r.stderr)
      local out = cjson.decode(r.stdout)
      if out.skip then
        pending(out.skip)
        break
      end
      assert.is_nil(out.error)
      assert.are.equal(200, out.status)
      assert.are.equal(api_version, out.apiVersion)
      assert.are.equal("ValidatingWebhookConfigurationList", out.body.kind)
      assert.are.equal(3, #out.body.items)
      assert.is_not_nil(out.body.metadata.continue)
    end
    os.execute("rm -rf " .. dir)
  end)
end)
