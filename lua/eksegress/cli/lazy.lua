--- A module loaded when it is first used, not when the CLI starts.
--
-- Every command module is loaded to build the parser (--help lists them
-- all), but a run uses one command's workflows. Naming them through lazy()
-- keeps `eksegress token` from loading the preflight, the migration and the
-- Kubernetes client (about 13 ms of start-up when loaded all at once):
--
--     local migrate = lazy(function() return require "eksegress.workflows.migrate" end)
--
-- The loader is a function holding a plain require, so the layering spec
-- (spec/00-layers) still sees the edge.
return function(loader)
  return setmetatable({}, {
    __index = function(proxy, key)
      local mod = loader()
      setmetatable(proxy, { __index = mod })
      return mod[key]
    end,
  })
end
