--- Checking command-line values before anything runs: each check returns
-- the parsed value, or nil and a message for a usage error (exit 64).
local settings = require "eksegress.settings"

local M = {}

--- Raise a usage error from inside a command's run (main() turns it into
-- one line and exit 64).
function M.usage(msg)
  error({ usage = true, code = "UsageError", message = msg }, 0)
end

--- An EKS cluster name (or an Outposts cluster id): letters, digits, - and _,
-- starting with a letter or digit, at most 100; nil stays nil.
function M.cluster(flag, s)
  if s == nil then return nil end
  if not require("eksegress.workflows.preflight").valid_cluster_name(s) then
    return nil, ("%s %q is not a cluster name (letters, digits, - and _, at most 100)"):format(flag, s)
  end
  return s
end

--- "a,b,c" -> {"a","b","c"} (empty items and surrounding spaces refused).
function M.list(flag, s)
  if s == nil then return nil end
  local out = {}
  for item in (s .. ","):gmatch("([^,]*),") do
    item = item:match("^%s*(.-)%s*$")
    if item == "" then return nil, flag .. " has an empty item in " .. ("%q"):format(s) end
    out[#out + 1] = item
  end
  return out
end

--- A region name (a DNS label, such as us-east-1); nil stays nil. The
-- client refuses anything else by raising (a misuse), so a flag's value is
-- checked here, where it is still a usage error.
function M.region(flag, s)
  if s == nil then return nil end
  if not settings.valid_region(s) then return nil, ("%s: %q is not a region name"):format(flag, s) end
  return s
end

--- --regions: "all" or a list of valid region names; nil stays nil.
function M.regions(s)
  if s == nil then return nil end
  if s == "all" then return "all" end
  local list, err = M.list("--regions", s)
  if not list then return nil, err end
  for _, r in ipairs(list) do
    local _, rerr = M.region("--regions", r)
    if rerr then return nil, rerr end
  end
  return list
end

--- 12-digit account ids.
function M.account_list(flag, s)
  local list, err = M.list(flag, s)
  if not list then return nil, err end
  for _, id in ipairs(list) do
    if not id:find("^%d%d%d%d%d%d%d%d%d%d%d%d$") then
      return nil, ("%s: %q is not a 12-digit account id"):format(flag, id)
    end
  end
  return list
end

--- A number of seconds in [lo, hi] (fractions allowed); nil stays nil.
function M.seconds(flag, s, lo, hi)
  if s == nil then return nil end
  local n = tonumber(s)
  if not n or n ~= n or n < lo or n > hi then
    return nil, ("%s must be a number of seconds from %d to %d (got %q)"):format(flag, lo, hi, tostring(s))
  end
  return n
end

--- An integer in [lo, hi]; nil stays nil.
function M.integer(flag, s, lo, hi)
  if s == nil then return nil end
  local n = math.tointeger(tonumber(s))
  if not n or not tostring(s):find("^%s*%d+%s*$") or n < lo or n > hi then
    return nil, ("%s must be an integer from %d to %d (got %q)"):format(flag, lo, hi, tostring(s))
  end
  return n
end

return M
