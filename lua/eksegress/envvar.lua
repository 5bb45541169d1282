--- Reading environment variables, the one rule for all of eksegress.
--
--     local envvar = require "eksegress.envvar"
--     local v = envvar.get(env, "AWS_REGION")   -- env: function(name) -> value, or nil for os.getenv
--
-- An empty environment variable counts as unset (as in the AWS CLI v2 and
-- SDKs: `AWS_PROFILE= aws ...` means "no profile given", not a profile named "").
-- Every layer that reads the environment goes through `get`, so the rule is
-- written once. This module requires nothing.
local M = {}

--- The value of `name` read through `env` (default os.getenv); nil when unset or "".
function M.get(env, name)
  local v = (env or os.getenv)(name)
  if v == "" then return nil end
  return v
end

return M
