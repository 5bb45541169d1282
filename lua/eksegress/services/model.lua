--- Builders the service definitions share (not a service: services.get never
-- returns it).
local M = {}

--- A copy of a member definition, marked required.
function M.req(def)
  local t = {}
  for k, v in pairs(def) do t[k] = v end
  t.required = true
  return t
end

--- A paginator builder for a service's token and limit member names: the
-- function it returns takes the result key and gives a new paginator table.
function M.paginator(input_token, output_token, limit_key)
  return function(result_key)
    return { input_token = input_token, output_token = output_token, limit_key = limit_key,
             result_key = result_key }
  end
end

return M
