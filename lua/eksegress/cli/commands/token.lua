--- eksegress token: an EKS bearer token for kubectl, like `aws eks get-token`.
local lazy = require "eksegress.cli.lazy"
local cjson = require "cjson"
local token = lazy(function() return require "eksegress.workflows.token" end)
local role = lazy(function() return require "eksegress.credentials.role" end)
local args_util = require "eksegress.cli.args"
local exit = require "eksegress.cli.exit"

local M = {
  name = "token",
  summary = "Print an EKS bearer token (ExecCredential JSON), like aws eks get-token",
  description = "Print an ExecCredential with a token for the cluster's Kubernetes API: a presigned STS "
    .. "GetCallerIdentity URL (regional endpoint, x-k8s-aws-id signed, valid 60 s to sign, accepted by "
    .. "EKS for 15 minutes) in the k8s-aws-v1 format. Use it as a kubeconfig exec plugin: "
    .. "command: eksegress, args: [token, --cluster, NAME, --region, REGION]. The apiVersion follows "
    .. "KUBERNETES_EXEC_INFO (client.authentication.k8s.io/v1 or v1beta1, the default). The URL always names "
    .. "the region's standard STS host, the only kind EKS accepts: --endpoint-url and AWS_ENDPOINT_URL[_STS] "
    .. "do not change it (they still serve --role-arn's AssumeRole). Nothing is sent to STS to make it.",
  examples = {
    "eksegress token --cluster prod-api --region us-east-1",
    "eksegress token --cluster prod-api --role-arn arn:aws:iam::111122223333:role/EksAdmin",
  },
  outputs = { "json" },
}

function M.configure(c)
  c:option("--cluster --cluster-name", "The cluster name (or the cluster id of an Outposts local cluster).")
  c:option("--role-arn", "Assume this role first (session name EKSGetTokenAuth) and sign with it.")
end

-- A JSON string as Python's json writes it: lua-cjson escapes "/" as "\/",
-- which means the same but differs from `aws eks get-token`'s bytes.
local function str(s)
  return (cjson.encode(s):gsub("\\/", "/"))
end

-- The key order of `aws eks get-token`'s output, for people who diff them.
local function render(cred)
  return ('{"kind": %s, "apiVersion": %s, "spec": {}, "status": {"expirationTimestamp": %s, "token": %s}}')
    :format(str(cred.kind), str(cred.apiVersion), str(cred.status.expirationTimestamp), str(cred.status.token))
end

function M.run(ctx, a)
  if not a.cluster then return args_util.usage("--cluster NAME is required") end
  local _, cerr = args_util.cluster("--cluster", a.cluster)
  if cerr then return args_util.usage(cerr) end
  if a.role_arn and not a.role_arn:find("^arn:[%w%-]+:iam::%d%d%d%d%d%d%d%d%d%d%d%d:role/.+") then
    return args_util.usage(("--role-arn %q is not an IAM role ARN"):format(a.role_arn))
  end
  local api_version, verr = token.api_version(ctx.env("KUBERNETES_EXEC_INFO"))
  if not api_version then
    ctx:fail("token", verr)
    return exit.USAGE
  end
  local client, err = ctx:client{}
  if not client then return ctx:fail("token", err) end
  if a.role_arn then
    client, err = ctx:client{ credentials = role.new{ source = client.credentials, role_arn = a.role_arn,
                                                      session_name = "EKSGetTokenAuth" } }
    if not client then return ctx:fail("token", err) end
  end
  local signer, serr = token.signer(client)
  if not signer then return ctx:fail("token", serr) end
  ctx.clients[#ctx.clients + 1] = signer
  local cred, terr = token.exec_credential(signer, { cluster = a.cluster, api_version = api_version })
  if not cred then return ctx:fail("token", terr, "cluster " .. a.cluster) end
  ctx.out:result(render(cred))
  return exit.OK
end

return M
