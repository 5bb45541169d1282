-- Helpers for the audit specs (60-64: the workflow against the simulator;
-- 70-74: the CLI as a process): the organization fixture in each shape of
-- Organizations' answer, and the two promises every audit is checked
-- against: completeness (every cluster the simulator holds is in the report
-- exactly once, or what it belongs to is under errors or listed as not
-- audited) and fidelity (each row says what EKS says about the cluster).
--
--     local ah = require "helpers.audit"
--     local sim = ah.start_org("legacy")
--     local doc = assert(audit.run(mh.factory(sim), { organization = { role_name = ah.ROLE }, regions = "all" }))
--     ah.assert_complete(sim, doc)
--     ah.assert_rows_match(sim, doc)
local cjson = require "cjson"
local assert = require "luassert"
local core = require "eksegress.core"
local role = require "eksegress.credentials.role"
local simmod = require "helpers.sim"
local mh = require "helpers.migrate"

local M = {}

M.ORG_FLEET = "spec/fixtures/fleets/audit-org.json"
M.ROLE = "OrganizationAccountAccessRole"
M.SCHEMA = "docs/schemas/audit.schema.json"
M.CALLER = "111122223333"

local python = mh.python

local function present(v)
  return v ~= nil and v ~= cjson.null
end

local function key(account, region, name)
  return account .. "/" .. region .. "/" .. name
end
M.key = key

--- Start the simulator on the organization fixture, serving the accounts'
-- status as `account_status` says: "state" (State only), "both", "legacy"
-- (the retired Status only). `args`: more simulator arguments.
function M.start_org(account_status, args)
  local path = os.tmpname()
  -- Python edits the fleet: a Lua round trip would turn its empty lists into objects.
  local r = core.run_process({ python(), "-c", [[
import json, sys
src, dst, status = sys.argv[1:4]
with open(src) as f:
    fleet = json.load(f)
fleet["organization"]["account_status"] = status
with open(dst, "w") as f:
    json.dump(fleet, f)
]], M.ORG_FLEET, path, account_status or "state" }, { timeout_ms = 30000 })
  assert(r.status == 0, "writing the fleet: " .. r.stderr)
  local sim = simmod.start(("--time-scale 0 --fleet %s %s"):format(path, args or ""))
  os.remove(path)
  return sim
end

