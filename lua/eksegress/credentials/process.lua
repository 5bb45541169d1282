--- credential_process: run a command that prints credentials as JSON.
--
-- The command line is split like a POSIX shell splits words (whitespace,
-- '...', "..." with \\ \" \$ \` escapes, backslash outside quotes), and the
-- resulting argv is run without shell interpretation, the program found through
-- PATH, as botocore does (shlex split, Popen without a shell).
--
-- The helper runs through eksegress.core.run_process: in a process group of its
-- own, stdin from /dev/null, this process's environment, stdout and stderr
-- captured. It has `timeout_ms` (default 60 s) to finish, and may print at most
-- `max_output` bytes (default 1 MiB) on each stream; past either, the whole
-- process group is killed (SIGTERM, then SIGKILL) and the provider fails. A
-- helper that prints credentials and keeps stdout open (a daemon that forgot to
-- close it) is a timeout. With stdin closed and outside the terminal's foreground
-- process group, a helper cannot prompt (the AWS CLI lets it): interactive
-- sign-in must happen before eksegress runs.
--
-- stdout must be JSON: {"Version": 1, "AccessKeyId", "SecretAccessKey",
-- "SessionToken"?, "Expiration"? (ISO 8601), "AccountId"?}, decoded with the
-- codecs' bounded decoder. Without an Expiration the credentials never expire;
-- with one, the cache re-runs the command before then. Errors never include
-- stdout (it holds secrets).
--
-- A command that exits with a non-zero status is run once more after a
-- 1 s pause (`attempts`, default 2; the pause through ctx.sleep when the
-- caller gives one, so other tasks go on): an SSO helper's network blip must
-- not fail a fleet-wide run. A timeout, an output over the cap, a missing
-- program or output that is not credentials is not retried: a second run
-- cannot change it, or would double the wait.
local core = require "eksegress.core"
local common = require "eksegress.protocols.common"
local secret = require "eksegress.secret"
local U = require "eksegress.credentials.util"

local M = {}

local MAX_STDERR = 2048

--- Split a command line into argv, shell-style.
-- @treturn[1] table argv
-- @treturn[2] nil, err (unterminated quote or trailing backslash)
function M.split(line)
  local argv, cur, have = {}, {}, false
  local i, n = 1, #line
  local function bad(why)
    return nil, U.err("InvalidConfig", "credential_process: " .. why)
  end
  while i <= n do
    local c = line:sub(i, i)
    if c == " " or c == "\t" or c == "\n" or c == "\r" then
      if have then
        argv[#argv + 1] = table.concat(cur)
        cur, have = {}, false
      end
      i = i + 1
    elseif c == "'" then
      local j = line:find("'", i + 1, true)
      if not j then return bad("unterminated single quote") end
      cur[#cur + 1] = line:sub(i + 1, j - 1)
      have, i = true, j + 1
    elseif c == '"' then
      have = true
      i = i + 1
      while true do
        if i > n then return bad("unterminated double quote") end
        local d = line:sub(i, i)
        if d == '"' then
          i = i + 1
          break
        elseif d == "\\" and i < n then
          local e = line:sub(i + 1, i + 1)
          if e == "\\" or e == '"' or e == "$" or e == "`" then
            cur[#cur + 1] = e
          elseif e ~= "\n" then
            cur[#cur + 1] = "\\" .. e
          end
          i = i + 2
        else
          cur[#cur + 1] = d
          i = i + 1
        end
      end
    elseif c == "\\" then
      if i == n then return bad("trailing backslash") end
      local e = line:sub(i + 1, i + 1)
      if e ~= "\n" then
        cur[#cur + 1] = e
        have = true
      end
      i = i + 2
    else
      cur[#cur + 1] = c
      have = true
      i = i + 1
    end
  end
  if have then argv[#argv + 1] = table.concat(cur) end
  if #argv == 0 then return bad("empty command") end
  return argv
end

--- Defaults of the helper's deadline and output cap (per stream).
M.TIMEOUT_MS = 60000
M.MAX_OUTPUT = 1024 * 1024
--- Runs of a command that exits non-zero (the first and one retry).
M.ATTEMPTS = 2

--- Run argv (no shell interpretation) with a deadline and an output cap.
-- @treturn[1] string stdout
-- @treturn[1] integer status: the exit code, or 128 + signal number for a signal
-- @treturn[1] string stderr
-- @treturn[2] nil, err (ProcessTimeout, ProcessOutputTooLarge, ProcessNotFound,
--   ProcessError, InvalidCommand: the process did not complete by itself)
function M.run(argv, opts)
  opts = opts or {}
  local r, err = core.run_process(argv, { timeout_ms = opts.timeout_ms or M.TIMEOUT_MS,
    max_output = opts.max_output or M.MAX_OUTPUT })
  if not r then return nil, err end
  return r.stdout, r.status, r.stderr
end

local P = {}
P.__index = P

--- A provider for one credential_process command line.
-- @tparam table opts command (string), profile (for messages), run (function(argv,
--   {timeout_ms, max_output}) -> stdout, status, stderr | nil, err; default M.run),
--   timeout_ms (default M.TIMEOUT_MS), max_output (default M.MAX_OUTPUT),
--   attempts (runs when the command exits non-zero, default M.ATTEMPTS)
function M.new(opts)
  return setmetatable({ name = "process", command = opts.command, profile = opts.profile or "?",
    run = opts.run or M.run, timeout_ms = opts.timeout_ms or M.TIMEOUT_MS,
    max_output = opts.max_output or M.MAX_OUTPUT, attempts = opts.attempts or M.ATTEMPTS }, P)
end

local function fail(self, msg, extra)
  return nil, U.err("CredentialProcessError",
    "credential_process of profile " .. self.profile .. ": " .. msg, extra)
end

-- Why the helper did not complete, for the message (never its output).
local RUN_FAILURES = {
  ProcessTimeout = function(self)
    return ("the command did not finish within %g s and was stopped"):format(self.timeout_ms / 1000)
  end,
  ProcessOutputTooLarge = function(_, err)
    return "the command's output went over the limit: " .. tostring(err.message)
  end,
}

function P:resolve(ctx)
  local argv, err = M.split(self.command)
  if not argv then return nil, err end
  local out, status, stderr
  for attempt = 1, self.attempts do
    out, status, stderr = self.run(argv, { timeout_ms = self.timeout_ms, max_output = self.max_output })
    if out == nil or status == 0 or attempt == self.attempts then break end
    if ctx and ctx.sleep then ctx.sleep(1) else core.sleep_ms(1000) end
  end
  if out == nil then
    local rerr = status
    local why = type(rerr) == "table" and RUN_FAILURES[rerr.code]
    return fail(self, why and why(self, rerr)
      or tostring(type(rerr) == "table" and rerr.message or rerr),
      { reason = type(rerr) == "table" and rerr.code or nil })
  end
  if status ~= 0 then
    stderr = (stderr or ""):gsub("%s+$", "")
    if #stderr > MAX_STDERR then stderr = stderr:sub(1, MAX_STDERR) .. "..." end
    return fail(self, "command exited with status " .. tostring(status)
      .. (stderr ~= "" and (": " .. stderr) or ""))
  end
  local doc, why, reason = common.json_decode(out or "")
  if not doc then
    return fail(self, reason and ("output refused: " .. why) or "output is not a JSON object",
      { reason = reason })
  end
  if doc.Version ~= 1 then return fail(self, "output Version must be 1") end
  if type(doc.AccessKeyId) ~= "string" or doc.AccessKeyId == "" then
    return fail(self, "output has no AccessKeyId")
  end
  if type(doc.SecretAccessKey) ~= "string" or doc.SecretAccessKey == "" then
    return fail(self, "output has no SecretAccessKey")
  end
  local token = doc.SessionToken
  if token ~= nil and type(token) ~= "string" then return fail(self, "bad SessionToken") end
  local exp
  if doc.Expiration ~= nil then
    local perr
    exp, perr = U.parse_time(doc.Expiration)
    if not exp then return fail(self, "bad Expiration: " .. perr) end
  end
  local account = doc.AccountId
  if type(account) ~= "string" then account = nil end
  return secret.credentials{
    access_key_id = doc.AccessKeyId, secret_access_key = doc.SecretAccessKey,
    session_token = token, expiration = exp, account_id = account, source = "process",
  }
end

return M
