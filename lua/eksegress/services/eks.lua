--- Amazon EKS (protocol rest-json, API version 2017-11-01).
--
-- Operations, URIs, member locations, paginators and the ClusterActive/ClusterDeleted
-- waiters follow botocore 1.29.27's data/eks/2017-11-01 model; members that model
-- predates (capabilityName, accessConfig, upgradePolicy, zonalShiftConfig,
-- remoteNetworkConfig, computeConfig, storageConfig, deletionProtection,
-- controlPlaneScalingConfig, controlPlaneEgressMode, ...) were added by hand from the
-- current API reference (docs: eks-egress-domain.md section 8).
--
-- Body shapes only need to be as deep as it takes to encode JSON correctly (an empty
-- Lua table is [] for a list member, {} otherwise); anything not described here is
-- passed through as given, so a new EKS field works without a code change.
local model = require "eksegress.services.model"

local STRING = { type = "string" }
local BOOLEAN = { type = "boolean" }
local INTEGER = { type = "integer" }
local STRINGS = { type = "list", member = STRING }
local TAGS = { type = "map", key = STRING, value = STRING }

local req = model.req

local function uri(label)
  return { type = "string", location = "uri", name = label, required = true }
end

local function qs(def, name)
  local t = {}
  for k, v in pairs(def) do t[k] = v end
  t.location = "querystring"
  t.name = name
  return t
end

local function struct(members)
  return { type = "structure", members = members }
end

local function list_of(member)
  return { type = "list", member = member }
end

local VPC_CONFIG_REQUEST = struct({
  subnetIds = STRINGS,
  securityGroupIds = STRINGS,
  endpointPublicAccess = BOOLEAN,
  endpointPrivateAccess = BOOLEAN,
  publicAccessCidrs = STRINGS,
  controlPlaneEgressMode = STRING,
})

local LOGGING = struct({
  clusterLogging = list_of(struct({ types = STRINGS, enabled = BOOLEAN })),
})

local KUBERNETES_NETWORK_CONFIG_REQUEST = struct({
  serviceIpv4Cidr = STRING,
  ipFamily = STRING,
  elasticLoadBalancing = struct({ enabled = BOOLEAN }),
})

local ENCRYPTION_CONFIG = list_of(struct({
  resources = STRINGS,
  provider = struct({ keyArn = STRING }),
}))

local OUTPOST_CONFIG_REQUEST = struct({
  outpostArns = STRINGS,
  controlPlaneInstanceType = STRING,
  controlPlanePlacement = struct({ groupName = STRING }),
})

local REMOTE_NETWORK_CONFIG_REQUEST = struct({
  remoteNodeNetworks = list_of(struct({ cidrs = STRINGS })),
  remotePodNetworks = list_of(struct({ cidrs = STRINGS })),
})

local COMPUTE_CONFIG_REQUEST = struct({
  enabled = BOOLEAN,
  nodePools = STRINGS,
  nodeRoleArn = STRING,
})

local STORAGE_CONFIG_REQUEST = struct({
  blockStorage = struct({ enabled = BOOLEAN }),
})

-- Members CreateCluster and UpdateClusterConfig share.
local function cluster_config_members(t)
  t.resourcesVpcConfig = t.resourcesVpcConfig or VPC_CONFIG_REQUEST
  t.logging = LOGGING
  t.clientRequestToken = { type = "string", idempotency_token = true }
  t.accessConfig = struct({ bootstrapClusterCreatorAdminPermissions = BOOLEAN, authenticationMode = STRING })
  t.upgradePolicy = struct({ supportType = STRING })
  t.zonalShiftConfig = struct({ enabled = BOOLEAN })
  t.kubernetesNetworkConfig = KUBERNETES_NETWORK_CONFIG_REQUEST
  t.remoteNetworkConfig = REMOTE_NETWORK_CONFIG_REQUEST
  t.computeConfig = COMPUTE_CONFIG_REQUEST
  t.storageConfig = STORAGE_CONFIG_REQUEST
  t.deletionProtection = BOOLEAN
  t.controlPlaneScalingConfig = struct({ tier = STRING })
  return t
end

