--- The AWS CLI commands the preflight proposes as fixes, with the real ids filled
-- in. Pure string building; every value is shell-quoted when it needs to be, so a
-- command can be pasted as is. Each builder returns one command line.
local M = {}

-- Characters that never need quoting in a POSIX shell word.
local function quote(word)
  word = tostring(word)
  if word ~= "" and not word:find("[^%w_%-%.,/:=@%%+]") then return word end
  return "'" .. word:gsub("'", "'\\''") .. "'"
end
M.quote = quote

--- "aws <service> <command> <args...> [--region R]".
-- @param ctx `{region = ...}` (may be nil)
-- @param ... words; nil words are left out (so optional flags can be passed as nil)
function M.aws(ctx, ...)
  local words = { "aws" }
  for i = 1, select("#", ...) do
    local w = select(i, ...)
    if w ~= nil then words[#words + 1] = quote(w) end
  end
  if ctx and ctx.region then
    words[#words + 1] = "--region"
    words[#words + 1] = quote(ctx.region)
  end
  return table.concat(words, " ")
end

local TARGET_FLAG = {
  nat = "--nat-gateway-id", tgw = "--transit-gateway-id", igw = "--gateway-id", eigw =
  "--egress-only-internet-gateway-id", instance = "--instance-id", eni = "--network-interface-id",
  vpce = "--vpc-endpoint-id", vgw = "--gateway-id",
}

local function destination_flag(family)
  return family == 6 and "--destination-ipv6-cidr-block" or "--destination-cidr-block"
end

--- create-route or replace-route (verb) for a default route to a device.
function M.route(ctx, verb, route_table_id, family, destination, kind, target_id)
  return M.aws(ctx, "ec2", verb .. "-route", "--route-table-id", route_table_id, destination_flag(family),
    destination, TARGET_FLAG[kind] or "--gateway-id", target_id)
end

--- delete-route for a route given as it appears in DescribeRouteTables.
function M.delete_route(ctx, route_table_id, route)
  local flag, dest = "--destination-cidr-block", route.DestinationCidrBlock
  if route.DestinationIpv6CidrBlock then
    flag, dest = "--destination-ipv6-cidr-block", route.DestinationIpv6CidrBlock
  elseif route.DestinationPrefixListId then
    flag, dest = "--destination-prefix-list-id", route.DestinationPrefixListId
  end
  return M.aws(ctx, "ec2", "delete-route", "--route-table-id", route_table_id, flag, dest)
end

function M.associate_route_table(ctx, route_table_id, subnet_id)
  return M.aws(ctx, "ec2", "associate-route-table", "--route-table-id", route_table_id, "--subnet-id", subnet_id)
end

function M.create_nat_gateway(ctx, public_subnet_id)
  return M.aws(ctx, "ec2", "create-nat-gateway", "--subnet-id", public_subnet_id or "<public-subnet-id>",
    "--allocation-id", "<eipalloc-id>")
end

function M.wait_nat_gateway(ctx, nat_id)
  return M.aws(ctx, "ec2", "wait", "nat-gateway-available", "--nat-gateway-ids", nat_id)
end

function M.accept_tgw_attachment(ctx, attachment_id)
  return M.aws(ctx, "ec2", "accept-transit-gateway-vpc-attachment", "--transit-gateway-attachment-id",
    attachment_id)
end

function M.describe_tgw_attachment(ctx, attachment_id)
  return M.aws(ctx, "ec2", "describe-transit-gateway-vpc-attachments", "--transit-gateway-attachment-ids",
    attachment_id)
end

function M.create_tgw_attachment(ctx, tgw_id, vpc_id, subnet_ids)
  return M.aws(ctx, "ec2", "create-transit-gateway-vpc-attachment", "--transit-gateway-id", tgw_id,
    "--vpc-id", vpc_id, "--subnet-ids", table.unpack(subnet_ids))
end

function M.add_tgw_attachment_subnet(ctx, attachment_id, subnet_id)
  return M.aws(ctx, "ec2", "modify-transit-gateway-vpc-attachment", "--transit-gateway-attachment-id",
    attachment_id, "--add-subnet-ids", subnet_id)
end

function M.start_instance(ctx, instance_id)
  return M.aws(ctx, "ec2", "start-instances", "--instance-ids", instance_id)
end

function M.no_source_dest_check(ctx, instance_id, eni_id)
  if eni_id and not instance_id then
    return M.aws(ctx, "ec2", "modify-network-interface-attribute", "--network-interface-id", eni_id,
      "--no-source-dest-check")
  end
  return M.aws(ctx, "ec2", "modify-instance-attribute", "--instance-id", instance_id, "--no-source-dest-check")
end

function M.create_egress_only_igw(ctx, vpc_id)
  return M.aws(ctx, "ec2", "create-egress-only-internet-gateway", "--vpc-id", vpc_id)
end

--- create-network-acl-entry allowing TCP lo-hi for one CIDR.
function M.nacl_allow(ctx, acl_id, egress, rule_number, family, cidr, lo, hi)
  return M.aws(ctx, "ec2", "create-network-acl-entry", "--network-acl-id", acl_id,
    egress and "--egress" or "--ingress", "--rule-number", rule_number, "--protocol", "tcp",
    "--port-range", ("From=%d,To=%d"):format(lo, hi), family == 6 and "--ipv6-cidr-block" or "--cidr-block",
    cidr, "--rule-action", "allow")
end

--- authorize-security-group-egress for TCP `port` to a CIDR.
function M.sg_allow(ctx, group_id, family, cidr, port)
  if family == 6 then
    return M.aws(ctx, "ec2", "authorize-security-group-egress", "--group-id", group_id, "--ip-permissions",
      ("IpProtocol=tcp,FromPort=%d,ToPort=%d,Ipv6Ranges=[{CidrIpv6=%s}]"):format(port, port, cidr))
  end
  return M.aws(ctx, "ec2", "authorize-security-group-egress", "--group-id", group_id, "--protocol", "tcp",
    "--port", port, "--cidr", cidr)
end

--- A new DHCP options set with AmazonProvidedDNS, then its association (two commands).
function M.amazon_dns(ctx, vpc_id, existing_id)
  local assoc = M.aws(ctx, "ec2", "associate-dhcp-options", "--dhcp-options-id", existing_id or "<new-dopt-id>",
    "--vpc-id", vpc_id)
  if existing_id then return assoc end
  return M.aws(ctx, "ec2", "create-dhcp-options", "--dhcp-configurations",
    "Key=domain-name-servers,Values=AmazonProvidedDNS") .. "\n" .. assoc
end

function M.vpc_attribute(ctx, vpc_id, flag)
  return M.aws(ctx, "ec2", "modify-vpc-attribute", "--vpc-id", vpc_id, flag, '{"Value":true}')
end

-- IAM is global: no --region.
function M.attach_cluster_policy(role_name, partition)
  return M.aws(nil, "iam", "attach-role-policy", "--role-name", role_name, "--policy-arn",
    ("arn:%s:iam::aws:policy/AmazonEKSClusterPolicy"):format(partition or "aws"))
end

function M.create_flow_logs(ctx, vpc_id)
  return M.aws(ctx, "ec2", "create-flow-logs", "--resource-type", "VPC", "--resource-ids", vpc_id,
    "--traffic-type", "ALL", "--log-destination-type", "s3", "--log-destination", "arn:aws:s3:::<bucket-name>")
end

function M.unused_enis(ctx, subnet_id)
  return M.aws(ctx, "ec2", "describe-network-interfaces", "--filters", "Name=subnet-id,Values=" .. subnet_id,
    "Name=status,Values=available")
end

function M.list_subnets(ctx, vpc_id)
  return M.aws(ctx, "ec2", "describe-subnets", "--filters", "Name=vpc-id,Values=" .. vpc_id, "--query",
    "Subnets[].[SubnetId,AvailabilityZone,AvailableIpAddressCount]", "--output", "table")
end

function M.update_subnets(ctx, cluster_name, subnet_ids)
  return M.aws(ctx, "eks", "update-cluster-config", "--name", cluster_name, "--resources-vpc-config",
    "subnetIds=" .. table.concat(subnet_ids, ","))
end

function M.wait_cluster_active(ctx, cluster_name)
  return M.aws(ctx, "eks", "wait", "cluster-active", "--name", cluster_name)
end

function M.describe_update(ctx, cluster_name, update_id)
  return M.aws(ctx, "eks", "describe-update", "--name", cluster_name, "--update-id", update_id)
end

return M
