// SPDX-License-Identifier: MIT
// A Node.js service for oombreaker's tests: prom-client's default metrics on /metrics (the
// nodejs preset reads nodejs_gc_duration_seconds and nodejs_heap_size_used_bytes), plus one
// gauge of V8's heap limit, which the default metrics lack (policies name it with
// heap_max_metric). It churns garbage all the time; with --leak-mib-per-s N it also keeps
// N MiB a second in a map of maps, the way the incident's Go service leaked.
// Prints "port N" once it listens on 127.0.0.1 (port 0 = any free port).
'use strict';
const http = require('http');
const v8 = require('v8');
const client = require('prom-client');

const args = process.argv.slice(2);
function arg(name, def) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? Number(args[i + 1]) : def;
}
const port = arg('--port', 0);
const leakMiBPerS = arg('--leak-mib-per-s', 0);

client.collectDefaultMetrics({ gcDurationBuckets: [0.001, 0.01, 0.1, 1] });
new client.Gauge({
  name: 'nodeload_heap_size_limit_bytes',
  help: 'V8 heap size limit (v8.getHeapStatistics().heap_size_limit).',
  collect() { this.set(v8.getHeapStatistics().heap_size_limit); },
});

// Garbage: short-lived objects, so minor GCs run without pause.
setInterval(() => {
  let junk = [];
  for (let i = 0; i < 20000; i++) junk.push({ id: i, tags: ['a', 'b'] });
  junk = null;
}, 10);

// The leak: orders that are never evicted, 64 KiB of heap each (8192 small integers, 8 bytes
// apiece in a packed array), keyed by order id.
const orders = new Map();
let next = 0;
if (leakMiBPerS > 0) {
  const perTick = Math.max(1, Math.round((leakMiBPerS * 1024 * 1024) / (64 * 1024) / 10));
  setInterval(() => {
    for (let i = 0; i < perTick; i++) {
      const id = String(next++);
      orders.set(id, new Map([['lines', new Array(8192).fill(next)]]));
    }
  }, 100);
}

const server = http.createServer(async (req, res) => {
  if (req.url !== '/metrics') {
    res.writeHead(404).end();
    return;
  }
  res.setHeader('Content-Type', client.register.contentType);
  res.end(await client.register.metrics());
});
server.listen(port, '127.0.0.1', () => {
  console.log(`port ${server.address().port}`);
});
