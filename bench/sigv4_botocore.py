"""bench/sigv4_botocore.py [seconds] [rounds]: the signing workload of
bench/sigv4_bench.c through botocore's SigV4Auth.add_auth (what boto3 runs
for every request), for the peer figure of `make bench`. Prints "key value"
lines like sigv4_bench: sigv4_botocore_per_sec N, botocore_version V.

botocore stamps X-Amz-Date itself, so unlike the C and Lua figures its
signature cannot be compared; everything else (method, target, the 200-byte
body, Host and Content-Type, the 900-character session token) is the same."""
import sys
import time

import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

BODY = ('{"resourcesVpcConfig":{"controlPlaneEgressMode":"PRIVATE","endpointPrivateAccess":'
        'true,"endpointPublicAccess":false},"clientRequestToken":"8f14e45f-ceea-467f-a0e6-'
        '1b2c3d4e5f60","tags":{"a":"b"}      }')
TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLXdlc3QtMiJHMEUCIQDexample+token/part==" * 12
assert len(BODY) == 200 and len(TOKEN) == 900


def main():
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", TOKEN)
    auth = SigV4Auth(creds, "eks", "us-west-2")

    def sign_once():
        req = AWSRequest(method="POST", url="https://eks.us-west-2.amazonaws.com/clusters/prod/update-config",
                         data=BODY, headers={"Content-Type": "application/json"})
        auth.add_auth(req)
        return req

    for _ in range(200):
        sign_once()
    best = 0.0
    for _ in range(rounds):
        n, t0 = 0, time.monotonic()
        while True:
            for _ in range(64):
                sign_once()
            n += 64
            t = time.monotonic() - t0
            if t >= secs:
                break
        best = max(best, n / t)
    print("sigv4_botocore_per_sec %.1f" % best)
    print("botocore_version %s" % botocore.__version__)


main()
