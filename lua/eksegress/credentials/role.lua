--- A role assumed from a program, not from a profile: the provider an
-- organization-wide workflow uses to read each member account.
--
--     local role = require "eksegress.credentials.role"
--     local p = role.new{ source = base_client.credentials,
--                         role_arn = "arn:aws:iam::444455556666:role/EksAuditRole",
--                         session_name = "eksegress-audit", source_identity = "alice" }
--     local member = eksegress.client{ credentials = p, runtime = base_client.runtime }
--
-- The source's credentials sign STS AssumeRole; the result is cached and
-- refreshed by the client like any other provider. Errors name the role and
-- keep the AWS code (AccessDenied, ...), so a caller can list the account with
-- its reason and go on with the others.
local U = require "eksegress.credentials.util"
local errors = require "eksegress.errors"

local M = {}

local P = {}
P.__index = P

-- AssumeRole's own limits (STS API reference): a session name of 2-64
-- characters of [\w+=,.@-], a source identity of 2-64 of the same set.
local NAME_PATTERN = "^[%w+=,.@_%-]+$"

local function check_name(what, v)
  if v == nil then return end
  if type(v) ~= "string" or #v < 2 or #v > 64 or not v:find(NAME_PATTERN) then
    errors.misuse(("role.new: %s must be 2-64 characters of letters, digits and +=,.@_-"):format(what), 3)
  end
end

--- Create the provider.
-- @tparam table opts source (provider, cache or credentials: what signs
--   AssumeRole), role_arn, session_name (default "eksegress-<unix time>"),
--   source_identity, external_id, duration (seconds, 900-43200), region
--   (the STS region; default the calling client's)
function M.new(opts)
  if type(opts) ~= "table" then errors.misuse("role.new: options must be a table", 2) end
  if opts.source == nil then errors.misuse("role.new: source is required", 2) end
  if type(opts.role_arn) ~= "string" or not opts.role_arn:find("^arn:[%w%-]+:iam::%d%d%d%d%d%d%d%d%d%d%d%d:role/") then
    errors.misuse("role.new: role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)", 2)
  end
  check_name("session_name", opts.session_name)
  check_name("source_identity", opts.source_identity)
  if opts.duration ~= nil and (math.type(opts.duration) ~= "integer"
      or opts.duration < 900 or opts.duration > 43200) then
    errors.misuse("role.new: duration must be an integer from 900 to 43200", 2)
  end
  return setmetatable({
    name = "assume_role",
    source = opts.source,
    role_arn = opts.role_arn,
    session_name = opts.session_name,
    source_identity = opts.source_identity,
    external_id = opts.external_id,
    duration = opts.duration,
    region = opts.region,
  }, P)
end

function P:resolve(ctx)
  if not (ctx and ctx.sts) then
    return nil, U.err("NoStsClient", "assuming a role needs ctx.sts")
  end
  local credentials = require "eksegress.credentials"
  local base, err = credentials.resolve(self.source, ctx)
  if not base then return nil, err end
  local res, serr = ctx.sts("AssumeRole", {
    RoleArn = self.role_arn,
    RoleSessionName = self.session_name or ("eksegress-" .. math.floor(os.time())),
    SourceIdentity = self.source_identity,
    ExternalId = self.external_id,
    DurationSeconds = self.duration,
  }, { credentials = base, region = self.region })
  if not res then
    local code = type(serr) == "table" and serr.code or "AssumeRoleFailed"
    local msg = type(serr) == "table" and tostring(serr.message) or tostring(serr)
    return nil, U.err(code, "cannot assume " .. self.role_arn .. ": " .. msg,
      type(serr) == "table" and { status = serr.status, request_id = serr.request_id,
        retryable = serr.retryable, throttling = serr.throttling, role_arn = self.role_arn } or nil)
  end
  return U.from_sts(res, "assume_role", "AssumeRole")
end

function P:__tostring()
  return "eksegress.credentials.role (" .. self.role_arn .. ")"
end

return M
