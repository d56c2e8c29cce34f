'use strict';
// Lays out objs/ the way SRS users know it: objs/nginx/html is http_server.dir's default.
const fs = require('node:fs');
const path = require('node:path');
const root = path.resolve(__dirname, '..');
const dst = path.join(root, 'objs', 'nginx', 'html');
fs.mkdirSync(dst, { recursive: true });
fs.cpSync(path.join(root, 'html'), dst, { recursive: true });
