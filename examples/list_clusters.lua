-- List and describe every EKS cluster in four regions, concurrently.
-- Usage: lua5.4 examples/list_clusters.lua [region ...]  (AWS config as for the AWS CLI)
local eksegress = require "eksegress"
local client = assert(eksegress.client{})
local regions = #arg > 0 and arg or { "us-east-1", "us-west-2", "eu-west-1", "eu-central-1" }
local found, failed = eksegress.parallel(regions, function(region)
  local names = assert(client:collect("eks", "ListClusters", {}, { region = region }))
  return eksegress.parallel(names, function(name)
    return client:call("eks", "DescribeCluster", { name = name }, { region = region })
  end, { concurrency = 16 })
end)
for i, region in ipairs(regions) do
  if failed[i] then print(region, "ERROR", tostring(failed[i])) end
  for _, out in pairs(found[i] or {}) do
    local c = out.cluster
    print(region, c.name, c.status, c.resourcesVpcConfig.controlPlaneEgressMode or "UNKNOWN")
  end
end
