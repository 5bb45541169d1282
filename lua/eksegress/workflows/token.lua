--- An EKS bearer token, exactly as `aws eks get-token` makes it.
--
--     local token = require "eksegress.workflows.token"
--     local cred = token.exec_credential(client, { cluster = "prod", api_version = nil })
--     -- {kind = "ExecCredential", apiVersion = ..., spec = {}, status = {expirationTimestamp, token}}
--
-- The token is "k8s-aws-v1." + URL-safe base64 (no padding) of a presigned
-- STS GetCallerIdentity URL on the regional endpoint, valid 60 s for signing
-- purposes, with the cluster name in the signed header x-k8s-aws-id. The
-- presigning happens inside the client: this module never sees a secret.
-- Kubernetes' aws-iam-authenticator accepts such a URL for 15 minutes, so
-- the credential says it expires after 14.
--
-- The URL must name a standard STS host (sts.<region>.amazonaws.com, the
-- FIPS and .cn forms, sts.amazonaws.com): EKS refuses any other. So the
-- token is presigned by `M.signer(client)`, which ignores endpoint URLs
-- (--endpoint-url, AWS_ENDPOINT_URL[_STS], a profile's endpoint_url) for
-- the presign only; the credentials are still resolved through `client`, so
-- an assumed role is fetched from the client's own STS endpoint.
local base64 = require "eksegress.base64"
local errors = require "eksegress.errors"

local M = {}

M.PREFIX = "k8s-aws-v1."
M.DEFAULT_API_VERSION = "client.authentication.k8s.io/v1beta1"
M.API_VERSIONS = {
  ["client.authentication.k8s.io/v1beta1"] = true,
  ["client.authentication.k8s.io/v1"] = true,
  ["client.authentication.k8s.io/v1alpha1"] = true,
}
M.URL_EXPIRES = 60
M.TOKEN_MINUTES = 14

--- A client that presigns tokens for the standard STS endpoint of `client`'s
-- region (the configured FIPS and regional/legacy STS settings apply; endpoint
-- URLs do not: see the module comment). It runs on `client`'s runtime and
-- engine, so the signing time carries the clock offset the engine learned
-- from the service, and its credentials are `client`'s, resolved through
-- `client`. Presigning sends nothing. The caller closes it.
-- @treturn table the client, or nil, err
function M.signer(client)
  if type(client) ~= "table" or type(client.settings) ~= "table" then
    errors.misuse("token.signer: client must be an eksegress client", 2)
  end
  local credentials = require "eksegress.credentials"
  local options = require "eksegress.options"
  local s = client.settings
  local opts = {
    runtime = client.runtime, region = client.region, config = s.config, env = s.env,
    ignore_configured_endpoint_urls = true,
    use_fips_endpoint = s.use_fips_endpoint, sts_regional_endpoints = s.sts_regional_endpoints,
    credentials = { resolve = function() return credentials.resolve(client.credentials, client.ctx) end },
  }
  if s.profile_source == "option" then opts.profile = s.profile end
  -- The engine options of `client`, so both share one engine (and its clock).
  for _, o in ipairs(options.list) do
    if o.engine and s[o.name] ~= nil then opts[o.name] = s[o.name] end
  end
  return require("eksegress").client(opts)
end

--- The presigned URL and the token for a cluster.
-- @tparam table client an eksegress client (its credentials sign)
-- @tparam string cluster the cluster name (or, for an Outposts local cluster, its id)
-- @tparam[opt] table opts region
-- @treturn string token, string url; or nil, err
function M.token(client, cluster, opts)
  opts = opts or {}
  if type(cluster) ~= "string" or cluster == "" or #cluster > 100 then
    errors.misuse("token: cluster must be a cluster name or id", 2)
  end
  local url, err = client:presign("sts", "GetCallerIdentity", {}, {
    expires = M.URL_EXPIRES,
    headers = { ["x-k8s-aws-id"] = cluster },
    region = opts.region,
  })
  if not url then return nil, err end
  return M.PREFIX .. base64.encode_url(url), url
end

--- The apiVersion an exec plugin must answer with: from KUBERNETES_EXEC_INFO
-- (JSON set by kubectl), else v1beta1.
-- @treturn string, or nil, err for a malformed or unsupported value
function M.api_version(exec_info)
  if exec_info == nil or exec_info == "" then return M.DEFAULT_API_VERSION end
  local ok, info = pcall(require("cjson").decode, exec_info)
  if not ok or type(info) ~= "table" or info[1] ~= nil then
    return nil, errors.new("InvalidExecInfo", "KUBERNETES_EXEC_INFO is not valid JSON")
  end
  local v = info.apiVersion
  if v == nil or v == require("cjson").null then return M.DEFAULT_API_VERSION end
  if not M.API_VERSIONS[v] then
    return nil, errors.new("InvalidExecInfo", ("KUBERNETES_EXEC_INFO names apiVersion %q; eksegress answers %s"):format(
      tostring(v), "client.authentication.k8s.io/v1 or v1beta1"))
  end
  return v
end

--- The ExecCredential document.
-- @tparam table client the client that signs the token (its credentials and region)
-- @tparam table opts cluster, api_version, now (epoch seconds), region
-- @treturn table, or nil, err
function M.exec_credential(client, opts)
  local tok, err = M.token(client, opts.cluster, opts)
  if not tok then return nil, err end
  local now = opts.now or os.time()
  return {
    kind = "ExecCredential",
    apiVersion = opts.api_version or M.DEFAULT_API_VERSION,
    spec = setmetatable({}, { __jsontype = "object" }),
    status = {
      expirationTimestamp = os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(now) + M.TOKEN_MINUTES * 60),
      token = tok,
    },
  }
end

return M
