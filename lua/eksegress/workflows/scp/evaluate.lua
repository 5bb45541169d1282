--- A small evaluator of exactly the IAM policy language the egress SCPs (and the
-- cluster role's permission policies, for the preflight) use, and the `--explain`
-- matrix built on it. Pure: plain tables in, plain tables out.
--
--     local evaluate = require "eksegress.workflows.scp.evaluate"
--     local r = evaluate.decide(policy, {
--       action = "eks:CreateCluster",
--       resource = "arn:aws:eks:us-east-1:111122223333:cluster/demo",
--       keys = { ["aws:PrincipalArn"] = "arn:aws:iam::111122223333:role/Admin" },
--     })
--     -- r = { decision = "deny", statement = "RequireCustomerRoutedControlPlane", reason = "..." }
--
-- Semantics implemented (IAM User Guide, "Policy evaluation logic" and "Condition
-- operators"):
--   * Effect Allow/Deny; an explicit Deny wins over any Allow.
--   * Action / NotAction with `*` and `?` wildcards, matched case-insensitively.
--   * Resource / NotResource: `*` or ARNs with `*` / `?`, case-sensitive. A
--     statement without either applies to every resource.
--   * Condition: every operator block and every key inside it must hold (AND);
--     several values for one key are ORed (for a negated operator: the context
--     value must match none of them, i.e. NOR).
--   * Operators: StringEquals, StringNotEquals, StringEqualsIgnoreCase,
--     StringNotEqualsIgnoreCase, StringLike, StringNotLike, ArnEquals, ArnLike,
--     ArnNotEquals, ArnNotLike, Bool, Numeric{Equals,NotEquals,LessThan,
--     LessThanEquals,GreaterThan,GreaterThanEquals}, Null; the `IfExists` suffix;
--     the `ForAnyValue:` / `ForAllValues:` set prefixes.
--   * A key absent from the request: `Null` tests presence; `...IfExists` holds;
--     `ForAllValues:` holds (vacuously); any other positive operator fails; a
--     negated operator (StringNotEquals, StringNotLike, ArnNotLike, ...) holds.
--   * Condition key names are case-insensitive; values are case-sensitive unless
--     the operator says otherwise.
-- Anything else (another operator, a policy variable) is reported as an error,
-- never guessed.
local M = {}

local function misuse(msg)
  error("eksegress.workflows.scp.evaluate: " .. msg, 3)
end

local function fail(code, message)
  return nil, setmetatable({ code = code, message = message }, {
    __tostring = function(e) return e.code .. ": " .. e.message end,
  })
end

local function as_list(v)
  if v == nil then return {} end
  if type(v) == "table" then return v end
  return { v }
end

local glob_cache = {}

-- `*` matches any run of characters (also none), `?` exactly one.
local function glob_match(pattern, text)
  local lua = glob_cache[pattern]
  if not lua then
    lua = "^" .. pattern:gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0"):gsub("%*", ".*"):gsub("%?", ".") .. "$"
    glob_cache[pattern] = lua
  end
  return text:find(lua) ~= nil
end

-- ArnLike/ArnEquals: each of the six colon-separated parts is matched on its
-- own (the resource part keeps any further colons).
local function split_arn(s)
  local parts = {}
  local rest = s
  for _ = 1, 5 do
    local i = rest:find(":", 1, true)
    if not i then return nil end
    parts[#parts + 1] = rest:sub(1, i - 1)
    rest = rest:sub(i + 1)
  end
  parts[6] = rest
  return parts
end

local function arn_match(pattern, value)
  if pattern == "*" then return true end
  local p, v = split_arn(pattern), split_arn(value)
  if not p or not v then return false end
  for i = 1, 6 do
    if not glob_match(p[i], v[i]) then return false end
  end
  return true
end

local function bool_text(v)
  if v == true or v == false then return tostring(v) end
  if type(v) == "string" then
    local l = v:lower()
    if l == "true" or l == "false" then return l end
  end
  return nil
end

local function numeric(cmp)
  return function(cv, pv)
    local a, b = tonumber(cv), tonumber(pv)
    return a ~= nil and b ~= nil and cmp(a, b)
  end
end

local function str(cv) return type(cv) == "string" and cv or nil end

-- Each operator: how one context value is compared with one policy value (the
-- positive form) and whether the operator is the negation of that comparison.
local OPERATORS = {
  StringEquals = { cmp = function(cv, pv) return str(cv) == pv end },
  StringNotEquals = { cmp = function(cv, pv) return str(cv) == pv end, negated = true },
  StringEqualsIgnoreCase = {
    cmp = function(cv, pv) return str(cv) ~= nil and type(pv) == "string" and cv:lower() == pv:lower() end },
  StringNotEqualsIgnoreCase = {
    cmp = function(cv, pv) return str(cv) ~= nil and type(pv) == "string" and cv:lower() == pv:lower() end,
    negated = true },
  StringLike = { cmp = function(cv, pv) return str(cv) ~= nil and type(pv) == "string" and glob_match(pv, cv) end },
  StringNotLike = {
    cmp = function(cv, pv) return str(cv) ~= nil and type(pv) == "string" and glob_match(pv, cv) end,
    negated = true },
  Bool = { cmp = function(cv, pv) return bool_text(cv) ~= nil and bool_text(cv) == bool_text(pv) end },
  NumericEquals = { cmp = numeric(function(a, b) return a == b end) },
  NumericNotEquals = { cmp = numeric(function(a, b) return a == b end), negated = true },
  NumericLessThan = { cmp = numeric(function(a, b) return a < b end) },
  NumericLessThanEquals = { cmp = numeric(function(a, b) return a <= b end) },
  NumericGreaterThan = { cmp = numeric(function(a, b) return a > b end) },
  NumericGreaterThanEquals = { cmp = numeric(function(a, b) return a >= b end) },
}
local function arn_cmp(cv, pv) return str(cv) ~= nil and type(pv) == "string" and arn_match(pv, cv) end
OPERATORS.ArnEquals = { cmp = arn_cmp }
OPERATORS.ArnLike = { cmp = arn_cmp }
OPERATORS.ArnNotEquals = { cmp = arn_cmp, negated = true }
OPERATORS.ArnNotLike = { cmp = arn_cmp, negated = true }

--- Parse an operator name into its parts: set prefix, base operator, IfExists.
-- @return {set = nil|"ForAnyValue"|"ForAllValues", base = "StringEquals", if_exists = bool}
--   or nil, err for an operator the evaluator does not implement
function M.parse_operator(name)
  if type(name) ~= "string" then return fail("UnsupportedCondition", "a condition operator must be a string") end
  local set, rest = name:match("^(For%a+Values?):(.+)$")
  if set and set ~= "ForAnyValue" and set ~= "ForAllValues" then
    return fail("UnsupportedCondition", ("unknown set operator %q"):format(set))
  end
  rest = rest or name
  local base, if_exists = rest, false
  if rest ~= "Null" and rest:sub(-8) == "IfExists" then base, if_exists = rest:sub(1, -9), true end
  if base ~= "Null" and not OPERATORS[base] then
    return fail("UnsupportedCondition", ("condition operator %q is not implemented by this evaluator"):format(name))
  end
  return { set = set, base = base, if_exists = if_exists }
end

local function lookup(keys, key)
  local v = keys[key]
  if v ~= nil then return v end
  local lower = key:lower()
  for k, val in pairs(keys) do
    if type(k) == "string" and k:lower() == lower then return val end
  end
  return nil
end

local function show(v)
  if type(v) == "table" then
    local parts = {}
    for _, x in ipairs(v) do parts[#parts + 1] = show(x) end
    return "[" .. table.concat(parts, ", ") .. "]"
  end
  if type(v) == "string" then return ("%q"):format(v) end
  return tostring(v)
end

--- Evaluate one operator on one key.
-- @param op operator name as written in the policy ("StringNotEqualsIfExists", ...)
-- @param key condition key ("eks:controlPlaneEgressMode")
-- @param policy_values a value or list of values from the policy
-- @param keys the request context (key -> value or list of values; absent = nil)
-- @return holds (boolean), explanation (string); or nil, err
function M.condition(op, key, policy_values, keys)
  local parsed, perr = M.parse_operator(op)
  if not parsed then return nil, perr end
  local pvs = as_list(policy_values)
  local cv = lookup(keys or {}, key)
  if type(cv) == "table" and #cv == 0 then cv = nil end
  local absent = cv == nil
  if parsed.base == "Null" then
    -- Null: "true" asks for the key to be absent, "false" for it to be present.
    for _, pv in ipairs(pvs) do
      local want_absent = bool_text(pv)
      if want_absent == nil then
        return fail("UnsupportedCondition", ("Null on %s needs \"true\" or \"false\", not %s"):format(key, show(pv)))
      end
      if (want_absent == "true") == absent then
        return true, ("%s(%s): the key is %s"):format(op, key, absent and "absent" or "present")
      end
    end
    return false, ("%s(%s): the key is %s"):format(op, key, absent and "absent" or "present")
  end
  local def = OPERATORS[parsed.base]
  if absent then
    local holds
    if parsed.if_exists then holds = true
    elseif parsed.set == "ForAllValues" then holds = true
    elseif parsed.set == "ForAnyValue" then holds = false
    else holds = def.negated == true end
    return holds, ("%s(%s) is %s: the key is absent"):format(op, key, tostring(holds))
  end
  local function matches(v)
    for _, pv in ipairs(pvs) do
      if def.cmp(v, pv) then return true end
    end
    return false
  end
  local cvs = as_list(cv)
  local function ok(v)
    if def.negated then return not matches(v) end
    return matches(v)
  end
  local holds
  if parsed.set == "ForAllValues" or (parsed.set == nil and def.negated) then
    holds = true
    for _, v in ipairs(cvs) do
      if not ok(v) then holds = false break end
    end
  else
    holds = false
    for _, v in ipairs(cvs) do
      if ok(v) then holds = true break end
    end
  end
  return holds, ("%s(%s) is %s: %s against %s"):format(op, key, tostring(holds), show(cv), show(policy_values))
end

local function action_matches(patterns, action)
  local a = action:lower()
  for _, p in ipairs(as_list(patterns)) do
    if type(p) == "string" and glob_match(p:lower(), a) then return true end
  end
  return false
end

local function resource_matches(patterns, resource)
  for _, p in ipairs(as_list(patterns)) do
    if type(p) == "string" and (p == "*" or glob_match(p, resource)) then return true end
  end
  return false
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
  return ks
end

--- Does one statement apply to the request?
-- @return applies (boolean), explanation (string); or nil, err
function M.statement_applies(st, ctx)
  if type(st) ~= "table" then return fail("MalformedPolicy", "a statement must be an object") end
  if st.Action ~= nil then
    if not action_matches(st.Action, ctx.action) then return false, "the action does not match Action" end
  elseif st.NotAction ~= nil then
    if action_matches(st.NotAction, ctx.action) then return false, "the action is listed in NotAction" end
  else
    return fail("MalformedPolicy", "a statement needs Action or NotAction")
  end
  if st.Resource ~= nil then
    if not resource_matches(st.Resource, ctx.resource) then return false, "the resource does not match Resource" end
  elseif st.NotResource ~= nil then
    if resource_matches(st.NotResource, ctx.resource) then return false, "the resource is listed in NotResource" end
  end
  local notes = {}
  if st.Condition ~= nil then
    if type(st.Condition) ~= "table" then return fail("MalformedPolicy", "Condition must be an object") end
    for _, op in ipairs(sorted_keys(st.Condition)) do
      local block = st.Condition[op]
      if type(block) ~= "table" then return fail("MalformedPolicy", ("Condition %s must be an object"):format(op)) end
      for _, key in ipairs(sorted_keys(block)) do
        local holds, why = M.condition(op, key, block[key], ctx.keys)
        if holds == nil then return nil, why end
        notes[#notes + 1] = why
        if not holds then return false, why end
      end
    end
  end
  if #notes == 0 then return true, "no conditions" end
  return true, table.concat(notes, "; ")
end

local function statements(policy)
  local st = policy.Statement
  if type(st) ~= "table" then return nil end
  if st.Effect ~= nil or st.Action ~= nil or st.NotAction ~= nil then return { st } end
  return st
end

local function label(st, i)
  if type(st.Sid) == "string" and st.Sid ~= "" then return st.Sid end
  return i
end

--- True if every statement of the policy is a Deny.
function M.deny_only(policy)
  for _, st in ipairs(statements(policy) or {}) do
    if st.Effect ~= "Deny" then return false end
  end
  return true
end

--- Decide a request against one policy.
-- @param policy the policy document (a decoded JSON table)
-- @param ctx `{action = "service:Name", resource = "arn..." (default "*"),
--   keys = {["key"] = value | {values}}}`
-- @tparam[opt] table opts `full_aws_access`: evaluate the policy as attached beside
--   the default FullAWSAccess SCP, which allows everything (default: true when
--   every statement is a Deny, the usual shape of a guardrail SCP; false
--   otherwise). For an identity policy pass false.
-- @return `{decision = "allow"|"deny"|"implicit_deny", statement = Sid or index
--   (or "FullAWSAccess"), reason = text}`, or nil, err (a malformed policy or an
--   operator this evaluator does not implement)
function M.decide(policy, ctx, opts)
  if type(policy) ~= "table" then misuse("policy must be a table (a decoded policy document)") end
  if type(ctx) ~= "table" or type(ctx.action) ~= "string" then misuse("context needs an action string") end
  if ctx.keys ~= nil and type(ctx.keys) ~= "table" then misuse("context.keys must be a table") end
  opts = opts or {}
  local list = statements(policy)
  if not list then return fail("MalformedPolicy", "the policy has no Statement") end
  local req = { action = ctx.action, resource = ctx.resource or "*", keys = ctx.keys or {} }
  local allowed_by, allow_why
  local passed = {}
  for i, st in ipairs(list) do
    local applies, why = M.statement_applies(st, req)
    if applies == nil then return nil, why end
    if st.Effect ~= "Allow" and st.Effect ~= "Deny" then
      return fail("MalformedPolicy", ("statement %s has Effect %s"):format(tostring(label(st, i)), show(st.Effect)))
    end
    if applies and st.Effect == "Deny" then
      return { decision = "deny", statement = label(st, i),
               reason = ("explicit deny by %s: %s"):format(tostring(label(st, i)), why) }
    end
    if applies and not allowed_by then allowed_by, allow_why = label(st, i), why end
    if not applies and st.Effect == "Deny" then
      passed[#passed + 1] = ("%s does not apply (%s)"):format(tostring(label(st, i)), why)
    end
  end
  local not_denied = #passed > 0 and ("; " .. table.concat(passed, "; ")) or ""
  if allowed_by then
    return { decision = "allow", statement = allowed_by,
             reason = ("allowed by %s: %s%s"):format(tostring(allowed_by), allow_why, not_denied) }
  end
  local full = opts.full_aws_access
  if full == nil then full = M.deny_only(policy) end
  if full then
    return { decision = "allow", statement = "FullAWSAccess",
             reason = "no statement denies; allowed by the FullAWSAccess SCP assumed beside this policy" .. not_denied }
  end
  return { decision = "implicit_deny", reason = "no statement allows " .. ctx.action .. not_denied }
end

--- Decide against several policies that must all allow (identity policies are
-- unioned for Allow; any explicit Deny in any of them wins).
-- @param policies list of policy documents (tables)
-- @param ctx the request context, as for decide
-- @return the same result shape as decide (statement is "policy#i/statement"),
--   or nil, err
function M.decide_union(policies, ctx)
  local allow
  for i, p in ipairs(policies) do
    local r, err = M.decide(p, ctx, { full_aws_access = false })
    if not r then return nil, err end
    if r.decision == "deny" then
      r.policy = i
      return r
    end
    if r.decision == "allow" and not allow then
      allow = r
      allow.policy = i
    end
  end
  return allow or { decision = "implicit_deny", reason = "no policy allows " .. ctx.action }
end

-- The matrix --------------------------------------------------------------------

local MODE_KEY = "eks:controlPlaneEgressMode"
local MODES = { "AWS_MANAGED", "CUSTOMER_ROUTED", "CUSTOMER_ISOLATED" }

-- A concrete principal for an exempt pattern: a wildcarded account becomes an
-- example account id, other wildcards plain text.
local function example_arn(pattern)
  local head, account, tail = pattern:match("^(arn:[^:]*:[^:]*:[^:]*:)([^:]*)(:.*)$")
  if head and account:find("[%*%?]") then pattern = head .. "111122223333" .. tail end
  return (pattern:gsub("%*", "example"):gsub("%?", "x"))
end

--- The request contexts of the `--explain` matrix (issue 13 §1), without decisions.
-- @tparam[opt] table opts `principal_arn` (the caller of ordinary rows),
--   `exempt_role_arns` (adds rows for each exempt principal), `cluster_arn`
-- @return list of `{id, request, action, resource, principal, keys}`
function M.matrix_requests(opts)
  opts = opts or {}
  local principal = opts.principal_arn or "arn:aws:iam::111122223333:role/ClusterAdmin"
  local cluster = opts.cluster_arn or "arn:aws:eks:us-east-1:111122223333:cluster/example"
  local rows = {}
  local function add(id, request, action, keys, who)
    keys = keys or {}
    who = who or principal
    keys["aws:PrincipalArn"] = who
    rows[#rows + 1] = { id = id, request = request, action = action, resource = cluster, principal = who,
                        keys = keys }
  end
  add("create_without_key", "CreateCluster without controlPlaneEgressMode (AWS_MANAGED by default)",
      "eks:CreateCluster")
  for _, m in ipairs(MODES) do
    add("create_" .. m:lower(), "CreateCluster with controlPlaneEgressMode " .. m, "eks:CreateCluster",
        { [MODE_KEY] = m })
  end
  for _, m in ipairs(MODES) do
    add("update_mode_" .. m:lower(), "UpdateClusterConfig setting controlPlaneEgressMode " .. m,
        "eks:UpdateClusterConfig", { [MODE_KEY] = m })
  end
  add("update_logging", "UpdateClusterConfig changing logging (no egress key)", "eks:UpdateClusterConfig")
  add("update_endpoint_access", "UpdateClusterConfig changing endpoint access (no egress key)",
      "eks:UpdateClusterConfig", { ["eks:endpointPublicAccess"] = false, ["eks:endpointPrivateAccess"] = true })
  add("update_deletion_protection", "UpdateClusterConfig enabling deletion protection (no egress key)",
      "eks:UpdateClusterConfig", { ["eks:deletionProtection"] = true })
  for i, pattern in ipairs(opts.exempt_role_arns or {}) do
    local who = example_arn(pattern)
    local suffix = #opts.exempt_role_arns > 1 and ("_" .. i) or ""
    add("exempt_create_without_key" .. suffix, "CreateCluster without the key, by exempt " .. who,
        "eks:CreateCluster", nil, who)
    add("exempt_update_mode_aws_managed" .. suffix, "UpdateClusterConfig setting AWS_MANAGED, by exempt " .. who,
        "eks:UpdateClusterConfig", { [MODE_KEY] = "AWS_MANAGED" }, who)
  end
  return rows
end

--- Evaluate the policy over the matrix of request contexts.
-- @param policy an SCP document (table)
-- @tparam[opt] table opts as matrix_requests, plus `full_aws_access` (see decide)
-- @return rows `{id, request, action, principal, keys, decision, allowed, statement,
--   reason}`, or nil, err
function M.matrix(policy, opts)
  if type(policy) ~= "table" then misuse("policy must be a table") end
  opts = opts or {}
  local rows = M.matrix_requests(opts)
  for _, row in ipairs(rows) do
    local r, err = M.decide(policy, row, { full_aws_access = opts.full_aws_access })
    if not r then return nil, err end
    row.decision, row.statement, row.reason = r.decision, r.statement, r.reason
    row.allowed = r.decision == "allow"
  end
  return rows
end

return M
