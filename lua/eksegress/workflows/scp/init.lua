--- Service control policies that enforce the control plane egress mode across an
-- AWS Organization (the `eks:controlPlaneEgressMode` condition key), and what each
-- variant blocks. Pure: no client, no network.
--
--     local scp = require "eksegress.workflows.scp"
--     local out = assert(scp.generate{ variant = "safe",
--       exempt_role_arns = { "arn:aws:iam::*:role/BreakGlass" } })
--     print(out.json)                      -- for `aws organizations create-policy --content`
--     for _, line in ipairs(out.blocks) do print(line) end
--     local rows = scp.matrix(out.policy, { exempt_role_arns = out.exempt_role_arns })
--
-- Variants (shared/docs/eks-egress-domain.md §10):
--   documented  AWS's own sample: deny CreateCluster and UpdateClusterConfig unless
--               the request's egress mode is the required one. A request without
--               the key fails StringNotEquals, so unless EKS fills the key from the
--               cluster's current mode (undocumented), every other configuration
--               update (logging, endpoint access, deletion protection) is denied too.
--   safe        (default) CreateCluster must carry the required mode; an
--               UpdateClusterConfig is denied only when it carries the key with
--               another value, so updates that do not touch the mode go through.
-- `require` is CUSTOMER_ROUTED (the default) or AWS_MANAGED (keep every cluster
-- on the reversible mode: no create or update may set anything else; omitting the
-- key means AWS_MANAGED, so it is allowed). The documented variant exists only for
-- CUSTOMER_ROUTED.
local evaluate = require "eksegress.workflows.scp.evaluate"

local M = {}

M.evaluate = evaluate.decide
M.matrix = evaluate.matrix

--- The SCP size quota (characters), AWS Organizations "Quotas": the document is
-- stored as sent by the API, white space included.
M.MAX_SIZE = 5120

local MODE_KEY = "eks:controlPlaneEgressMode"
local PRINCIPAL_KEY = "aws:PrincipalArn"
local VARIANTS = { safe = true, documented = true }
local REQUIRE = { CUSTOMER_ROUTED = true, AWS_MANAGED = true }

-- Runtime failures: nil plus an error table with code and message, printable.
-- (eksegress.errors is not used: it loads the C core, and this module stays pure.)
local ERROR_MT = { __tostring = function(e) return e.code .. ": " .. e.message end }

local function failure(code, message)
  return nil, setmetatable({ code = code, message = message }, ERROR_MT)
end

local function invalid(message)
  return failure("InvalidParameter", message)
end

