--- Form-encoded request bodies, the request half of the Query and EC2 protocols:
-- `POST /` with `Action=<Op>&Version=<api>&...`.
--
--     form.build(svc, "AssumeRole", op, params, false)   -- Query: Name.member.N
--     form.build(svc, "DescribeSubnets", op, params, true) -- EC2: Name.N
--
-- Input shapes (op.input) map member names to definitions:
--   { type = "string"|"integer"|"long"|"boolean"|"double"|"float"|"timestamp"|"blob"|
--            "list"|"map"|"structure",
--     wire = "Name on the wire" (default: the member name), required = true,
--     member = <def> (list), member_name = "member" (Query list element name),
--     flattened = true (list/map without the .member/.entry level),
--     key = <def>, value = <def> (map), members = { name = <def>, ... } (structure) }
-- Members absent from the shape are still sent (their type inferred from the Lua
-- value), so a new AWS parameter works without a code change. The EC2 flavour
-- (`ec2 = true`) drops `.member` from list names and sends nothing for an empty
-- list; Query sends an empty list as "Name=" (both as botocore does).
local common = require "eksegress.protocols.common"

local M = {}

M.CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"

local misuse, typename = common.misuse, common.typename
local sorted_keys = common.sorted_keys

local function join(prefix, name)
  if prefix == "" then return name end
  return prefix .. "." .. name
end

-- The type of an unknown member's value: tables are lists when they are non-empty
-- sequences, structures otherwise.
local function infer(v)
  if type(v) == "table" then
    if next(v) ~= nil and common.is_sequence(v) then return "list" end
    return "structure"
  end
  return nil
end

local serialize

local function serialize_structure(out, value, def, prefix, ctx, path, ec2)
  if type(value) ~= "table" then
    misuse(ctx, "parameter '%s' must be a table (got %s)", path, typename(value))
  end
  common.check_required(def, value, ctx, path ~= "" and path or nil)
  local members = def and def.members
  for _, k in ipairs(sorted_keys(value, ctx, path)) do
    local mdef = members and members[k]
    local name = (mdef and mdef.wire) or k
    serialize(out, value[k], mdef, join(prefix, name), ctx, join(path, k), ec2)
  end
end

local function serialize_list(out, value, def, prefix, ctx, path, ec2)
  if type(value) ~= "table" or not common.is_sequence(value) then
    misuse(ctx, "parameter '%s' must be a list (got %s)", path, typename(value))
  end
  if #value == 0 then
    if not ec2 then out[#out + 1] = { prefix, "" } end
    return
  end
  local item_prefix = prefix
  if not ec2 and not (def and def.flattened) then
    item_prefix = prefix .. "." .. ((def and def.member_name) or "member")
  end
  for i = 1, #value do
    serialize(out, value[i], def and def.member, item_prefix .. "." .. i, ctx,
              path .. "[" .. i .. "]", ec2)
  end
end

local function serialize_map(out, value, def, prefix, ctx, path, ec2)
  if type(value) ~= "table" then
    misuse(ctx, "parameter '%s' must be a table (got %s)", path, typename(value))
  end
  local base = (def and def.flattened) and prefix or (prefix .. ".entry")
  local kname = def and def.key and def.key.wire or "key"
  local vname = def and def.value and def.value.wire or "value"
  for i, k in ipairs(sorted_keys(value, ctx, path)) do
    out[#out + 1] = { base .. "." .. i .. "." .. kname, common.check_string(k, ctx, path) }
    serialize(out, value[k], def and def.value, base .. "." .. i .. "." .. vname, ctx,
              path .. "." .. k, ec2)
  end
end

function serialize(out, value, def, prefix, ctx, path, ec2)
  if value == nil then return end
  local t = (def and def.type) or infer(value)
  if t == "structure" then
    serialize_structure(out, value, def, prefix, ctx, path, ec2)
  elseif t == "list" then
    serialize_list(out, value, def, prefix, ctx, path, ec2)
  elseif t == "map" then
    serialize_map(out, value, def, prefix, ctx, path, ec2)
  else
    out[#out + 1] = { prefix, common.scalar_text(value, def, ctx, path) }
  end
end

--- Form-encode an operation's input: "Action=<Op>&Version=<api>&..." with the other
-- parameters in a stable order (member names sorted, list items in order).
-- ec2 = true selects the EC2 flavour. Raises on misuse.
function M.encode(svc, opname, op, params, ec2)
  local ctx
  ctx, params = common.begin_build(svc, opname, op, params)
  local pairs_out = {}
  serialize_structure(pairs_out, params, { members = op.input or {} }, "", ctx, "", ec2)
  local pct = common.percent_encode
  local parts = { "Action=" .. pct(opname), "Version=" .. pct(svc.api_version) }
  for _, kv in ipairs(pairs_out) do
    if kv[1] == "Action" or kv[1] == "Version" then
      misuse(ctx, "parameter '%s' is reserved", kv[1])
    end
    parts[#parts + 1] = pct(kv[1]) .. "=" .. pct(kv[2])
  end
  return table.concat(parts, "&")
end

--- A form request: POST / with the body of encode. Raises on misuse.
function M.build(svc, opname, op, params, ec2)
  return {
    method = "POST",
    path = "/",
    query = "",
    headers = { { "Content-Type", M.CONTENT_TYPE } },
    body = M.encode(svc, opname, op, params, ec2),
  }
end

return M
