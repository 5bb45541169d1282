"""AWS managed policies the simulator's IAM knows.

AmazonEKSClusterPolicy: the autoscaling, ec2 and kms actions of AWS's document
(version v8, https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEKSClusterPolicy.html)
and its service-linked-role statement.  Its elasticloadbalancing actions are left
out: nothing the simulator serves or checks reads them.
"""

EKS_CLUSTER_POLICY_EC2_ACTIONS = [
    "ec2:AttachVolume", "ec2:AuthorizeSecurityGroupIngress", "ec2:CreateRoute", "ec2:CreateSecurityGroup",
    "ec2:CreateTags", "ec2:CreateVolume", "ec2:DeleteRoute", "ec2:DeleteSecurityGroup", "ec2:DeleteVolume",
    "ec2:DescribeInstances", "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets",
    "ec2:DescribeVolumes", "ec2:DescribeVolumesModifications", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeAvailabilityZones", "ec2:DetachVolume",
    "ec2:ModifyInstanceAttribute", "ec2:ModifyVolume", "ec2:RevokeSecurityGroupIngress",
    "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeInternetGateways",
    "ec2:DescribeInstanceTopology",
]


def eks_cluster_policy(without=()):
    """The AmazonEKSClusterPolicy document, optionally without some actions."""
    actions = ["autoscaling:DescribeAutoScalingGroups", "autoscaling:UpdateAutoScalingGroup"] + \
        [a for a in EKS_CLUSTER_POLICY_EC2_ACTIONS if a not in without] + ["kms:DescribeKey"]
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AmazonEKSClusterPolicy", "Effect": "Allow", "Action": actions, "Resource": "*"},
        {"Sid": "AmazonEKSClusterPolicySLRCreate", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole",
         "Resource": "*", "Condition": {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}},
    ]}


# name -> (path, default version, description, document, created, updated)
AWS_MANAGED = {
    "AmazonEKSClusterPolicy": (
        "/", "v8", "This policy provides Kubernetes the permissions it requires to manage resources on your behalf. "
        "Kubernetes requires Ec2:CreateTags permissions to place identifying information on EC2 resources including "
        "but not limited to Instances, Security Groups, and Elastic Network Interfaces.",
        eks_cluster_policy(), "2018-05-27T21:06:14Z", "2025-04-17T02:52:33Z"),
}
