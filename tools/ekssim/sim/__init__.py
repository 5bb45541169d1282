"""ekssim: a local AWS simulator (EKS, EC2, IAM, STS, Organizations, IMDSv2, container
credentials) with a minimal Kubernetes API per cluster.

Python 3.9+ standard library only.  Module map:

  httpserver  threaded HTTP/1.1 server (keep-alive, TCP_NODELAY, one send per response)
  sigv4       independent SigV4 verification (header and presigned query auth)
  core        the Simulator: clock, identities, routing, auth, SCPs, faults, request log, persistence
  protocols   wire shapes of success and error responses per protocol
  eks         EKS rest-json operations and cluster/update state machines
  ec2         EC2 query/XML describe operations over the expanded VPC networks
  iam         IAM query/XML reads and SimulatePrincipalPolicy
  iamdir      the roles, users and policies of a fleet
  iampolicy   IAM policy documents: parsing and evaluation (identity policies, SCPs)
  awspolicies AWS managed policy documents (AmazonEKSClusterPolicy)
  scp         service control policies per account
  sts         STS query/XML, Organizations json-1.1, IMDSv2 and container credentials
  k8s         the Kubernetes API listener and EKS token authentication
  k8sobjects  webhook configurations and APIServices of a cluster
  tlsca       the per-run certificate authority (openssl command line)
  fleet       fleet file loading, validation, ground truth, check ids
  network     the per-region EC2 store and the knob expansion of a network
  explicit    explicit networks (a network's ec2 object in SDK shapes)
  ec2model    EC2 output shapes (ec2_shapes.json) and SDK -> wire conversion
  ids         deterministic AWS-looking ids
  generator   --generate SPEC: large seeded fleets with defects
  faults      fault injection (throttle, 5xx, latency, drop, stall, truncate, clock skew)
  admin       /_sim/ admin endpoints (admin_ext: /_sim/checks, /_sim/scp, /_sim/k8s)
  regions     the region / availability-zone table
"""
