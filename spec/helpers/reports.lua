-- Helpers for the report specs (56-59): the sample documents, and readers
-- that parse rendered reports back independently of the renderers (CSV and
-- Markdown tables here, XML and HTML with Python's own parsers).
local cjson = require "cjson"
local fx = require "helpers.fixtures"

local M = {}

M.DIR = "spec/fixtures/reports/"
M.FIXTURES = { audit = { "audit.json", "audit-plain.json" }, preflight = { "preflight.json" } }

--- A sample document's text.
function M.read(name)
  return fx.read(M.DIR .. name)
end

--- A sample document, decoded (null is cjson.null).
function M.load(name)
  return cjson.decode(M.read(name))
end

function M.copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = M.copy(x) end
  return t
end

--- A document value as the text reports show it: "" for nil and null,
-- true/false, integers without a fraction.
function M.str(v)
  if v == nil or v == cjson.null then return "" end
  if type(v) == "number" and v == math.floor(v) then return string.format("%d", v) end
  return tostring(v)
end

--- A new private temporary folder; returns its path (M.remove_dir it).
function M.temp_dir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -m 700 " .. dir))
  return dir
end

function M.remove_dir(dir)
  if dir and dir:find("^/tmp/") then os.execute("rm -rf " .. dir) end
end

--- Temporary file with `text`; returns its path.
function M.write_temp(text, suffix)
  local path = os.tmpname() .. (suffix or "")
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

--- Parse RFC 4180 CSV (CRLF records, quoted fields with doubled quotes).
-- Raises on anything else, so a malformed file fails the spec.
function M.parse_csv(s)
  local rows, row, field, i, n = {}, {}, {}, 1, #s
  local quoted = false
  while i <= n do
    local c = s:sub(i, i)
    if quoted then
      if c == '"' then
        if s:sub(i + 1, i + 1) == '"' then
          field[#field + 1] = '"'
          i = i + 1
        else
          quoted = false
          local nx = s:sub(i + 1, i + 1)
          assert(nx == "," or nx == "\r" or nx == "", "CSV: text after a closing quote at byte " .. i)
        end
      else
        field[#field + 1] = c
      end
    elseif c == '"' then
      assert(#field == 0, "CSV: a quote inside an unquoted field at byte " .. i)
      quoted = true
    elseif c == "," then
      row[#row + 1] = table.concat(field)
      field = {}
    elseif c == "\r" then
      assert(s:sub(i + 1, i + 1) == "\n", "CSV: CR without LF at byte " .. i)
      row[#row + 1] = table.concat(field)
      rows[#rows + 1] = row
      row, field = {}, {}
      i = i + 1
    else
      assert(c ~= "\n", "CSV: a bare LF outside quotes at byte " .. i)
      field[#field + 1] = c
    end
    i = i + 1
  end
  assert(not quoted, "CSV: an unterminated quoted field")
  assert(#row == 0 and #field == 0, "CSV: the last record does not end with CRLF")
  return rows
end

-- Split a Markdown table line at unescaped pipes and undo the escapes.
local function md_cells(line)
  local cells, cur, i = {}, {}, 2 -- skip the leading "|"
  while i <= #line do
    local c = line:sub(i, i)
    if c == "\\" and i < #line then
      cur[#cur + 1] = line:sub(i, i + 1)
      i = i + 1
    elseif c == "|" then
      cells[#cells + 1] = table.concat(cur)
      cur = {}
    else
      cur[#cur + 1] = c
    end
    i = i + 1
  end
  for k, v in ipairs(cells) do
    v = v:gsub("^ ", ""):gsub(" $", "")
    if v:match("^`") then
      -- Code spans, one per line of a multi-line value, joined by <br>: their
      -- content is literal, except GFM's "\|".
      local lines, at = {}, 1
      while at <= #v do
        local fence = v:match("^`+", at)
        assert(fence, "markdown: text outside a code span in a code cell: " .. v)
        local close = v:find(fence, at + #fence, true)
        while close and v:sub(close + #fence, close + #fence) == "`" do close = v:find(fence, close + 1, true) end
        assert(close, "markdown: an unclosed code span: " .. v)
        lines[#lines + 1] = v:sub(at + #fence, close - 1):gsub("\\|", "|")
        at = close + #fence
        if at <= #v then
          assert(v:sub(at, at + 3) == "<br>", "markdown: code spans not separated by <br>: " .. v)
          at = at + 4
        end
      end
      v = table.concat(lines, "\n")
    else
      v = v:gsub("\\(%p)", "%1")
    end
    cells[k] = v
  end
  return cells
end

--- The tables of a Markdown document, each with the heading above it.
-- @return list of {heading = "## ...", header = {...}, rows = {{...}, ...}}
function M.md_tables(text)
  local tables, heading, current = {}, nil, nil
  for line in (text .. "\n"):gmatch("(.-)\n") do
    if line:find("^#") then
      heading = line
    end
    if line:find("^|") then
      local cells = md_cells(line)
      if not current then
        current = { heading = heading, header = cells, rows = {} }
        tables[#tables + 1] = current
      elseif not line:find("^| %-%-%-") then
        current.rows[#current.rows + 1] = cells
      end
    else
      current = nil
    end
  end
  return tables
end

-- Run spec/helpers/parse_markup.py on `text` (written to a temporary file,
-- whose path `fmt` places among the arguments) and decode its JSON answer.
local function parse_markup(fmt, what, text)
  local path = M.write_temp(text)
  local python = os.getenv("EKSEGRESS_PYTHON") or "python3"
  local p = assert(io.popen(("%s spec/helpers/parse_markup.py %s 2>&1"):format(python, fmt:format(path))))
  local out = p:read("a")
  local ok = p:close()
  os.remove(path)
  assert(ok, what .. " does not parse: " .. out)
  return cjson.decode(out)
end

--- Parse XML or HTML with Python's parsers (spec/helpers/parse_markup.py).
function M.parse(kind, text)
  return parse_markup(kind .. " %s", kind, text)
end

--- The text of every <td class="CLASS"> of an HTML page as a browser
-- shows it (white space collapsed, <br> a line break): what a person copies.
function M.rendered_cells(html, class)
  return parse_markup("html-cells %s " .. class, "html", html)
end

--- True when `sh -n` accepts the text as a script.
function M.shell_accepts(script)
  local path = M.write_temp(script)
  local ok = os.execute("sh -n " .. path .. " 2>/dev/null")
  os.remove(path)
  return ok == true
end

--- The child elements of a parsed XML element with a given tag.
function M.children(e, tag)
  local out = {}
  for _, c in ipairs(e.children) do
    if c.tag == tag then out[#out + 1] = c end
  end
  return out
end

return M
