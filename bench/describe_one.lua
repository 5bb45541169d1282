-- bench/describe_one.lua NAME: start-up plus one DescribeCluster through the
-- eksegress library (client from the environment).
local out = assert(require("eksegress").client():call("eks", "DescribeCluster", { name = arg[1] }))
print(out.cluster.status)