--- Completeness: every cluster the simulator holds in the audit's scope
-- (its accounts, or `accounts` {id = true}; the regions of doc.scope when it
-- names them) is in doc.clusters exactly once, or its cluster, region or
-- account is under errors, or its account is listed as skipped (not active,
-- excluded). Nothing is in doc.clusters that the simulator does not hold.
-- Works on the workflow's table and on decoded JSON.
-- @treturn table {listed = clusters in the report, covered = clusters covered by errors or skips}
function M.assert_complete(sim, doc, accounts)
  local seen, dups = {}, {}
  for _, c in ipairs(doc.clusters) do
    local k = key(c.account, c.region, c.name)
    if seen[k] then dups[#dups + 1] = k end
    seen[k] = true
  end
  assert.are.same({}, dups, "clusters listed twice")
  local cover = {}
  for _, e in ipairs(doc.errors) do
    if present(e.cluster) then cover[key(e.account, e.region, e.cluster)] = true
    elseif present(e.region) then cover[e.account .. "/" .. e.region] = true
    elseif present(e.account) then cover[e.account] = true end
  end
  local in_scope = accounts
  if not in_scope then
    in_scope = {}
    for _, a in ipairs(doc.accounts) do
      if present(a.id) then in_scope[a.id] = true end
      if a.outcome == "skipped" and present(a.id) then cover[a.id] = true end
    end
  end
  local regions
  if type(doc.scope.regions) == "table" then
    regions = {}
    for _, r in ipairs(doc.scope.regions) do regions[r] = true end
  end
  local listed, covered = 0, 0
  for k, c in pairs(mh.state(sim)) do
    if in_scope[c.account] and (not regions or regions[c.region]) then
      if seen[k] then
        listed = listed + 1
        seen[k] = nil
      else
        assert(cover[k] or cover[c.account .. "/" .. c.region] or cover[c.account],
          "cluster " .. k .. " is neither in the report nor under errors")
        covered = covered + 1
      end
    end
  end
  local phantoms = {}
  for k in pairs(seen) do phantoms[#phantoms + 1] = k end
  assert.are.same({}, phantoms, "clusters in the report the simulator does not hold (or out of scope)")
  return { listed = listed, covered = covered }
end

local function rfc3339(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

--- A client per account of the simulator (the caller's own keys for
-- M.CALLER, M.ROLE through AssumeRole for the others): an independent read of
-- every cluster, to compare with the report.
function M.describe(sim, account, region, name)
  M.clients = M.clients or {}
  local slot = M.clients[sim.url .. account]
  if not slot then
    local base = sim:client()
    slot = account == M.CALLER and base or sim:client{ credentials = role.new{ source = base.credentials,
      role_arn = ("arn:aws:iam::%s:role/%s"):format(account, M.ROLE), session_name = "spec-check" } }
    M.clients[sim.url .. account] = slot
  end
  return assert(slot:call("eks", "DescribeCluster", { name = name }, { region = region })).cluster
end

--- Fidelity: each row of doc.clusters says what the simulator's state and
-- DescribeCluster say about its cluster: ARN, status, version, egress mode
-- (UNKNOWN when the response lacks it), endpoint access, platform version,
-- created time, VPC, and compliance with doc.require. Returns the rows checked.
function M.assert_rows_match(sim, doc)
  local state = mh.state(sim)
  local required = present(doc.require) and doc.require or nil
  for _, row in ipairs(doc.clusters) do
    local k = key(row.account, row.region, row.name)
    local s = assert(state[k], k)
    local d = M.describe(sim, row.account, row.region, row.name)
    local mode = s.omit_mode and "UNKNOWN" or s.mode
    assert.are.equal(mode, row.egress_mode, k)
    assert.are.equal(s.status, row.status, k)
    assert.are.equal(s.version, row.version, k)
    assert.are.equal(s.vpc_id, row.vpc_id, k)
    assert.are.equal(d.arn, row.arn, k)
    assert.are.equal(("arn:aws:eks:%s:%s:cluster/%s"):format(row.region, row.account, row.name), row.arn, k)
    assert.are.equal(d.platformVersion, row.platform_version, k)
    assert.are.equal(rfc3339(d.createdAt), row.created_at, k)
    assert.are.equal(d.resourcesVpcConfig.endpointPublicAccess, row.endpoint_public_access, k)
    assert.are.equal(d.resourcesVpcConfig.endpointPrivateAccess, row.endpoint_private_access, k)
    if required then
      assert.are.equal(mode == required, row.compliant, k)
    else
      assert.is_falsy(present(row.compliant), k)
    end
  end
  return #doc.clusters
end

--- The summary, counted again from the rows: by mode, by account, by region,
-- compliance, errors.
function M.assert_summary(doc)
  local by_mode, by_account, by_region, compliant, noncompliant = {}, {}, {}, 0, 0
  for _, c in ipairs(doc.clusters) do
    by_mode[c.egress_mode] = (by_mode[c.egress_mode] or 0) + 1
    by_account[c.account] = by_account[c.account] or {}
    by_account[c.account][c.egress_mode] = (by_account[c.account][c.egress_mode] or 0) + 1
    by_region[c.region] = by_region[c.region] or {}
    by_region[c.region][c.egress_mode] = (by_region[c.region][c.egress_mode] or 0) + 1
    if c.compliant == true then
      compliant = compliant + 1
    elseif c.compliant == false then
      noncompliant = noncompliant + 1
    end
  end
  local s = doc.summary
  assert.are.equal(#doc.clusters, s.clusters)
  assert.are.same(by_mode, s.by_mode)
  assert.are.same(by_account, s.by_account)
  assert.are.same(by_region, s.by_region)
  assert.are.equal(#doc.errors, s.errors)
  if present(doc.require) then
    assert.are.equal(compliant, s.compliant)
    assert.are.equal(noncompliant, s.noncompliant)
  end
end

-- Runs argv with stderr (and, for "both", stdout too) on a new pseudo-
-- terminal, reading both ends until the process ends; sends SIGINT once the
-- terminal shows the regular expression `pattern` (when not empty); prints
-- {status, stdout, tty, signalled} with the byte streams in base64.
local PTY_RUN = [[
import base64, json, os, pty, re, select, signal, subprocess, sys
mode, pattern, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
pattern = re.compile(pattern.encode()) if pattern else None
master, slave = pty.openpty()
p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=slave,
                     stdout=slave if mode == "both" else subprocess.PIPE)
os.close(slave)
out, tty, fds, signalled = b"", b"", [master] + ([p.stdout.fileno()] if p.stdout else []), False
while fds:
    for fd in select.select(fds, [], [], 120)[0]:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            fds.remove(fd)
        elif fd == master:
            tty += data
            if pattern and not signalled and pattern.search(tty):
                p.send_signal(signal.SIGINT)
                signalled = True
        else:
            out += data
status = p.wait(120)
print(json.dumps({"status": status, "stdout": base64.b64encode(out).decode(),
                  "tty": base64.b64encode(tty).decode(), "signalled": signalled}))
]]

--- Run the CLI with stderr on a pseudo-terminal (`both`: stdout too), as a
-- person at a terminal would; with `interrupt_on` (a Python regular
-- expression), Ctrl-C once the terminal shows it. Returns {status, stdout
-- (bytes; "" with both), tty (the bytes the terminal received), signalled}.
function M.run_on_tty(sim, args, both, interrupt_on)
  local argv = { python(), "-c", PTY_RUN, both and "both" or "stderr", interrupt_on or "", "lua5.4", "bin/eksegress",
                 "--endpoint-url", sim.url }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local r = assert(core.run_process(argv, { env = mh.env(sim), timeout_ms = 300000 }))
  assert(r.status == 0, "the pty runner failed: " .. r.stderr)
  local res = cjson.decode(r.stdout)
  local b64 = require "eksegress.base64"
  return { status = math.tointeger(res.status), stdout = b64.decode(res.stdout), tty = b64.decode(res.tty),
           signalled = res.signalled }
end

return M
