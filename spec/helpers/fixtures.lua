-- Test fixture helpers: file reading and the AWS SigV4 suite's request format.
local M = {}

function M.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

function M.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

function M.list_dirs(dir)
  local p = assert(io.popen("ls -1 '" .. dir .. "'"))
  local out = {}
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  table.sort(out)
  return out
end

-- Parse a suite request.txt: "METHOD SP target HTTP/1.1", header lines (a
-- line starting with whitespace continues the previous header), a blank
-- line, then the body.
function M.parse_request(text)
  local head, body = text:match("^(.-)\r?\n\r?\n(.*)$")
  if not head then head, body = text, "" end
  local lines = {}
  for line in (head .. "\n"):gmatch("(.-)\r?\n") do lines[#lines + 1] = line end
  local method, target = lines[1]:match("^(%S+) (.*) HTTP/1%.1$")
  local headers = {}
  for i = 2, #lines do
    local l = lines[i]
    if l:match("^%s") and #headers > 0 then
      headers[#headers][2] = headers[#headers][2] .. "\n" .. l
    elseif l ~= "" then
      local n, v = l:match("^([^:]+):(.*)$")
      headers[#headers + 1] = { n, v }
    end
  end
  return { method = method, target = target, headers = headers, body = body }
end

--- A fresh temporary directory: its path, and a function that removes it.
function M.tmpdir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -m 700 '" .. dir .. "'"))
  return dir, function() os.execute("rm -rf '" .. dir .. "'") end
end

--- Make a FIFO at path (nobody writes to it: opening it to read blocks).
function M.mkfifo(path)
  assert(os.execute("mkfifo '" .. path .. "'"))
  return path
end

-- "2015-08-30T12:36:00Z" -> "20150830T123600Z"
function M.amz_date(ts)
  return (ts:gsub("[-:]", ""))
end

return M
