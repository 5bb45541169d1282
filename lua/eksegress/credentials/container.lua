--- Container credentials: ECS task roles and EKS Pod Identity.
--
-- * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: http://169.254.170.2<relative> (ECS; wins).
-- * AWS_CONTAINER_CREDENTIALS_FULL_URI: any https URL, or http only to a
--   loopback address (127.0.0.0/8, ::1, localhost) or the ECS / Pod Identity
--   agents 169.254.170.2, 169.254.170.23, fd00:ec2::23 (botocore's rule).
-- * Authorization header: the contents of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
--   (read again at every fetch: Pod Identity rotates it; a regular file of at
--   most 64 KiB, credentials.util.read_file) or else
--   AWS_CONTAINER_AUTHORIZATION_TOKEN; a value containing CR or LF is refused.
-- * GET with Accept: application/json, 2 s timeout, up to 3 attempts on
--   network errors and 5xx. Response {AccessKeyId, SecretAccessKey, Token,
--   Expiration, AccountId?}, decoded with the codecs' bounded JSON decoder.
-- Errors never echo the response body (a 200 body carries secrets).
local common = require "eksegress.protocols.common"
local secret = require "eksegress.secret"
local U = require "eksegress.credentials.util"
local endpoints = require "eksegress.endpoints"

local M = {}

local ECS_HOST = "http://169.254.170.2"
local ALLOWED_HTTP_HOSTS = { ["169.254.170.2"] = true, ["169.254.170.23"] = true,
                             ["fd00:ec2::23"] = true }

--- Check a full URI against the allowed-host rules.
-- @treturn[1] string the URI
-- @treturn[2] nil, err
function M.check_full_uri(uri)
  local function bad(why)
    return nil, U.err("InvalidConfig", "AWS_CONTAINER_CREDENTIALS_FULL_URI " .. why)
  end
  if uri:find("[%s%c]") then return bad("contains whitespace or control characters") end
  local scheme, authority = uri:match("^(%a[%w+.-]*)://([^/?#]*)")
  if not scheme then return bad("is not an absolute URL") end
  if authority:find("@", 1, true) then return bad("must not carry user information") end
  local host
  if authority:sub(1, 1) == "[" then
    host = authority:match("^%[([^%]]+)%]")
  else
    host = authority:match("^([^:]*)")
  end
  if not host or host == "" then return bad("has no host") end
  scheme, host = scheme:lower(), host:lower()
  if scheme == "https" then return uri end
  if scheme == "http" and (endpoints.is_loopback(host) or ALLOWED_HTTP_HOSTS[host]) then
    return uri
  end
  return bad("must use https, or http to a loopback address, 169.254.170.2, "
    .. "169.254.170.23 or fd00:ec2::23")
end

local P = {}
P.__index = P

--- @tparam table opts env, read_file, timeout_ms (2000), attempts (3)
function M.new(opts)
  opts = opts or {}
  return setmetatable({
    name = "container",
    env = opts.env or os.getenv,
    read_file = opts.read_file or U.read_file,
    timeout_ms = opts.timeout_ms or 2000,
    attempts = opts.attempts or 3,
  }, P)
end

--- Is the container provider configured in this environment?
function P:configured()
  return U.getenv(self.env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") ~= nil
    or U.getenv(self.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI") ~= nil
end

function P:url()
  local rel = U.getenv(self.env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
  if rel then
    if rel:sub(1, 1) ~= "/" or rel:find("[%s%c]") then
      return nil, U.err("InvalidConfig", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with /")
    end
    return ECS_HOST .. rel
  end
  local full = U.getenv(self.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI")
  if full then return M.check_full_uri(full) end
  return nil, U.not_found("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are not set")
end

function P:token()
  local file = U.getenv(self.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
  local token
  if file then
    local text, rerr = self.read_file(file)
    if not text then
      return nil, U.file_error("InvalidConfig", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", file, rerr)
    end
    token = text:gsub("^%s+", ""):gsub("%s+$", "")
  else
    token = U.getenv(self.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN")
  end
  if token and token:find("[\r\n]") then
    return nil, U.err("InvalidConfig", "the container authorization token contains CR or LF")
  end
  return token or false
end

local function parse(body)
  local doc, refused, reason = common.json_decode(body or "")
  if reason then
    return nil, U.err("InvalidContainerResponse", "container credentials response refused: " .. refused,
      { reason = reason })
  end
  if type(doc) ~= "table" or type(doc.AccessKeyId) ~= "string" or doc.AccessKeyId == ""
      or type(doc.SecretAccessKey) ~= "string" or doc.SecretAccessKey == "" then
    return nil, U.err("InvalidContainerResponse",
      "container credentials endpoint returned no usable credentials")
  end
  local exp, why
  if doc.Expiration ~= nil then
    exp, why = U.parse_time(doc.Expiration)
    if not exp then
      return nil, U.err("InvalidContainerResponse", "bad Expiration: " .. why)
    end
  end
  local token = doc.Token
  if type(token) ~= "string" then token = nil end
  local account = doc.AccountId
  if type(account) ~= "string" then account = U.account_from_arn(doc.RoleArn) end
  return secret.credentials{
    access_key_id = doc.AccessKeyId, secret_access_key = doc.SecretAccessKey,
    session_token = token, expiration = exp, account_id = account, source = "container",
  }
end

function P:resolve(ctx)
  local url, err = self:url()
  if not url then return nil, err end
  if not (ctx and ctx.http) then
    return nil, U.err("NoHttpClient", "container credentials need ctx.http")
  end
  local last
  for attempt = 1, self.attempts do
    -- Re-read the token on every attempt: it may have just been rotated.
    local token, terr = self:token()
    if not token and terr then return nil, terr end
    local headers = { { "Accept", "application/json" } }
    if token then headers[#headers + 1] = { "Authorization", token } end
    local res, herr = ctx.http{ method = "GET", url = url, headers = headers,
      timeout_ms = self.timeout_ms }
    if res and res.status == 200 then return parse(res.body) end
    if res then
      local doc = common.json_decode(res.body or "")
      local detail = ""
      if type(doc) == "table" then
        local code = doc.code or doc.Code
        local msg = doc.message or doc.Message
        if type(code) == "string" then detail = detail .. " " .. code end
        if type(msg) == "string" then detail = detail .. ": " .. msg:sub(1, 300) end
      end
      last = U.err("ContainerCredentialsError", "container credentials endpoint returned HTTP "
        .. tostring(res.status) .. detail, { status = res.status })
      if res.status < 500 then return nil, last end
    else
      last = U.err("ContainerCredentialsError", "container credentials endpoint unreachable: "
        .. tostring(type(herr) == "table" and herr.message or herr))
    end
    if attempt < self.attempts and ctx.sleep then ctx.sleep(1) end
  end
  return nil, last
end

return M
