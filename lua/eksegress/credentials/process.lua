--- credential_process: run a command that prints credentials as JSON.
--
-- The command line is split like a POSIX shell splits words (whitespace,
-- '...', "..." with \\ \" \$ \` escapes, backslash outside quotes), and the
-- resulting argv is run without shell interpretation: plain Lua only has
-- io.popen (which runs /bin/sh -c), so every argument is single-quoted and the
-- shell merely execs the argv. stderr goes to a temporary file so a failure
-- can report it. The child inherits this process's environment and stdin
-- (as with botocore), so a helper may prompt.
--
-- stdout must be JSON: {"Version": 1, "AccessKeyId", "SecretAccessKey",
-- "SessionToken"?, "Expiration"? (ISO 8601), "AccountId"?}. Without an
-- Expiration the credentials never expire; with one, the cache re-runs the
-- command before then. Errors never include stdout (it holds secrets).
local cjson = require "cjson.safe"
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

--- Quote one argument for /bin/sh: inside single quotes nothing is special,
-- and a single quote is written as '\''.
function M.quote(arg)
  return "'" .. arg:gsub("'", "'\\''") .. "'"
end

--- Run argv (no shell interpretation); returns stdout, exit status, stderr.
-- The status is the exit code, or 128 + signal number for a signal.
function M.run(argv)
  local errfile = os.tmpname()
  local parts = {}
  for i, a in ipairs(argv) do parts[i] = M.quote(a) end
  local cmd = "exec " .. table.concat(parts, " ") .. " 2>" .. M.quote(errfile)
  local f, perr = io.popen(cmd, "r")
  if not f then
    os.remove(errfile)
    return nil, -1, tostring(perr)
  end
  local out = f:read("a") or ""
  local _, how, code = f:close()
  local ef = io.open(errfile, "rb")
  local stderr = ef and ef:read("a") or ""
  if ef then ef:close() end
  os.remove(errfile)
  local status = code or -1
  if how == "signal" then status = 128 + (code or 0) end
  return out, status, stderr
end

local P = {}
P.__index = P

--- A provider for one credential_process command line.
-- @tparam table opts command (string), profile (for messages), run (function(argv) ->
--   stdout, status, stderr; default M.run)
function M.new(opts)
  return setmetatable({ name = "process", command = opts.command, profile = opts.profile or "?",
    run = opts.run or M.run }, P)
end

local function fail(self, msg)
  return nil, U.err("CredentialProcessError",
    "credential_process of profile " .. self.profile .. ": " .. msg)
end

function P:resolve()
  local argv, err = M.split(self.command)
  if not argv then return nil, err end
  local out, status, stderr = self.run(argv)
  if status ~= 0 then
    stderr = (stderr or ""):gsub("%s+$", "")
    if #stderr > MAX_STDERR then stderr = stderr:sub(1, MAX_STDERR) .. "..." end
    return fail(self, "command exited with status " .. tostring(status)
      .. (stderr ~= "" and (": " .. stderr) or ""))
  end
  local doc = cjson.decode(out or "")
  if type(doc) ~= "table" then return fail(self, "output is not a JSON object") end
  if doc.Version ~= 1 then return fail(self, "output Version must be 1") end
  if type(doc.AccessKeyId) ~= "string" or doc.AccessKeyId == "" then
    return fail(self, "output has no AccessKeyId")
  end
  if type(doc.SecretAccessKey) ~= "string" or doc.SecretAccessKey == "" then
    return fail(self, "output has no SecretAccessKey")
  end
  local token = doc.SessionToken
  if token == cjson.null then token = nil end
  if token ~= nil and type(token) ~= "string" then return fail(self, "bad SessionToken") end
  local exp
  if doc.Expiration ~= nil and doc.Expiration ~= cjson.null then
    local why
    exp, why = U.parse_time(doc.Expiration)
    if not exp then return fail(self, "bad Expiration: " .. why) end
  end
  local account = doc.AccountId
  if type(account) ~= "string" then account = nil end
  return secret.credentials{
    access_key_id = doc.AccessKeyId, secret_access_key = doc.SecretAccessKey,
    session_token = token, expiration = exp, account_id = account, source = "process",
  }
end

return M
