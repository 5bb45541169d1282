--- EC2 instance metadata (IMDSv2, with the IMDSv1 fallback botocore has).
--
-- 1. PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds: 21600.
--    200: use the token (kept until shortly before its TTL ends);
--    403/404/405 (or other failures but a reachable service): IMDSv1, i.e.
--    GETs without a token, unless v1 is disabled (then an error);
--    400: fatal; unreachable: no credentials from IMDS.
-- 2. GET /latest/meta-data/iam/security-credentials/ -> role name.
-- 3. GET /latest/meta-data/iam/security-credentials/<role> -> JSON credentials.
-- A 401 on a GET means the token expired or was rejected: fetch a new one and
-- retry once (as Go v2, Java v2 and Rust do; botocore just fails).
--
-- Settings (eksegress.settings.metadata): disabled (AWS_EC2_METADATA_DISABLED),
-- v1_disabled, endpoint (AWS_EC2_METADATA_SERVICE_ENDPOINT, or by
-- endpoint mode IPv4/IPv6), timeout_ms, attempts.
local common = require "eksegress.protocols.common"
local secret = require "eksegress.secret"
local U = require "eksegress.credentials.util"

local M = {}

M.TOKEN_TTL = 21600
local TOKEN_PATH = "/latest/api/token"
local CREDS_PATH = "/latest/meta-data/iam/security-credentials/"
local REGION_PATH = "/latest/meta-data/placement/region"

local P = {}
P.__index = P

--- @tparam table opts metadata (the IMDS settings: eksegress.settings.metadata,
--   or settings.resolve(...).metadata; required), now
-- @treturn provider
function M.new(opts)
  -- Settings are resolved by the caller: this module never requires
  -- eksegress.settings (which requires this one, for region_from_imds).
  local md = type(opts) == "table" and opts.metadata
  if type(md) ~= "table" then
    error("credentials.imds.new: opts.metadata (IMDS settings from eksegress.settings) is required", 2)
  end
  return setmetatable({
    name = "imds",
    md = md,
    now = opts.now or os.time,
    token = nil,
    token_expires = 0,
  }, P)
end

local function http(self, ctx, method, path, headers)
  return ctx.http{ method = method, url = self.md.endpoint .. path, headers = headers or {},
    timeout_ms = self.md.timeout_ms }
end

-- token (string), false (use IMDSv1), or nil, err
function P:fetch_token(ctx)
  local now = self.now()
  if self.token and now < self.token_expires then return self.token end
  self.token = nil
  local reachable = false
  for _ = 1, self.md.attempts do
    local res = http(self, ctx, "PUT", TOKEN_PATH,
      { { "X-aws-ec2-metadata-token-ttl-seconds", tostring(M.TOKEN_TTL) } })
    if res then
      reachable = true
      local body = type(res.body) == "string" and res.body:gsub("%s+$", "") or ""
      if res.status == 200 and body ~= "" and not body:find("[\r\n]") then
        self.token = body
        self.token_expires = now + M.TOKEN_TTL - 60
        return body
      end
      if res.status == 400 then
        return nil, U.err("ImdsError", "IMDS refused the token request (HTTP 400)",
          { status = 400 })
      end
      if res.status == 403 or res.status == 404 or res.status == 405 then break end
    end
  end
  if not reachable then
    return nil, U.not_found("instance metadata service unreachable at " .. self.md.endpoint)
  end
  if self.md.v1_disabled then
    return nil, U.err("ImdsError", "IMDSv2 token unavailable and IMDSv1 fallback is disabled")
  end
  return false
end

--- GET a metadata path: body, or nil, err (err.status set for HTTP errors).
function P:get(ctx, path)
  if not (ctx and ctx.http) then
    return nil, U.err("NoHttpClient", "instance metadata needs ctx.http")
  end
  local token, err = self:fetch_token(ctx)
  if token == nil then return nil, err end
  local renewed = false
  local attempt, last = 0, nil
  while attempt < self.md.attempts do
    attempt = attempt + 1
    local headers = token and { { "X-aws-ec2-metadata-token", token } } or {}
    local res, herr = http(self, ctx, "GET", path, headers)
    if res and res.status == 200 and type(res.body) == "string" and res.body ~= "" then
      return res.body
    end
    if res and res.status == 401 and token and not renewed then
      -- Expired or rejected token: get a new one and try again (not counted).
      renewed = true
      self.token = nil
      token, err = self:fetch_token(ctx)
      if token == nil then return nil, err end
      attempt = attempt - 1
    elseif res and res.status == 404 then
      return nil, U.not_found("instance metadata " .. path .. " not found (HTTP 404)")
    else
      last = res and ("HTTP " .. tostring(res.status))
        or tostring(type(herr) == "table" and herr.message or herr)
    end
  end
  return nil, U.err("ImdsError", "instance metadata " .. path .. " failed: " .. tostring(last))
end

local function not_found_from(err)
  if U.is_not_found(err) or err.code == "ImdsError" and not err.status then
    return U.not_found(err.message)
  end
  return err
end

function P:resolve(ctx)
  if self.md.disabled then
    return nil, U.not_found("instance metadata disabled (AWS_EC2_METADATA_DISABLED)")
  end
  local body, err = self:get(ctx, CREDS_PATH)
  if not body then return nil, not_found_from(err) end
  local role = body:match("^%s*([^\r\n]+)")
  role = role and role:gsub("%s+$", "")
  if not role or not role:find("^[%w+=,.@_%-]+$") then
    return nil, U.not_found("instance metadata lists no usable IAM role")
  end
  body, err = self:get(ctx, CREDS_PATH .. role)
  if not body then return nil, not_found_from(err) end
  local doc = common.json_decode(body)
  if type(doc) ~= "table" or type(doc.AccessKeyId) ~= "string" or doc.AccessKeyId == ""
      or type(doc.SecretAccessKey) ~= "string" or doc.SecretAccessKey == "" then
    local code = type(doc) == "table" and type(doc.Code) == "string" and doc.Code or "no keys"
    return nil, U.not_found("instance metadata returned no credentials (" .. code .. ")")
  end
  local exp, why
  if doc.Expiration ~= nil then
    exp, why = U.parse_time(doc.Expiration)
    if not exp then return nil, U.err("ImdsError", "bad Expiration from IMDS: " .. why) end
  end
  return secret.credentials{
    access_key_id = doc.AccessKeyId, secret_access_key = doc.SecretAccessKey,
    session_token = type(doc.Token) == "string" and doc.Token or nil,
    expiration = exp, source = "imds",
  }
end

--- The instance's region (only on request; settings never asks by itself).
function P:region(ctx)
  if self.md.disabled then
    return nil, U.not_found("instance metadata disabled (AWS_EC2_METADATA_DISABLED)")
  end
  local body, err = self:get(ctx, REGION_PATH)
  if not body then return nil, err end
  local r = body:gsub("^%s+", ""):gsub("%s+$", "")
  if not r:find("^[%w][%w%-]*$") then
    return nil, U.err("ImdsError", "instance metadata returned an invalid region")
  end
  return r
end

return M
