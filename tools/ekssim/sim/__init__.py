"""ekssim: a local AWS simulator (EKS, EC2, STS, Organizations, IMDSv2, container credentials).

Python 3.9+ standard library only.  Module map:

  httpserver  threaded HTTP/1.1 server (keep-alive, TCP_NODELAY, one send per response)
  sigv4       independent SigV4 verification (header and presigned query auth)
  core        the Simulator: clock, identities, routing, auth, faults, request log, persistence
  protocols   wire shapes of success and error responses per protocol
  eks         EKS rest-json operations and cluster/update state machines
  ec2         EC2 query/XML describe operations over the expanded VPC networks
  sts         STS query/XML, Organizations json-1.1, IMDSv2 and container credentials
  fleet       fleet file loading, validation, network expansion, ground truth
  generator   --generate SPEC: large seeded fleets with defects
  faults      fault injection (throttle, 5xx, latency, drop, stall, truncate, clock skew)
  admin       /_sim/ admin endpoints
  regions     the region / availability-zone table
"""