local page = model.paginator("nextToken", "nextToken", "maxResults")

local M = {
  name = "eks",
  signing_name = "eks",
  endpoint_prefix = "eks",
  fips_endpoints = { aws = "fips.eks.{region}.{dns}", ["aws-us-gov"] = "eks.{region}.{dns}" },
  protocol = "rest-json",
  protocol_module = "restjson",
  api_version = "2017-11-01",
  global = false,
  model = "botocore 1.29.27 eks/2017-11-01, extended by hand",
  -- Every EKS request passes the engine's irreversibility guard (csrc/core/guard.h);
  -- its audit lines name the caller, resolved before the first mutating call.
  guarded = true,
}

-- UpdateClusterConfig that sets the egress mode: the guard needs the cluster's
-- current mode, and takes it only from a DescribeCluster the engine received
-- itself. The client makes that call just before, with the same credentials and
-- region, and hands its request id to the update (`observed_with`), so the guard
-- judges the update by this observation and no other (issue 8.1).
local function describe_before_egress_change(params)
  local vpc = params.resourcesVpcConfig
  if type(vpc) == "table" and vpc.controlPlaneEgressMode ~= nil and type(params.name) == "string" then
    return "DescribeCluster", { name = params.name }
  end
  return nil
end

-- The members of responses the library, the examples and the workflows rely on
-- (services/init.lua: check_output).
local CLUSTER_OUT = {
  cluster = "table", ["cluster.name"] = "string", ["cluster.status"] = "string",
  ["cluster.arn"] = "string?", ["cluster.resourcesVpcConfig"] = "table?",
  ["cluster.resourcesVpcConfig.controlPlaneEgressMode"] = "string?",
  ["cluster.resourcesVpcConfig.vpcId"] = "string?",
  ["cluster.resourcesVpcConfig.subnetIds"] = "list<string>?",
}
local UPDATE_OUT = {
  update = "table", ["update.id"] = "string", ["update.status"] = "string", ["update.type"] = "string?",
}
local function listing(key, element)
  return { [key] = "list<" .. element .. ">", nextToken = "string?" }
end

