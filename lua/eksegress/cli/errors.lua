--- One clear line per error: what failed, on which target, why, what to do.
--
--     eksegress: audit: account 444455556666: cannot assume ...: AccessDenied (HTTP 403). Check that
--     the role exists and trusts the caller.
--
-- Never a traceback (that is --debug's job), never a secret: messages coming
-- from servers are already scrubbed by the client.
local M = {}

-- What to do, by error code. Keys are AWS codes or eksegress codes.
local GRANT = "grant the permission named in the message (README: Using it against a real AWS account; "
  .. "docs/iam/)"
local HINTS = {
  CredentialsNotFound = "configure credentials: --profile, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
  NoCredentials = "configure credentials: --profile, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
  NoRegion = "pass --region (or --regions), or set AWS_REGION",
  InvalidRegion = "pass a valid region name such as us-east-1",
  ProfileNotFound = "check --profile and the profiles in ~/.aws/config",
  InvalidConfig = "fix the named setting in the environment or the AWS config file",
  ExpiredToken = "refresh your credentials (aws sso login, or new session keys)",
  ExpiredTokenException = "refresh your credentials (aws sso login, or new session keys)",
  UnrecognizedClientException = "check the access key, and that the region is enabled for the account",
  InvalidClientTokenId = "check the access key id",
  AuthFailure = "check the access key and the region",
  SignatureDoesNotMatch = "check the secret access key, and the system clock",
  InvalidSignatureException = "check the secret access key, and the system clock",
  AccessDenied = GRANT,
  AccessDeniedException = GRANT,
  UnauthorizedOperation = GRANT,
  ConnectionError = "check the network, a proxy, or --endpoint-url",
  Timeout = "the service did not answer in time: retry, or raise --cli-read-timeout",
  ThrottlingException = "the service throttled every retry: retry later or lower --concurrency",
  ResourceNotFoundException = "check the cluster name and --region",
  IrreversibleChangeNotAcknowledged = "this change is permanent: confirm it with --confirm <cluster name>",
  IrreversibleTransitionRefused = "CUSTOMER_ROUTED cannot be reverted; no option overrides this",
  CurrentModeUnknown = "eksegress could not read the cluster's current mode just before the update; retry",
  UndocumentedMode = "CUSTOMER_ISOLATED and unknown modes are undocumented: eksegress will not set them",
  MixedUpdate = "send the egress mode change alone",
  JournalLocked = "another eksegress apply is using this journal; wait for it, or pass another --journal",
  PaginationLimit = "the service kept returning pages; retry, or report it",
}

-- Access denied by an explicit deny in a service control policy (or a
-- permissions boundary, or a session policy): granting a permission in the
-- caller's IAM policy cannot help, so the generic hint would send people the
-- wrong way.
local DENIED = { AccessDenied = true, AccessDeniedException = true, UnauthorizedOperation = true }
local EXPLICIT_DENY_HINT = "an explicit deny (a service control policy, permissions boundary or session policy) "
  .. "blocks this call, and no grant in your own policy overrides it: ask the organization's administrators, "
  .. "or leave this region or account out"

local function hint_for(err, msg)
  if err.hint then return err.hint end
  if DENIED[err.code] then
    local lower = msg:lower()
    if lower:find("explicit deny", 1, true) or lower:find("service control polic", 1, true) then
      return EXPLICIT_DENY_HINT
    end
  end
  return HINTS[err.code]
end

--- Format err as one line.
-- @tparam string command the subcommand ("audit"), or nil
-- @param err an eksegress error table, or any value
-- @tparam[opt] string target what it was about ("account 1111...", "cluster prod")
function M.line(command, err, target)
  local parts = { "eksegress" }
  if command then parts[#parts + 1] = command end
  if target then parts[#parts + 1] = target end
  local msg
  if type(err) == "table" then
    msg = tostring(err.message or err.code or "error")
    if err.code and not msg:find(err.code, 1, true) then msg = msg .. " (" .. tostring(err.code) .. ")" end
    if err.status then msg = msg .. " [HTTP " .. tostring(err.status) .. "]" end
    local hint = hint_for(err, msg)
    if hint then msg = msg .. ". " .. hint:gsub("^%l", string.upper) end
  else
    msg = tostring(err)
  end
  msg = msg:gsub("[\r\n]+", " ")
  parts[#parts + 1] = msg
  return table.concat(parts, ": ")
end

M.HINTS = HINTS
return M
