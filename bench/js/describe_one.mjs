// bench/js/describe_one.mjs NAME: start-up plus one DescribeCluster with the
// AWS SDK for JavaScript v3 (client from the environment).
import { EKSClient, DescribeClusterCommand } from "@aws-sdk/client-eks";

const eks = new EKSClient({});
const out = await eks.send(new DescribeClusterCommand({ name: process.argv[2] }));
console.log(out.cluster.status);
eks.destroy();
