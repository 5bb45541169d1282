#!/usr/bin/python3
"""Write tools/ekssim/sim/ec2_shapes.json from botocore's EC2 model.

  /usr/bin/python3 tools/ekssim/tests/gen_ec2_shapes.py [OUT]

The simulator is standard-library only, so the part of the EC2 model it needs
(the output shapes of the describe calls whose resources a fleet may state
explicitly, with their SDK member names, wire element names, types and enums)
is generated once and committed.  official_client.py checks the committed file
against the installed botocore on every test run.
"""

import json
import os
import sys

import botocore.session

# SDK list key in a fleet network's "ec2" object -> (operation, output member)
ROOTS = [
    ("Vpcs", "DescribeVpcs", "Vpcs"),
    ("Subnets", "DescribeSubnets", "Subnets"),
    ("RouteTables", "DescribeRouteTables", "RouteTables"),
    ("NetworkAcls", "DescribeNetworkAcls", "NetworkAcls"),
    ("SecurityGroups", "DescribeSecurityGroups", "SecurityGroups"),
    ("NatGateways", "DescribeNatGateways", "NatGateways"),
    ("DhcpOptions", "DescribeDhcpOptions", "DhcpOptions"),
    ("InternetGateways", "DescribeInternetGateways", "InternetGateways"),
    ("EgressOnlyInternetGateways", "DescribeEgressOnlyInternetGateways", "EgressOnlyInternetGateways"),
    ("TransitGateways", "DescribeTransitGateways", "TransitGateways"),
    ("TransitGatewayVpcAttachments", "DescribeTransitGatewayVpcAttachments", "TransitGatewayVpcAttachments"),
    ("ManagedPrefixLists", "DescribeManagedPrefixLists", "PrefixLists"),
    ("VpcEndpoints", "DescribeVpcEndpoints", "VpcEndpoints"),
    ("FlowLogs", "DescribeFlowLogs", "FlowLogs"),
    ("NetworkInterfaces", "DescribeNetworkInterfaces", "NetworkInterfaces"),
    ("PrefixListEntries", "GetManagedPrefixListEntries", "Entries"),
]


def generate():
    model = botocore.session.get_session().get_service_model("ec2")
    shapes = {}

    def visit(shape):
        if shape.name in shapes:
            return
        t = shape.type_name
        d = {"t": t}
        shapes[shape.name] = d
        if t == "structure":
            d["m"] = []
            for name, m in shape.members.items():
                d["m"].append([name, m.serialization.get("name", name), m.name])
                visit(m)
        elif t == "list":
            d["m"] = shape.member.name
            visit(shape.member)
        elif t == "string" and shape.enum:
            d["e"] = list(shape.enum)

    roots = {}
    for key, op, member in ROOTS:
        out = model.operation_model(op).output_shape
        lst = out.members[member]
        roots[key] = lst.member.name
        visit(lst.member)
    # DescribeInstances wraps instances in reservations; fleets state instances
    inst = model.shape_for("Instance")
    roots["Instances"] = inst.name
    visit(inst)
    return {"source": "botocore %s EC2 model (2016-11-15)" % botocore.__version__, "roots": roots,
            "shapes": dict(sorted(shapes.items()))}


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    out = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(here), "sim", "ec2_shapes.json")
    data = generate()
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        # one shape per line, so a model update reads as a small diff
        f.write('{"source": %s,\n "roots": %s,\n "shapes": {\n' % (json.dumps(data["source"]),
                                                                 json.dumps(data["roots"])))
        f.write(",\n".join("  %s: %s" % (json.dumps(k), json.dumps(v, separators=(",", ":")))
                           for k, v in data["shapes"].items()))
        f.write("\n }}\n")
    os.replace(tmp, out)
    print("wrote %s: %d shapes" % (out, len(data["shapes"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