M.operations = {
  ListClusters = {
    http = { method = "GET", uri = "/clusters" },
    input = {
      maxResults = qs(INTEGER, "maxResults"),
      nextToken = qs(STRING, "nextToken"),
      include = qs(STRINGS, "include"),
    },
    paginator = page("clusters"),
    output_types = listing("clusters", "string"),
  },
  DescribeCluster = {
    http = { method = "GET", uri = "/clusters/{name}" },
    input = { name = uri("name") },
    output_types = CLUSTER_OUT,
  },
  CreateCluster = {
    http = { method = "POST", uri = "/clusters" },
    input = cluster_config_members({
      name = req(STRING),
      version = STRING,
      roleArn = req(STRING),
      resourcesVpcConfig = req(VPC_CONFIG_REQUEST),
      tags = TAGS,
      encryptionConfig = ENCRYPTION_CONFIG,
      outpostConfig = OUTPOST_CONFIG_REQUEST,
      bootstrapSelfManagedAddons = BOOLEAN,
    }),
    mutating = true,
    output_types = CLUSTER_OUT,
  },
  UpdateClusterConfig = {
    http = { method = "POST", uri = "/clusters/{name}/update-config" },
    input = cluster_config_members({ name = uri("name") }),
    mutating = true,
    observe_before = describe_before_egress_change,
    output_types = UPDATE_OUT,
  },
  DescribeUpdate = {
    http = { method = "GET", uri = "/clusters/{name}/updates/{updateId}" },
    input = {
      name = uri("name"),
      updateId = uri("updateId"),
      nodegroupName = qs(STRING, "nodegroupName"),
      addonName = qs(STRING, "addonName"),
      capabilityName = qs(STRING, "capabilityName"),
    },
    output_types = UPDATE_OUT,
  },
  ListUpdates = {
    http = { method = "GET", uri = "/clusters/{name}/updates" },
    input = {
      name = uri("name"),
      nodegroupName = qs(STRING, "nodegroupName"),
      addonName = qs(STRING, "addonName"),
      capabilityName = qs(STRING, "capabilityName"),
      nextToken = qs(STRING, "nextToken"),
      maxResults = qs(INTEGER, "maxResults"),
    },
    paginator = page("updateIds"),
    output_types = listing("updateIds", "string"),
  },
  DeleteCluster = {
    http = { method = "DELETE", uri = "/clusters/{name}" },
    input = { name = uri("name") },
    mutating = true,
    output_types = CLUSTER_OUT,
  },
  ListNodegroups = {
    http = { method = "GET", uri = "/clusters/{name}/node-groups" },
    input = {
      clusterName = uri("name"),
      maxResults = qs(INTEGER, "maxResults"),
      nextToken = qs(STRING, "nextToken"),
    },
    paginator = page("nodegroups"),
    output_types = listing("nodegroups", "string"),
  },
  DescribeNodegroup = {
    http = { method = "GET", uri = "/clusters/{name}/node-groups/{nodegroupName}" },
    input = {
      clusterName = uri("name"),
      nodegroupName = uri("nodegroupName"),
    },
    output_types = { nodegroup = "table" },
  },
  ListIdentityProviderConfigs = {
    http = { method = "GET", uri = "/clusters/{name}/identity-provider-configs" },
    input = {
      clusterName = uri("name"),
      maxResults = qs(INTEGER, "maxResults"),
      nextToken = qs(STRING, "nextToken"),
    },
    paginator = page("identityProviderConfigs"),
    output_types = listing("identityProviderConfigs", "table"),
  },
  DescribeIdentityProviderConfig = {
    http = { method = "POST", uri = "/clusters/{name}/identity-provider-configs/describe" },
    input = {
      clusterName = uri("name"),
      identityProviderConfig = req(struct({ type = req(STRING), name = req(STRING) })),
    },
    output_types = { identityProviderConfig = "table" },
  },
  ListAddons = {
    http = { method = "GET", uri = "/clusters/{name}/addons" },
    input = {
      clusterName = uri("name"),
      maxResults = qs(INTEGER, "maxResults"),
      nextToken = qs(STRING, "nextToken"),
    },
    paginator = page("addons"),
    output_types = listing("addons", "string"),
  },
}

for name, op in pairs(M.operations) do op.name = name end

-- Waiters. Acceptors are tried in order; the first that matches decides:
--   { state = "success"|"failure"|"retry", matcher = "path", path = "a.b", expected = v }
--   { state = ..., matcher = "error", expected = "<AWS error code>" }
-- delay is the wait between attempts in seconds (min_delay/max_delay give the range
-- the newer SDKs use with backoff); callers may scale these down in tests.
M.waiters = {
  ClusterActive = {
    operation = "DescribeCluster", delay = 30, min_delay = 30, max_delay = 120, max_attempts = 40,
    acceptors = {
      { state = "success", matcher = "path", path = "cluster.status", expected = "ACTIVE" },
      { state = "failure", matcher = "path", path = "cluster.status", expected = "DELETING" },
      { state = "failure", matcher = "path", path = "cluster.status", expected = "FAILED" },
    },
  },
  ClusterDeleted = {
    operation = "DescribeCluster", delay = 30, min_delay = 30, max_delay = 120, max_attempts = 40,
    acceptors = {
      { state = "failure", matcher = "path", path = "cluster.status", expected = "ACTIVE" },
      { state = "failure", matcher = "path", path = "cluster.status", expected = "CREATING" },
      { state = "failure", matcher = "path", path = "cluster.status", expected = "PENDING" },
      { state = "success", matcher = "error", expected = "ResourceNotFoundException" },
    },
  },
  -- Not an SDK waiter (eksctl polls the same way): an update is finished when it
  -- succeeded, failed or was cancelled. 30 s x 120 = one hour.
  UpdateFinished = {
    operation = "DescribeUpdate", delay = 30, min_delay = 30, max_delay = 120, max_attempts = 120,
    acceptors = {
      { state = "success", matcher = "path", path = "update.status", expected = "Successful" },
      { state = "failure", matcher = "path", path = "update.status", expected = "Failed" },
      { state = "failure", matcher = "path", path = "update.status", expected = "Cancelled" },
    },
  },
}

return M
