-- The guard at work: try to undo a migration, three ways, and watch each be
-- refused in the C core before anything is signed or sent.
--
-- Usage: lua5.4 examples/guard_refuses_revert.lua CLUSTER [REGION]
-- CLUSTER should already be CUSTOMER_ROUTED (the demo migrates `payments` in
-- us-west-2 first). Configuration comes from the environment and AWS config
-- files, as for the AWS CLI. Exit 0 when every attempt was refused, 1 when
-- one was sent (which would be a bug worth reporting), 2 on other errors.
local eksegress = require "eksegress"

local name, region = arg[1], arg[2]
if not name then
  io.stderr:write("usage: lua5.4 examples/guard_refuses_revert.lua CLUSTER [REGION]\n")
  os.exit(64)
end

local client, cerr = eksegress.client{ region = region }
if not client then
  io.stderr:write("cannot build a client: ", tostring(cerr), "\n")
  os.exit(2)
end

local attempts = {
  { what = "revert to AWS_MANAGED, acknowledged", mode = "AWS_MANAGED", acknowledge = name },
  { what = "revert spelled in lower case", mode = "aws_managed", acknowledge = name },
  { what = "switch to CUSTOMER_ISOLATED, acknowledged", mode = "CUSTOMER_ISOLATED", acknowledge = name },
}

local sent = 0
for _, a in ipairs(attempts) do
  local out, err = client:call("eks", "UpdateClusterConfig",
    { name = name, resourcesVpcConfig = { controlPlaneEgressMode = a.mode } },
    { acknowledge = a.acknowledge })
  if out and out.noop then -- the cluster already has that mode: nothing to send
    print(string.format("%-42s no-op, nothing sent: %s", a.what, out.message))
  elseif out then
    sent = sent + 1
    print(string.format("%-42s SENT (update %s)", a.what, out.update and out.update.id or "?"))
  elseif err.guard then -- refused by the guard: nothing was signed or sent
    print(string.format("%-42s refused: %s", a.what, err.code))
    print("    " .. err.message)
  else
    print(string.format("%-42s error: %s: %s", a.what, err.code, err.message))
    client:close()
    os.exit(2)
  end
end
client:close()
os.exit(sent == 0 and 0 or 1)
