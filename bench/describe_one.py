"""bench/describe_one.py NAME: start-up plus one DescribeCluster with boto3
(endpoint from AWS_ENDPOINT_URL, passed explicitly: Debian's botocore 1.29
predates that variable)."""
import os
import sys

import boto3

print(boto3.client("eks", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).describe_cluster(name=sys.argv[1])
      ["cluster"]["status"])
