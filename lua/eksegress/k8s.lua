--- A small read-only Kubernetes API client over the same engine as every AWS
-- call: TLS verified against the cluster's own CA (from memory), a bearer
-- token, JSON, `limit`/`continue` paging. No kubectl, no client library.
--
--     local k8s = require "eksegress.k8s"
--     local api = assert(k8s.new{ client = client,
--       endpoint = cluster.endpoint,                      -- DescribeCluster
--       ca_data = cluster.certificateAuthority.data,      -- base64 of the PEM
--       token = function() return token.token(signer, cluster.name) end })
--     local items, err = api:list("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations")
--     local version = api:get("/version")
--
-- The token is a bearer credential (an EKS token carries the presigned URL,
-- and with it any session token): it is sent only in the Authorization
-- header, never logged (client `wire_log` lines name method, URL and status),
-- and scrubbed from every text that comes back from the server.
--
-- Misuse (a missing client, a malformed endpoint given in code) raises.
-- Runtime failures return nil, err with these codes: Unauthorized (401),
-- Forbidden (403), ResourceNotServed (404 on a list: the API server does not
-- serve that resource kind), NotFound (404 on a get), the Status reason (or
-- HttpNNN) for other statuses, ParseError (a 2xx that is not a JSON object),
-- PaginationLoop / PaginationLimit, InvalidClusterCA, InvalidEndpoint /
-- InsecureEndpoint, TokenError, and the engine's transport codes
-- (ConnectionError, Timeout, TlsError, ...).
local cjson = require "cjson.safe"
local core = require "eksegress.core"
local base64 = require "eksegress.base64"
local endpoints = require "eksegress.endpoints"
local errors = require "eksegress.errors"
local secret = require "eksegress.secret"

local M = {}

--- Decode a JSON body from the API server within the bounds the AWS codecs
-- use (core.json_check: nesting depth 64, 1,000,000 values), so a hostile or
-- broken API server cannot make a small body expand into gigabytes of Lua
-- tables. Null members are kept as cjson.null (the list code looks for them).
-- Returns the value, or nil and a message. Never raises.
function M.decode_json(body)
  if type(body) ~= "string" then return nil, "body is not a string" end
  local fine, cerr = core.json_check(body)
  if not fine then return nil, cerr.message end
  local v, derr = cjson.decode(body)
  if v == nil then return nil, tostring(derr) end
  return v
end

M.MAX_PAGES = 10000
M.MAX_ITEMS = 1000000
M.DEFAULT_LIMIT = 500

local Api = {}
Api.__index = Api

-- What a server says goes into errors only after this: one line, bounded, and
-- with the bearer token (as is, or any base64 or percent form of it) removed.
local function server_text(self, s)
  if type(s) ~= "string" then return nil end
  local tok = self.last_token or ""
  -- The token, and its payload alone (an EKS token is "k8s-aws-v1." + base64).
  s = secret.scrub(s, tok, tok:match("^[%w%-]+%.(.+)$") or "")
  s = s:gsub("[%c]+", " ")
  if #s > 500 then s = s:sub(1, 497) .. "..." end
  return s
end

--- Decode a cluster's certificateAuthority.data (base64 of PEM text).
-- @treturn string the PEM, or nil, err (InvalidClusterCA)
function M.decode_ca(data)
  if type(data) ~= "string" or data == "" then
    return nil, errors.new("InvalidClusterCA", "the cluster has no certificate authority data")
  end
  local pem = base64.decode(data)
  if not pem or not pem:find("-----BEGIN CERTIFICATE-----", 1, true) then
    return nil, errors.new("InvalidClusterCA",
      "the cluster's certificateAuthority.data is not a base64 PEM certificate")
  end
  return pem
end

