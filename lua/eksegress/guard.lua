--- The irreversibility guard (decision function of the C core).
--
--     local d = require("eksegress.guard").check{
--       method = "POST", target = "/clusters/prod/update-config",
--       body = '{"resourcesVpcConfig":{"controlPlaneEgressMode":"CUSTOMER_ROUTED"}}',
--       current_mode = "AWS_MANAGED",   -- nil when unknown
--       acknowledge = "prod",           -- nil when not given
--       allow_undocumented = false,
--     }
--     -- d.action: "allow" | "refuse" | "noop"
--     -- d.code: nil for allow, else IrreversibleChangeNotAcknowledged,
--     --   IrreversibleTransitionRefused, UndocumentedMode, MixedUpdate,
--     --   CurrentModeUnknown, AmbiguousRequest, NoChange
--     -- d.cluster, d.from, d.to, d.message, d.touches_mode
--
-- This is the same C function the engine runs on every EKS request before
-- signing it; calling it here sends nothing.
local core = require "eksegress.core"

local M = {}

M.check = core.guard_check

return M
