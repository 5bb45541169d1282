--- Aligned text columns for the commands whose documents have no report
-- kind (scp --explain, reach), laid out by the reports' own grid
-- (eksegress.report.table). Every cell passes report.text.safe first: a value
-- that came from a cluster (a webhook URL, an object name) cannot send an
-- escape sequence to the terminal.
--
--     io.write(columns.render({ "NAME", "HOST", "NOTE~" }, rows, { width = 100 }))
--
-- A header ending in "~" marks a free-text column: it gives up width first
-- when the table is wider than `width` (values cut with "…").
local text = require "eksegress.report.text"
local report_table = require "eksegress.report.table"

local M = {}

local function plain(s) return s end

--- Render rows (lists of values; nil shows empty) under headers.
-- @tparam table headers column names
-- @tparam table rows list of lists
-- @tparam[opt] table opts width (default 1000, at least 40), indent (string)
-- @treturn string the lines, each ending in "\n"
function M.render(headers, rows, opts)
  opts = opts or {}
  local cells = {}
  for r, row in ipairs(rows) do
    cells[r] = {}
    for i = 1, #headers do
      cells[r][i] = { text = row[i] == nil and "" or text.safe(tostring(row[i]), true) }
    end
  end
  local out = {}
  report_table.grid(out, plain, headers, cells, math.max(opts.width or 1000, 40), opts.indent)
  return table.concat(out, "\n") .. "\n"
end

return M
