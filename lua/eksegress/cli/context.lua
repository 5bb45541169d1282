--- What every subcommand shares: the parsed global options turned into
-- clients (one runtime, so every request of a run goes through one engine),
-- Ctrl-C handling, rendering of the result and of report files, and the one
-- error line.
local eksegress = require "eksegress"
local exit = require "eksegress.cli.exit"
local cli_errors = require "eksegress.cli.errors"

local M = {}

local Ctx = {}
Ctx.__index = Ctx

-- The AWS CLI's 0 means "no timeout"; the engine's ceilings (an hour per
-- attempt, ten minutes to connect) still bound a stuck connection.
local function ms(seconds, ceiling)
  if seconds == nil then return nil end
  if seconds == 0 then return ceiling end
  return math.min(ceiling, math.max(1, math.floor(seconds * 1000)))
end

--- Create the context for one run.
function M.new(args, io_, out)
  local core = require "eksegress.core"
  local self = setmetatable({ args = args, out = out, env = io_.env or os.getenv,
                              core = core, clients = {} }, Ctx)
  -- The first Ctrl-C asks the workflow to stop starting work; the second
  -- ends the process at once (journals are written a whole line at a time,
  -- so they stay consistent).
  -- A run builds one long-lived document while it churns through short-
  -- lived responses: the collector's default pause (200: wait until the
  -- heap doubles) let a 30,000-cluster audit peak at 67 MiB, a pause of 100
  -- (start the next cycle at once) at 50 MiB, for no measurable CPU.
  -- "setpause" and not collectgarbage("incremental", 100): on Lua 5.4.4
  -- the latter made the same audit take ten times the CPU. Restored by
  -- close; pcall because a later Lua may drop the option.
  local pause_ok, pause = pcall(collectgarbage, "setpause", 100)
  self.gc_pause = pause_ok and pause or nil
  if not io_.no_signals then
    core.signal_watch("INT", { exit_after = 2 })
    core.signal_watch("TERM", { exit_after = 2 })
    -- A write past the file-size limit (ulimit -f) must fail with EFBIG and
    -- be reported, not kill the process silently mid-journal.
    core.signal_watch("XFSZ")
    self.watching = true
  end
  return self
end

--- True once Ctrl-C (or SIGTERM) was received.
function Ctx:interrupted()
  if not self.watching then return false end
  return self.core.signal_count("INT") + self.core.signal_count("TERM") > 0
end

--- The client options from the global flags (and a target's overrides).
function Ctx:client_options(target)
  target = target or {}
  local a = self.args
  return {
    profile = target.profile or a.profile,
    region = target.region or a.region,
    endpoint_url = a.endpoint_url,
    credentials = target.credentials,
    timeout_ms = ms(a.read_timeout, 3600000),
    connect_timeout_ms = ms(a.connect_timeout, 600000),
    ca_bundle = a.ca_bundle,
    max_connections = a.max_connections,
    env = self.env,
    wire_log = a.debug and function(line) self.out:line("debug: " .. line) end or nil,
  }
end

--- A client for a target ({} = the caller; {profile=}; {credentials=}).
-- Every client of the run shares the default runtime (one scheduler; one
-- engine for clients configured alike).
function Ctx:client(target)
  local c, err = eksegress.client(self:client_options(target))
  if not c then return nil, err end
  self.clients[#self.clients + 1] = c
  return c
end

--- The client factory workflows take.
function Ctx:factory()
  return function(target) return self:client(target) end
end

--- The preflight the migration workflows run for each cluster:
-- function(client, entry, cluster) -> {blocking, warnings, blocking_ids, ...}.
function Ctx:preflight_fn() -- luacheck: no unused args
  return require("eksegress.workflows.preflight").for_migration
end

--- Print one error line; returns the exit code for it.
function Ctx:fail(command, err, target)
  self.out:line(cli_errors.line(command, err, target))
  return exit.for_error(err)
end

--- Write the result document to stdout in the chosen format, and every
-- --export file. Returns true, or nil, err when a report file could not be
-- written (the stdout result is still printed).
function Ctx:emit(kind, doc, opts)
  local report = require "eksegress.report"
  opts = opts or {}
  local ropts = { color = self.out.color, columns = self.out.columns, rules = opts.rules }
  -- Streamed: a 10,000-cluster JSON report as one string (and the pieces
  -- it was joined from) took more memory than the audit that made it.
  self.out:result(function(write) return report.stream(kind, self.args.output, doc, ropts, write) end)
  for _, path in ipairs(self.args.export) do
    local ok, err = report.export(path, kind, doc, ropts)
    if not ok then return nil, err end
    self.out:progress_line("wrote " .. path)
  end
  return true
end

function Ctx:close()
  if self.gc_pause then
    collectgarbage("setpause", self.gc_pause)
    self.gc_pause = nil
  end
  for _, c in ipairs(self.clients) do c:close() end
  self.clients = {}
  if self.watching then
    self.core.signal_unwatch("INT")
    self.core.signal_unwatch("TERM")
    self.core.signal_unwatch("XFSZ")
  end
end

return M
