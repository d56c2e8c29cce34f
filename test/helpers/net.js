'use strict';
// Ports and connect probes, shared by the tests' harness and the benchmarks (bench/lib.js).
const http = require('node:http');
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

/**
 * One HTTP request on a fresh connection (unless `agent` is given): status, headers, body text,
 * the body parsed as JSON when it is JSON, and the socket. `timeoutMs` (none by default) fails
 * a request that stalls.
 */
function request(port, urlPath, { method = 'GET', headers = {}, agent, host = '127.0.0.1', body, timeoutMs } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path: urlPath, method, headers, agent: agent ?? false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, text, json, socket: res.socket });
      });
    });
    if (timeoutMs !== undefined) req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

module.exports = { freePort, canConnect, request };