--- Make an API handle.
-- @tparam table opts `client` (an eksegress client: its runtime, engine,
--   timeouts and wire_log are used), `endpoint` (https URL; plain http only on
--   loopback), `ca_data` (base64 PEM, as DescribeCluster gives it) or `ca_pem`
--   (PEM text; without either, the engine's CAs are used), `token` (a string,
--   or a function returning a token or nil, err; called for each request, so a
--   long listing gets fresh tokens), `timeout_ms`, `max_attempts`,
--   `max_pages`, `max_items`
-- @treturn table the handle, or nil, err
function M.new(opts)
  if type(opts) ~= "table" then errors.misuse("k8s.new: options must be a table", 2) end
  local client = opts.client
  if type(client) ~= "table" or not client.runtime or not client.engine then
    errors.misuse("k8s.new: client must be an eksegress client", 2)
  end
  if type(opts.endpoint) ~= "string" then errors.misuse("k8s.new: endpoint must be a string", 2) end
  local t = type(opts.token)
  if t ~= "string" and t ~= "function" then errors.misuse("k8s.new: token must be a string or a function", 2) end
  local ep, eerr = endpoints.parse_url(opts.endpoint)
  if not ep then return nil, eerr end
  local pem = opts.ca_pem
  if pem == nil and opts.ca_data ~= nil then
    local derr
    pem, derr = M.decode_ca(opts.ca_data)
    if not pem then return nil, derr end
  end
  if pem ~= nil and (type(pem) ~= "string" or pem == "") then
    errors.misuse("k8s.new: ca_pem must be PEM text", 2)
  end
  return setmetatable({
    client = client, base = ep.url, host = ep.host, ca_pem = pem, token = opts.token,
    timeout_ms = opts.timeout_ms or client.settings and client.settings.timeout_ms,
    max_attempts = opts.max_attempts or client.settings and client.settings.max_attempts,
    max_pages = opts.max_pages or M.MAX_PAGES, max_items = opts.max_items or M.MAX_ITEMS,
  }, Api)
end

