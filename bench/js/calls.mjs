// bench/js/calls.mjs N CONCURRENCY: N DescribeCluster calls with the AWS SDK
// for JavaScript v3 and a promise pool of CONCURRENCY workers, the way its
// user writes it: one client from the environment, the HTTP agent's socket
// limit raised to the concurrency (the SDK's default of 50 would cap it).
// Prints one JSON line like calls_eksegress.lua: wall_s and cpu_s
// (process.cpuUsage: user+sys of this process) of the call phase alone.
import { EKSClient, DescribeClusterCommand } from "@aws-sdk/client-eks";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import http from "node:http";
import https from "node:https";

const n = Number(process.argv[2] ?? 2000);
const conc = Number(process.argv[3] ?? 32);
const names = Array.from({ length: n }, (_, i) => `cl-${String(i + 1).padStart(5, "0")}`);
const agent = { keepAlive: true, maxSockets: conc };
const eks = new EKSClient({
  requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent(agent), httpsAgent: new https.Agent(agent) }),
});

const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
const t0 = performance.now(), c0 = cpu();
let next = 0, bad = 0, first;
async function worker() {
  while (next < n) {
    const name = names[next++];
    try {
      const out = await eks.send(new DescribeClusterCommand({ name }));
      if (out.cluster.name !== name) { bad++; first ??= "wrong cluster"; }
    } catch (e) { bad++; first ??= String(e); }
  }
}
await Promise.all(Array.from({ length: Math.min(conc, n) }, worker));
const t1 = performance.now(), c1 = cpu();
const doc = { calls: n, errors: bad, wall_s: (t1 - t0) / 1000, cpu_s: c1 - c0 };
if (first) doc.first_error = first;
console.log(JSON.stringify(doc));
eks.destroy();
