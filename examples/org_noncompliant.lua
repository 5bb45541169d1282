-- Audit every active account of an AWS organization, in every region each
-- account has enabled, and print the EKS clusters that are not
-- CUSTOMER_ROUTED: account, region, name, egress mode, status (tab-separated).
-- Targets that could not be read are printed on stderr. Exit status: 0 when
-- every cluster complies, 1 when one does not, 2 when a target was not read.
--
-- Usage: lua5.4 examples/org_noncompliant.lua OrganizationAccountAccessRole
--
-- Run it with the credentials of the organization's management account (or
-- a delegated administrator), configured as for the AWS CLI; the argument is
-- the role to assume in each member account.
local eksegress = require "eksegress"
local audit = require "eksegress.workflows.audit"

local role_name = arg[1] or "OrganizationAccountAccessRole"

-- One client per account: the caller's own, or one that assumes the role.
local function client_for(target)
  return eksegress.client{ profile = target.profile, credentials = target.credentials }
end

local report, err = audit.run(client_for, {
  organization = { role_name = role_name },
  regions = "all",
  require = "CUSTOMER_ROUTED",
})
if not report then
  io.stderr:write("audit failed: ", tostring(err), "\n")
  os.exit(2)
end

for _, c in ipairs(report.clusters) do
  if not c.compliant then print(c.account, c.region, c.name, c.egress_mode, c.status) end
end
for _, e in ipairs(report.errors) do
  local where = table.concat({ e.account or e.profile or "", e.region or "", e.cluster or "" }, " ")
  io.stderr:write(("not read: %s: %s: %s\n"):format(where:gsub("%s+$", ""), e.code, e.message))
end
if #report.errors > 0 then os.exit(2) end
os.exit(report.summary.noncompliant > 0 and 1 or 0)
