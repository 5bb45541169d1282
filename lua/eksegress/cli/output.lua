--- Where the CLI writes: results on stdout, everything else on stderr.
--
-- stdout carries only the result document (a table for people, JSON for
-- programs), so `eksegress audit --output json | jq` always parses. Progress
-- goes to stderr, and only when stderr is a terminal: one live status line
-- that is cleared before any other stderr line and at the end. Colour only on
-- a terminal, never with --no-color or NO_COLOR set (https://no-color.org).
local M = {}

local Out = {}
Out.__index = Out

local function tty(core, f, override)
  if override ~= nil then return override end
  local ok, v = pcall(core.isatty, f)
  return ok and v or false
end

--- Create the output.
-- @tparam table io_ stdout, stderr (file-like, :write), env (function),
--   tty = {stdout = bool, stderr = bool} (tests), columns (tests)
-- @tparam table opts no_color
function M.new(io_, opts)
  io_, opts = io_ or {}, opts or {}
  local core = require "eksegress.core"
  local stdout, stderr = io_.stdout or io.stdout, io_.stderr or io.stderr
  local env = io_.env or os.getenv
  local t = io_.tty or {}
  local self = setmetatable({
    stdout = stdout,
    stderr = stderr,
    stdout_tty = tty(core, stdout, t.stdout),
    stderr_tty = tty(core, stderr, t.stderr),
    status_shown = false,
  }, Out)
  local no_color = opts.no_color or (env("NO_COLOR") or "") ~= "" or env("TERM") == "dumb"
  self.color = self.stdout_tty and not no_color
  -- A table on a terminal fits its width; a table sent to a file or a pipe
  -- is not cut at all (nobody's screen to fit).
  self.columns = io_.columns
  if not self.columns then
    local cols = self.stdout_tty and core.term_columns(stdout) or 0
    self.columns = cols > 0 and cols or 1000
  end
  self.status_columns = self.stderr_tty and core.term_columns(stderr) or 0
  if self.status_columns <= 0 then self.status_columns = 80 end
  return self
end

--- Write the result (stdout), ending with a newline: a string, or a
-- producer `function(write)` that calls write(chunk) for each piece in
-- turn (a large report is never one string). As with a string, a failed
-- write to stdout (a closed pipe) is not an error of the command.
function Out:result(s)
  self:clear_status()
  local stdout, last = self.stdout, ""
  if type(s) == "function" then
    s(function(chunk)
      if chunk ~= "" then
        stdout:write(chunk)
        last = chunk:sub(-1)
      end
      return true
    end)
  else
    stdout:write(s)
    last = s:sub(-1)
  end
  if last ~= "\n" then stdout:write("\n") end
  if stdout.flush then stdout:flush() end
end

--- One line on stderr (a warning, a progress line when not on a terminal
-- is never written: see status).
function Out:line(s)
  self:clear_status()
  self.stderr:write(s, "\n")
  if self.stderr.flush then self.stderr:flush() end
end

--- The live status line (stderr terminals only; silent otherwise).
function Out:status(s)
  if not self.stderr_tty then return end
  if #s > self.status_columns - 1 then s = s:sub(1, self.status_columns - 2) .. "~" end
  self.stderr:write("\r\27[K", s)
  if self.stderr.flush then self.stderr:flush() end
  self.status_shown = true
end

--- A line on stderr that is worth keeping in the scroll-back of a terminal
-- (one per cluster state change), dropped when stderr is not a terminal.
function Out:progress_line(s)
  if not self.stderr_tty then return end
  self:line(s)
end

function Out:clear_status()
  if self.status_shown then
    self.stderr:write("\r\27[K")
    self.status_shown = false
  end
end

--- The default stdout format: a table for people, JSON for programs.
function Out:default_format()
  return self.stdout_tty and "table" or "json"
end

return M
