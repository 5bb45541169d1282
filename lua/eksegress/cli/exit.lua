--- The exit codes of `eksegress`, in one place (the README and `--help`
-- print this table).
local M = {}

M.OK = 0             -- success; compliant; no blocking finding
M.FINDINGS = 1       -- blocking preflight findings, non-compliant clusters
M.PARTIAL = 2        -- some (or all) targets could not be read or changed
M.REFUSED = 3        -- refused by the irreversibility guard
M.UPDATE_FAILED = 4  -- stopped by a failed update (EKS reported Failed)
M.USAGE = 64         -- usage error: bad flag, argument, file or value
M.INTERNAL = 70      -- a bug in eksegress (please report it, with --debug)
M.INTERRUPTED = 130  -- interrupted (Ctrl-C / SIGTERM)

M.TABLE = {
  { M.OK, "success: done, compliant, no blocking finding" },
  { M.FINDINGS, "findings: blocking preflight findings or non-compliant clusters" },
  { M.PARTIAL, "partial failure: some targets could not be read or changed (see errors)" },
  { M.REFUSED, "refused by the irreversibility guard (nothing was sent)" },
  { M.UPDATE_FAILED, "stopped by a failed update (EKS reported Failed)" },
  { M.USAGE, "usage error (bad flag, argument or input file)" },
  { M.INTERNAL, "internal error (a bug: rerun with --debug and report it)" },
  { M.INTERRUPTED, "interrupted (Ctrl-C); work in flight was finished or journaled" },
}

--- The table as text for --help.
function M.help()
  local lines = { "Exit codes:" }
  for _, row in ipairs(M.TABLE) do
    lines[#lines + 1] = ("  %3d  %s"):format(row[1], row[2])
  end
  return table.concat(lines, "\n")
end

-- Guard refusals carry these codes (csrc/core/guard.h).
local GUARD_CODES = {
  IrreversibleChangeNotAcknowledged = true, IrreversibleTransitionRefused = true,
  UndocumentedMode = true, MixedUpdate = true, CurrentModeUnknown = true,
  AmbiguousRequest = true, InvalidModeValue = true,
}

--- The exit code for a runtime error that ends a command.
function M.for_error(err)
  if type(err) == "table" then
    if err.usage then return M.USAGE end
    if err.guard or GUARD_CODES[err.code] then return M.REFUSED end
    if err.code == "Interrupted" then return M.INTERRUPTED end
  end
  return M.PARTIAL
end

return M
