--- eksegress scp: an Organizations SCP that enforces the egress mode, what it
-- blocks in plain words, and (--explain) its decision on each kind of request.
local lazy = require "eksegress.cli.lazy"
local scp = lazy(function() return require "eksegress.workflows.scp" end)
local args_util = require "eksegress.cli.args"
local columns = lazy(function() return require "eksegress.cli.columns" end)
local exit = require "eksegress.cli.exit"
local files = require "eksegress.cli.files"

local M = {
  name = "scp",
  summary = "Write an SCP that enforces the control plane egress mode, and explain it",
  description = "Write an AWS Organizations service control policy (JSON, for aws organizations create-policy "
    .. "--content file://scp.json) that enforces controlPlaneEgressMode with the eks:controlPlaneEgressMode "
    .. "condition key. The safe variant (default) denies a CreateCluster without the required mode and an "
    .. "UpdateClusterConfig that sets another mode, and lets unrelated configuration updates through; the "
    .. "documented variant is AWS's sample, which also denies every update that does not carry the key. "
    .. "What the policy blocks is printed on stderr. --explain evaluates the policy over a matrix of requests "
    .. "(create and update with and without the key, each mode, logging and endpoint updates, exempt "
    .. "principals) and prints allowed or denied with the statement that decided. Nothing is sent to AWS.",
  examples = {
    "eksegress scp > scp.json",
    "eksegress scp --variant documented --explain --output table",
    "eksegress scp --exempt-role-arn 'arn:aws:iam::*:role/BreakGlass' --out scp.json --explain --output json",
    "eksegress scp --require AWS_MANAGED",
  },
  outputs = { "table", "json" },
}

M.SCHEMA = "eksegress/scp/1"

function M.configure(c)
  c:option("--require", "The egress mode to enforce (default CUSTOMER_ROUTED).")
    :choices{ "CUSTOMER_ROUTED", "AWS_MANAGED" }
  c:option("--variant", "safe (default): unrelated updates pass; documented: AWS's sample.")
    :choices{ "safe", "documented" }
  c:option("--exempt-role-arn", "A role the policy does not apply to (IAM wildcards allowed); repeatable.")
    :count("*")
  c:flag("--explain", "Print the decision matrix (allowed / denied, and the deciding statement).")
  c:option("--out", "Write the policy JSON to this file instead of stdout.")
end

-- The policy as a person reviews it; minified when the indented text would
-- pass the SCP size quota (AWS keeps white space sent through the API).
local function policy_text(gen)
  local pretty = scp.to_json(gen.policy, { indent = 2 })
  if #pretty <= scp.MAX_SIZE then return pretty .. "\n" end
  return gen.json .. "\n"
end

local DECISION = { allow = "allowed", deny = "denied", implicit_deny = "denied (implicit)" }

local function mode_of(row)
  for k, v in pairs(row.keys or {}) do
    if k:lower() == "eks:controlplaneegressmode" then return v end
  end
  return nil
end

local function document(gen, rows)
  local matrix = {}
  for i, r in ipairs(rows) do
    matrix[i] = { id = r.id, request = r.request, action = r.action, principal = r.principal,
                  egress_mode = mode_of(r), context = r.keys, decision = r.decision, allowed = r.allowed,
                  statement = r.statement ~= nil and tostring(r.statement) or nil, reason = r.reason }
  end
  return {
    schema = M.SCHEMA,
    tool = { name = "eksegress", version = require("eksegress").version },
    variant = gen.variant, require = gen.require, exempt_role_arns = gen.exempt_role_arns,
    size = gen.size, max_size = scp.MAX_SIZE, policy = gen.policy, blocks = gen.blocks, matrix = matrix,
  }
end

local KEY_ORDER = { "schema", "tool", "variant", "require", "exempt_role_arns", "size", "max_size", "blocks",
                    "policy", "Version", "Statement", "Sid", "Effect", "Action", "Resource", "Condition",
                    "matrix", "id", "request", "action", "principal", "egress_mode", "decision", "allowed",
                    "statement", "reason", "context" }

local function render_json(doc)
  return require("eksegress.report.json").encode(doc, { key_order = KEY_ORDER,
    arrays = { "exempt_role_arns", "blocks", "matrix" } })
end

local function render_table(gen, rows, width, with_policy)
  local out = {}
  if with_policy then
    out[#out + 1] = policy_text(gen)
    out[#out + 1] = "\n"
  end
  out[#out + 1] = ("Variant %s, requires %s, %d of %d characters.\n"):format(gen.variant, gen.require, gen.size,
    scp.MAX_SIZE)
  for _, b in ipairs(gen.blocks) do out[#out + 1] = "  - " .. b .. "\n" end
  out[#out + 1] = "\n"
  local t = {}
  for i, r in ipairs(rows) do
    t[i] = { r.request, DECISION[r.decision] or r.decision, r.statement ~= nil and tostring(r.statement) or "",
             r.reason }
  end
  -- The request names its action; WHY gives up width first.
  out[#out + 1] = columns.render({ "REQUEST", "DECISION", "DECIDED BY", "WHY~" }, t, { width = width })
  return table.concat(out)
end

function M.run(ctx, a)
  local gen, err = scp.generate{ variant = a.variant, require = a.require, exempt_role_arns = a.exempt_role_arn }
  if not gen then return args_util.usage(err.message) end
  local text = policy_text(gen)
  if a.out then
    local ok, werr = files.write_atomic(a.out, text)
    if not ok then return ctx:fail("scp", werr) end
  end
  -- The table output says it too.
  if not (a.explain and a.output ~= "json") then
    for _, b in ipairs(gen.blocks) do ctx.out:line("eksegress: scp: " .. b) end
  end
  if a.out then ctx.out:line(("eksegress: scp: wrote %s (%d characters minified, quota %d)"):format(a.out,
    gen.size, scp.MAX_SIZE)) end
  if not a.explain then
    if not a.out then ctx.out:result(text) end
    return exit.OK
  end
  local rows, merr = scp.matrix(gen.policy, { exempt_role_arns = gen.exempt_role_arns })
  if not rows then return ctx:fail("scp", merr) end
  if a.output == "json" then
    ctx.out:result(render_json(document(gen, rows)))
  else
    ctx.out:result(render_table(gen, rows, ctx.out.columns, not a.out))
  end
  return exit.OK
end

M.document = document
return M