-- A role ARN, optionally with IAM wildcards (ArnNotLike matches them): partition,
-- empty region, a 12-digit account (or a wildcard), "role/" and a path and name.
local function valid_role_arn(s)
  if type(s) ~= "string" or #s > 2048 then return false end
  local partition, account, name = s:match("^arn:([%w%-]+):iam::([%d%*%?]+):role/(.+)$")
  if not partition then return false end
  if not (partition:match("^aws[%w%-]*$")) then return false end
  if not (account:match("^%d+$") and #account == 12) and not account:find("[%*%?]") then return false end
  return name:match("^[%w+=,.@_/%-%*%?]+$") ~= nil
end

---------------------------------------------------------------------------------------
-- Canonical JSON: keys in a fixed order (policy grammar order, then sorted), no
-- escaped slashes, so the size reported is the size AWS counts.

local KEY_ORDER = { Version = 1, Id = 2, Statement = 3, Sid = 4, Effect = 5, Principal = 6, Action = 7,
                    NotAction = 8, Resource = 9, NotResource = 10, Condition = 11 }

local function key_less(a, b)
  local ra, rb = KEY_ORDER[a] or 100, KEY_ORDER[b] or 100
  if ra ~= rb then return ra < rb end
  return a < b
end

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local named = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
    return named[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

local function is_array(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

local encode_value

local function encode_table(t, indent, depth)
  local nl, pad, inner, sep = "", "", "", ":"
  if indent then
    nl = "\n"
    pad = (" "):rep(indent * depth)
    inner = (" "):rep(indent * (depth + 1))
    sep = ": "
  end
  if #t > 0 and is_array(t) then
    local parts = {}
    for i, v in ipairs(t) do parts[i] = inner .. encode_value(v, indent, depth + 1) end
    return "[" .. nl .. table.concat(parts, "," .. nl) .. nl .. pad .. "]"
  end
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" then error("eksegress.workflows.scp: a policy object key must be a string", 4) end
    keys[#keys + 1] = k
  end
  table.sort(keys, key_less)
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = inner .. encode_string(k) .. sep .. encode_value(t[k], indent, depth + 1) end
  if #parts == 0 then return "{}" end
  return "{" .. nl .. table.concat(parts, "," .. nl) .. nl .. pad .. "}"
end

function encode_value(v, indent, depth)
  local t = type(v)
  if t == "string" then return encode_string(v) end
  if t == "boolean" then return tostring(v) end
  if t == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return ("%.17g"):format(v)
  end
  if t == "table" then return encode_table(v, indent, depth) end
  error("eksegress.workflows.scp: cannot encode a " .. t .. " in a policy", 4)
end

--- A policy document as JSON: minified by default (what the size quota counts),
-- or indented with `opts.indent` spaces. Keys in policy-grammar order.
function M.to_json(policy, opts)
  if type(policy) ~= "table" then error("eksegress.workflows.scp.to_json: policy must be a table", 2) end
  return encode_value(policy, opts and opts.indent, 0)
end

---------------------------------------------------------------------------------------

local function exempt_condition(arns)
  if #arns == 0 then return nil end
  local list = {}
  for i, a in ipairs(arns) do list[i] = a end
  return { [PRINCIPAL_KEY] = list }
end

local function add_exemption(condition, arns)
  local ex = exempt_condition(arns)
  if ex then condition.ArnNotLike = ex end
  return condition
end

local function documented(require_mode, arns)
  return {
    {
      Sid = "RequireCustomerRoutedControlPlane",
      Effect = "Deny",
      Action = { "eks:CreateCluster", "eks:UpdateClusterConfig" },
      Resource = "*",
      Condition = add_exemption({ StringNotEquals = { [MODE_KEY] = require_mode } }, arns),
    },
  }
end

local function safe(require_mode, arns)
  -- Denied only when the request carries the key with another value.
  local carries_other = function()
    return add_exemption({ Null = { [MODE_KEY] = "false" }, StringNotEquals = { [MODE_KEY] = require_mode } }, arns)
  end
  if require_mode == "AWS_MANAGED" then
    -- Omitting the key means AWS_MANAGED, so both calls are only denied for another value.
    return {
      { Sid = "DenyEgressModeOtherThanAwsManaged", Effect = "Deny",
        Action = { "eks:CreateCluster", "eks:UpdateClusterConfig" }, Resource = "*", Condition = carries_other() },
    }
  end
  return {
    { Sid = "DenyCreateClusterWithoutCustomerRouted", Effect = "Deny", Action = "eks:CreateCluster",
      Resource = "*", Condition = add_exemption({ StringNotEquals = { [MODE_KEY] = require_mode } }, arns) },
    { Sid = "DenyEgressModeOtherThanCustomerRouted", Effect = "Deny", Action = "eks:UpdateClusterConfig",
      Resource = "*", Condition = carries_other() },
  }
end

local function describe(variant, require_mode, arns)
  local lines = {}
  local function say(s) lines[#lines + 1] = s end
  if variant == "documented" then
    say("Denies eks:CreateCluster unless the request sets controlPlaneEgressMode to CUSTOMER_ROUTED; a request "
      .. "that omits it (which means AWS_MANAGED) is denied.")
    say("Denies eks:UpdateClusterConfig unless the request sets controlPlaneEgressMode to CUSTOMER_ROUTED. EKS "
      .. "accepts one kind of update per call, so logging, endpoint-access and deletion-protection updates do not "
      .. "carry the key: unless EKS fills it from the cluster's current mode (not documented), they are denied "
      .. "too, on every cluster, including clusters already CUSTOMER_ROUTED. Try it in a sandbox OU first.")
    say("Allows CreateCluster and UpdateClusterConfig requests that set CUSTOMER_ROUTED.")
  elseif require_mode == "CUSTOMER_ROUTED" then
    say("Denies eks:CreateCluster unless the request sets controlPlaneEgressMode to CUSTOMER_ROUTED; a request "
      .. "that omits it (which means AWS_MANAGED) is denied.")
    say("Denies eks:UpdateClusterConfig requests that set controlPlaneEgressMode to anything other than "
      .. "CUSTOMER_ROUTED.")
    say("Allows UpdateClusterConfig requests that do not carry the key (logging, endpoint access, deletion "
      .. "protection, ...), and migrations to CUSTOMER_ROUTED.")
    say("Does not migrate existing AWS_MANAGED clusters: they stay as they are until migrated (the audit lists "
      .. "them).")
  else
    say("Denies eks:CreateCluster and eks:UpdateClusterConfig requests that set controlPlaneEgressMode to "
      .. "anything other than AWS_MANAGED, so no cluster can be switched to the irreversible CUSTOMER_ROUTED.")
    say("Allows requests that omit the key (AWS_MANAGED is the default) and every other configuration update.")
  end
  if #arns > 0 then
    say("Exempts principals whose ARN matches " .. table.concat(arns, ", ") .. " (ArnNotLike aws:PrincipalArn).")
  end
  say("Like every SCP, it does not apply to the management account or to service-linked roles.")
  return lines
end

--- Generate the SCP.
-- @tparam table opts `require` ("CUSTOMER_ROUTED" default, or "AWS_MANAGED"),
--   `variant` ("safe" default, or "documented"), `exempt_role_arns` (list of role
--   ARNs, IAM wildcards allowed)
-- @return `{policy = table, json = minified JSON, size = characters, variant =,
--   require =, exempt_role_arns = {...}, blocks = {plain-words lines}}`, or nil, err
--   (`code = "InvalidParameter"` for a bad value, `"PolicyTooLarge"` over 5,120
--   characters)
function M.generate(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("eksegress.workflows.scp.generate: opts must be a table", 2)
  end
  opts = opts or {}
  local variant = opts.variant or "safe"
  local require_mode = opts.require or "CUSTOMER_ROUTED"
  if not VARIANTS[variant] then
    return invalid(("unknown variant %q (expected safe or documented)"):format(tostring(variant)))
  end
  if not REQUIRE[require_mode] then
    return invalid(("cannot require egress mode %q (expected CUSTOMER_ROUTED or AWS_MANAGED)")
      :format(tostring(require_mode)))
  end
  if variant == "documented" and require_mode ~= "CUSTOMER_ROUTED" then
    return invalid("the documented variant is AWS's sample for CUSTOMER_ROUTED only; use the safe variant")
  end
  local raw = opts.exempt_role_arns or {}
  if type(raw) ~= "table" then
    error("eksegress.workflows.scp.generate: exempt_role_arns must be a list", 2)
  end
  local arns, seen = {}, {}
  for _, a in ipairs(raw) do
    if not valid_role_arn(a) then
      return invalid(("%s is not an IAM role ARN (arn:aws:iam::123456789012:role/Name, wildcards allowed)")
        :format(type(a) == "string" and ("%q"):format(a) or type(a)))
    end
    if not seen[a] then
      seen[a] = true
      arns[#arns + 1] = a
    end
  end
  local builder = variant == "documented" and documented or safe
  local policy = { Version = "2012-10-17", Statement = builder(require_mode, arns) }
  local json = M.to_json(policy)
  if #json > M.MAX_SIZE then
    return failure("PolicyTooLarge", ("the policy is %d characters, over the SCP quota of %d; exempt fewer "
      .. "roles or use a wildcard"):format(#json, M.MAX_SIZE))
  end
  return { policy = policy, json = json, size = #json, variant = variant, require = require_mode,
           exempt_role_arns = arns, blocks = describe(variant, require_mode, arns) }
end

return M
