'use strict';
// Ports and connect probes, shared by the tests' harness and the benchmarks (bench/lib.js).
const net = require('node:net');

/** A port nobody listens on now (the kernel picks it; the tiny race is accepted). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** One connect attempt: true when accepted, false when refused (or anything else failed). */
function canConnect(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      s.destroy();
      resolve(false);
    });
  });
}

module.exports = { freePort, canConnect };
