-- The eksegress demo (`make demo`): an inventory of every cluster's control
-- plane egress mode, then, against the bundled simulator only, the guard
-- refusing unsafe changes and one acknowledged migration.
--
-- Usage: lua5.4 examples/demo.lua [--simulator]
-- Configuration comes from the environment and AWS config files, as for the
-- AWS CLI. Without --simulator the demo is strictly read-only.
local eksegress = require "eksegress"

local simulator = arg[1] == "--simulator"
local audit = os.tmpname()
local client = assert(eksegress.client{ audit_path = audit, backoff_base = simulator and 0.05 or nil })

local function say(fmt, ...) io.write(string.format(fmt, ...), "\n") end
local function step(title) say("\n== %s", title) end

step("Who am I")
local who, err = client:whoami()
if not who then
  say("cannot identify the caller: %s", tostring(err))
  os.exit(2)
end
say("%s (account %s)", who.Arn, who.Account)

-- Inventory: every enabled region, every cluster, described concurrently.
local function inventory()
  local regions = assert(client:call("ec2", "DescribeRegions", {}, { region = client.region or "us-east-1" }))
  local names = {}
  for _, r in ipairs(regions.regionInfo) do names[#names + 1] = r.regionName end
  table.sort(names)
  local per_region, region_errs = eksegress.parallel(names, function(region)
    local list, lerr = client:collect("eks", "ListClusters", {}, { region = region })
    if not list then return nil, lerr end
    local described, derrs = eksegress.parallel(list, function(name)
      return client:call("eks", "DescribeCluster", { name = name }, { region = region })
    end, { concurrency = 16 })
    local rows = {}
    for i, name in ipairs(list) do
      local c = described[i] and described[i].cluster
      rows[#rows + 1] = { region = region, name = name, status = c and c.status or "ERROR",
        mode = c and (c.resourcesVpcConfig.controlPlaneEgressMode or "UNKNOWN") or tostring(derrs[i]) }
    end
    return rows
  end, { concurrency = 8 })
  local rows, counts = {}, {}
  for i, region in ipairs(names) do
    for _, row in ipairs(per_region[i] or {}) do
      rows[#rows + 1] = row
      counts[row.mode] = (counts[row.mode] or 0) + 1
    end
    if region_errs[i] then say("  %-15s not readable: %s", region, region_errs[i].code) end
  end
  say("  %-15s %-14s %-9s %s", "REGION", "CLUSTER", "STATUS", "EGRESS MODE")
  for _, r in ipairs(rows) do say("  %-15s %-14s %-9s %s", r.region, r.name, r.status, r.mode) end
  local parts = {}
  for mode, n in pairs(counts) do parts[#parts + 1] = mode .. "=" .. n end
  table.sort(parts)
  say("  %d clusters: %s", #rows, table.concat(parts, ", "))
end

step("Inventory of every enabled region")
inventory()

if not simulator then
  say("\nRead-only run against a real account: nothing was changed.")
  os.exit(0)
end

local ROUTED = { controlPlaneEgressMode = "CUSTOMER_ROUTED" }
local function try(title, name, vpc, opts)
  local out, e = client:call("eks", "UpdateClusterConfig", { name = name, resourcesVpcConfig = vpc },
    { region = "us-west-2", acknowledge = opts and opts.acknowledge })
  if out and out.noop then
    say("  %-44s -> no-op, nothing sent (%s)", title, out.guard.code)
  elseif out then
    say("  %-44s -> sent: update %s (%s)", title, out.update.id, out.update.status)
  else
    say("  %-44s -> refused: %s", title, e.code)
    say("      %s", e.message)
  end
  return out
end

step("The guard: nothing irreversible by surprise")
try("switch payments without acknowledgement", "payments", ROUTED)
try("switch payments, acknowledging 'analytics'", "payments", ROUTED, { acknowledge = "analytics" })
try("revert isolated-lab to AWS_MANAGED", "isolated-lab", { controlPlaneEgressMode = "AWS_MANAGED" },
  { acknowledge = "isolated-lab" })
try("switch with an endpoint change in one call", "payments",
  { controlPlaneEgressMode = "CUSTOMER_ROUTED", endpointPublicAccess = false }, { acknowledge = "payments" })

step("An acknowledged migration")
local upd = try("switch payments, acknowledging 'payments'", "payments", ROUTED, { acknowledge = "payments" })
if upd then
  local done = assert(client:wait("eks", "UpdateFinished", { name = "payments", updateId = upd.update.id },
    { region = "us-west-2", delay = 0.5, max_attempts = 120 }))
  say("  update %s: %s", done.update.id, done.update.status)
  local d = assert(client:call("eks", "DescribeCluster", { name = "payments" }, { region = "us-west-2" }))
  say("  payments is now %s", d.cluster.resourcesVpcConfig.controlPlaneEgressMode)
  try("switch payments again", "payments", ROUTED, { acknowledge = "payments" })
  try("revert payments to AWS_MANAGED", "payments", { controlPlaneEgressMode = "AWS_MANAGED" },
    { acknowledge = "payments" })
end

step("The guard's audit log (one JSON line per decision)")
for line in io.lines(audit) do say("  %s", line) end
os.remove(audit)

step("Inventory again")
inventory()
client:close()
