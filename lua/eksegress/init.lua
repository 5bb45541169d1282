--- eksegress: automate Amazon EKS control plane egress from Lua.
--
--     local eksegress = require "eksegress"
--     local client = eksegress.client{ region = "us-west-2" }
--     local out, err = client:call("eks", "DescribeCluster", { name = "prod" })
--
-- Submodules load on first use, so `require "eksegress"` stays cheap.
local M = { version = "0.1.0" }

--- Create a client (see eksegress.client).
function M.client(opts)
  return require("eksegress.client").new(opts)
end

--- Run fn over items concurrently (see eksegress.parallel).
function M.parallel(items, fn, opts)
  return require("eksegress.parallel")(items, fn, opts)
end

setmetatable(M, {
  __index = function(t, k)
    local ok, mod = pcall(require, "eksegress." .. k)
    if ok then
      rawset(t, k, mod)
      return mod
    end
    return nil
  end,
})

return M