local function query_string(q)
  local keys, parts = {}, {}
  for k in pairs(q or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = tostring(q[k]):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end)
    parts[#parts + 1] = k .. "=" .. v
  end
  return #parts > 0 and ("?" .. table.concat(parts, "&")) or ""
end

local function current_token(self)
  if type(self.token) == "string" then return self.token end
  local ok, tok, err = pcall(self.token)
  if not ok then error(tok, 0) end
  if type(tok) ~= "string" or tok == "" then
    if errors.is(err) then return nil, err end
    return nil, errors.new("TokenError", "no token for the cluster: " .. tostring(err))
  end
  return tok
end

-- The error for a non-2xx answer: a Kubernetes Status when there is one.
local function status_error(self, resp, what, is_list)
  local status = resp.status
  local st = M.decode_json(resp.body or "")
  if type(st) ~= "table" or st.kind ~= "Status" then st = {} end
  local reason = type(st.reason) == "string" and st.reason ~= "" and st.reason or nil
  local message = server_text(self, st.message)
  local extra = { status = status, reason = reason, service = "kubernetes" }
  if status == 401 then
    return errors.new("Unauthorized", ("the cluster's API server at %s did not accept the token: "
      .. "the identity may have no access entry (or aws-auth mapping) in this cluster, or the token expired or "
      .. "was made for another cluster"):format(self.host), extra)
  elseif status == 403 then
    return errors.new("Forbidden", message or ("the identity may not read " .. what), extra)
  elseif status == 404 and is_list then
    return errors.new("ResourceNotServed", ("the API server does not serve %s%s"):format(what,
      message and (" (" .. message .. ")") or ""), extra)
  elseif status == 404 then
    return errors.new("NotFound", message or (what .. " not found"), extra)
  end
  extra.retryable = resp.retryable
  return errors.new(reason or ("Http" .. tostring(status)), ("%s: %s"):format(what,
    message or ("HTTP status " .. tostring(status))), extra)
end

--- GET a path under the endpoint and decode the JSON object it returns.
-- @tparam string path e.g. "/version", "/apis/apiregistration.k8s.io/v1/apiservices"
-- @tparam[opt] table query name -> value
-- @tparam[opt] string what names the resource in errors
-- @treturn table the object, or nil, err
function Api:get(path, query, what, is_list)
  if getmetatable(self) ~= Api then errors.misuse("k8s: call get with a colon: api:get(path)", 2) end
  if type(path) ~= "string" or path:sub(1, 1) ~= "/" then errors.misuse("k8s: path must start with /", 2) end
  what = what or path
  local tok, terr = current_token(self)
  if not tok then return nil, terr end
  self.last_token = tok
  local url = self.base .. path .. query_string(query)
  local c = self.client
  if c.wire_log then c.wire_log(("-> GET %s (kubernetes, bearer token not shown)"):format(url)) end
  local resp, rerr = c.runtime:request({
    method = "GET", url = url, ca_pem = self.ca_pem,
    headers = { { "Accept", "application/json" }, { "Authorization", "Bearer " .. tok } },
    timeout_ms = self.timeout_ms, max_attempts = self.max_attempts,
  }, c.engine)
  if c.wire_log then
    c.wire_log(("<- kubernetes %s"):format(resp and (resp.error and (tostring(resp.error.code) .. ": "
      .. tostring(server_text(self, resp.error.message))) or ("HTTP " .. tostring(resp.status)))
      or tostring(rerr)))
  end
  if not resp then return nil, rerr end
  if resp.error then
    local e = resp.error
    local msg = server_text(self, e.message) or ""
    if e.code == "TlsError" then
      msg = msg .. " (the server's certificate must chain to the cluster's certificate authority)"
    end
    return nil, errors.new(e.code, ("%s: %s"):format(self.host, msg), { retryable = e.retryable,
      service = "kubernetes" })
  end
  if resp.status < 200 or resp.status > 299 then return nil, status_error(self, resp, what, is_list) end
  local obj = M.decode_json(resp.body)
  if type(obj) ~= "table" then
    return nil, errors.new("ParseError", ("%s: the answer is not a JSON object"):format(what),
      { status = resp.status, service = "kubernetes" })
  end
  return obj
end

--- The path of a resource collection: the core group under /api, others under /apis.
function M.collection_path(group, version, plural)
  if group == "" then return ("/api/%s/%s"):format(version, plural) end
  return ("/apis/%s/%s/%s"):format(group, version, plural)
end

--- List every item of a cluster-scoped resource, page by page.
-- @tparam string group API group ("" for the core group)
-- @tparam string version e.g. "v1"
-- @tparam string plural e.g. "apiservices"
-- @tparam[opt] table opts `limit` (items per page, default 500)
-- @treturn table items (list), plus the pages read; or nil, err
function Api:list(group, version, plural, opts)
  if getmetatable(self) ~= Api then errors.misuse("k8s: call list with a colon: api:list(...)", 2) end
  for _, v in ipairs{ group, version, plural } do
    if type(v) ~= "string" or v:find("[^%w%.%-]") then
      errors.misuse("k8s: group, version and plural must be plain names", 2)
    end
  end
  opts = opts or {}
  local limit = opts.limit or M.DEFAULT_LIMIT
  if math.type(limit) ~= "integer" or limit < 1 then errors.misuse("k8s: limit must be a positive integer", 2) end
  local what = ("%s in %s"):format(plural, group == "" and version or (group .. "/" .. version))
  local path = M.collection_path(group, version, plural)
  local items, seen, pages = {}, {}, 0
  local cont
  repeat
    if pages >= self.max_pages then
      return nil, errors.new("PaginationLimit", ("stopped after %d pages of %s: the listing goes on"):format(pages,
        what))
    end
    local page, err = self:get(path, { limit = limit, continue = cont }, what, true)
    if not page then return nil, err end
    pages = pages + 1
    local list = page.items
    if list == cjson.null or list == nil then list = {} end
    if type(list) ~= "table" then
      return nil, errors.new("ParseError", what .. ": items is not a list", { service = "kubernetes" })
    end
    for _, it in ipairs(list) do
      if #items >= self.max_items then
        return nil, errors.new("PaginationLimit", ("stopped after %d items of %s"):format(#items, what))
      end
      items[#items + 1] = it
    end
    local meta = type(page.metadata) == "table" and page.metadata or {}
    cont = meta.continue
    if cont == cjson.null or cont == "" then cont = nil end
    if cont ~= nil then
      if type(cont) ~= "string" then
        return nil, errors.new("ParseError", what .. ": metadata.continue is not a string", { service = "kubernetes" })
      end
      if seen[cont] then
        return nil, errors.new("PaginationLoop", what .. ": the server repeated a continue token")
      end
      seen[cont] = true
    end
  until cont == nil
  return items, pages
end

return M
