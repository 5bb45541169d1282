--- eksegress: automate Amazon EKS control plane egress from Lua.
--
--     local eksegress = require "eksegress"
--     local client = assert(eksegress.client{ region = "us-west-2" })
--     local out, err = client:call("eks", "DescribeCluster", { name = "prod" })
--
-- Submodules load on first use (`eksegress.runtime`, `eksegress.options`, ...),
-- so `require "eksegress"` stays cheap. A name that is no module of ours reads
-- as nil; a module of ours that fails to load raises its real error.
-- `eksegress.version` is the C core's version string.
local M = {}

--- Create a client (see eksegress.client): client, or nil, err.
function M.client(opts)
  -- not a tail call: misuse errors name the caller's line, two levels up
  local client, err = require("eksegress.client").new(opts)
  return client, err
end

--- Run fn over items concurrently (see eksegress.parallel).
function M.parallel(items, fn, opts)
  return require("eksegress.parallel")(items, fn, opts)
end

-- Used only when a core built before it reported its version is loaded.
local FALLBACK_VERSION = "0.1.0"

-- Is there a module `name` on the search paths? (Asked before require, so that
-- a module that exists but fails to load is never mistaken for a missing one.)
local function exists(name)
  return package.searchpath(name, package.path) ~= nil or package.searchpath(name, package.cpath) ~= nil
end

setmetatable(M, {
  __index = function(t, k)
    if k == "version" then
      local v = require("eksegress.core").version or FALLBACK_VERSION
      rawset(t, k, v)
      return v
    end
    if type(k) ~= "string" or not k:find("^[%a_][%w_]*$") then return nil end
    local name = "eksegress." .. k
    if package.loaded[name] == nil and not package.preload[name] and not exists(name) then return nil end
    local mod = require(name)
    rawset(t, k, mod)
    return mod
  end,
})

return M
