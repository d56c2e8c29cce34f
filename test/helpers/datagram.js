'use strict';
// A unix datagram socket playing systemd's notify socket, for tests (Node has none, and the addon
// ships only what srs uses): a python3 child binds it and prints each datagram as a JSON line.
const { spawn } = require('node:child_process');

const RECEIVER = `
import json, socket, sys
name = sys.argv[1]
addr = '\\0' + name[1:] if name.startswith('@') else name
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    s.bind(addr)
except OSError as e:
    print(json.dumps({'error': e.errno}), flush=True)
    sys.exit(1)
print(json.dumps({'bound': True}), flush=True)
while True:
    print(json.dumps({'data': s.recv(65536).decode()}), flush=True)
`;

/**
 * Bind `name` (a path, or '@abstract'); resolves once bound, rejects with the errno name if the
 * bind failed. recv(timeoutMs) resolves with the next datagram's text, or null at the deadline.
 */
function datagramReceiver(name) {
  const child = spawn('python3', ['-c', RECEIVER, name], { stdio: ['ignore', 'pipe', 'inherit'] });
  const queue = [];
  const waiters = [];
  let buf = '';
  let onBound;
  const bound = new Promise((resolve, reject) => (onBound = { resolve, reject }));
  child.on('exit', () => onBound.reject(new Error(`datagram receiver for ${name} exited before binding`)));
  child.stdout.on('data', (c) => {
    buf += c;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const m = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (m.bound) onBound.resolve();
      else if (m.error !== undefined) onBound.reject(Object.assign(new Error(`bind(${name}): errno ${m.error}`), { errno: m.error }));
      else if (waiters.length > 0) waiters.shift()(m.data);
      else queue.push(m.data);
    }
  });
  const rx = {
    recv(timeoutMs) {
      if (queue.length > 0) return Promise.resolve(queue.shift());
      return new Promise((resolve) => {
        const deliver = (d) => {
          clearTimeout(timer);
          resolve(d);
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(deliver), 1);
          resolve(null);
        }, timeoutMs);
        waiters.push(deliver);
      });
    },
    close() {
      child.kill('SIGKILL');
    },
  };
  return bound.then(() => rx);
}

module.exports = { datagramReceiver };
