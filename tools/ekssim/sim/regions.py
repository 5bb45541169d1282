"""The AWS region table the simulator knows, with availability zones and their ids.

Opt-in regions are disabled for an account unless the fleet lists them in
``opted_in_regions``.  EKS refuses a few AZ ids (network-reqs documentation).
"""

# name -> (az id prefix, az letters, opt_in)
_REGIONS = [
    ("us-east-1", "use1", "abcdef", False),
    ("us-east-2", "use2", "abc", False),
    ("us-west-1", "usw1", "ab", False),
    ("us-west-2", "usw2", "abcd", False),
    ("ca-central-1", "cac1", "abd", False),
    ("eu-west-1", "euw1", "abc", False),
    ("eu-west-2", "euw2", "abc", False),
    ("eu-west-3", "euw3", "abc", False),
    ("eu-central-1", "euc1", "abc", False),
    ("eu-north-1", "eun1", "abc", False),
    ("ap-south-1", "aps1", "abc", False),
    ("ap-southeast-1", "apse1", "abc", False),
    ("ap-southeast-2", "apse2", "abc", False),
    ("ap-northeast-1", "apne1", "acd", False),
    ("ap-northeast-2", "apne2", "abcd", False),
    ("ap-northeast-3", "apne3", "abc", False),
    ("sa-east-1", "sae1", "abc", False),
    ("af-south-1", "afs1", "abc", True),
    ("ap-east-1", "ape1", "abc", True),
    ("ap-south-2", "aps2", "abc", True),
    ("ap-southeast-3", "apse3", "abc", True),
    ("ap-southeast-4", "apse4", "abc", True),
    ("eu-south-1", "eus1", "abc", True),
    ("eu-south-2", "eus2", "abc", True),
    ("eu-central-2", "euc2", "abc", True),
    ("me-south-1", "mes1", "abc", True),
    ("me-central-1", "mec1", "abc", True),
    ("il-central-1", "ilc1", "abc", True),
    ("ca-west-1", "caw1", "abc", True),
]

REGIONS = {}
for _name, _prefix, _letters, _optin in _REGIONS:
    REGIONS[_name] = {
        "name": _name,
        "opt_in": _optin,
        "azs": [(_name + l, "%s-az%d" % (_prefix, i + 1)) for i, l in enumerate(_letters)],
    }

REGION_ORDER = [r[0] for r in _REGIONS]

# Regions the generator spreads clusters over, in this order.
GENERATOR_REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1",
                     "ap-northeast-1", "us-east-2", "ap-south-1", "eu-west-2", "ca-central-1",
                     "sa-east-1", "ap-southeast-2", "eu-north-1", "us-west-1", "eu-west-3",
                     "ap-northeast-2"]

# AZ ids where EKS refuses to place control plane ENIs.
EKS_UNSUPPORTED_AZ_IDS = {"use1-az3", "usw1-az2", "cac1-az3"}


def is_region(name):
    return name in REGIONS


def azs(region):
    """[(zone name, zone id)] for a region."""
    return REGIONS[region]["azs"]


def az_id(region, zone):
    for z, zid in REGIONS[region]["azs"]:
        if z == zone:
            return zid
    return None


def eks_azs(region):
    """AZs EKS accepts for control plane subnets."""
    return [(z, zid) for z, zid in azs(region) if zid not in EKS_UNSUPPORTED_AZ_IDS]
