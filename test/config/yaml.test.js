'use strict';
// YAML carries the same tree: conf/srs.yaml equals conf/console.conf; errors carry a line.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { loadConfig } = require('../../dist/config/load.js');
const { parseYaml } = require('../../dist/config/yaml.js');
const { parseText } = require('../../dist/config/grammar.js');

const ROOT = path.resolve(__dirname, '../..');
const strip = (ds) => ds.map((d) => ({ name: d.name, args: d.args, children: d.children && strip(d.children) }));

test('conf/srs.yaml and conf/console.conf give equal configs', () => {
  const y = loadConfig({ file: 'conf/srs.yaml', env: {}, cwd: ROOT });
  const c = loadConfig({ file: 'conf/console.conf', env: {}, cwd: ROOT });
  assert.deepEqual(y.config, c.config);
  assert.deepEqual(y.warnings, []);
});

test('the mapping: scalars, lists, null, blocks, named blocks, args in keys, repeated directives', () => {
  const y = parseYaml(`listen: [1935, "[::]:1935"]
daemon: false
enabled: true
re:
interval: 9.30
http_api:
  raw_api: {}
vhost:
  a.com:
    play: { gop_cache: off }
    ingest:
      live: { enabled: on }
    "transcode live":
      engine: [ { enabled: off }, { enabled: on } ]
  b.com:
stream_caster:
  - { caster: flv }
  - { caster: gb28181 }
allow: [[play, all], [publish, all]]
`, 'conf/y.yaml');
  const g = parseText(`listen 1935 [::]:1935;
daemon off;
enabled on;
re;
interval 9.30;
http_api { raw_api { } }
vhost a.com {
  play { gop_cache off; }
  ingest live { enabled on; }
  transcode live { engine { enabled off; } engine { enabled on; } }
}
vhost b.com { }
stream_caster { caster flv; }
stream_caster { caster gb28181; }
allow play all;
allow publish all;
`, 'conf/g.conf');
  assert.deepEqual(strip(y), strip(g));
  assert.deepEqual(y[0].loc, { file: 'conf/y.yaml', line: 1, col: 1 });
  assert.deepEqual(y[6].loc, { file: 'conf/y.yaml', line: 9, col: 3 });
});

test('env expansion in YAML values: candidate only, as in the grammar', () => {
  const y = parseYaml('candidate: $CANDIDATE\nx: $CANDIDATE\npassword: pa$HOME\n', 'y.yaml', { CANDIDATE: '1.2.3.4', HOME: '/root' });
  assert.deepEqual(y.map((d) => d.args), [['1.2.3.4'], ['$CANDIDATE'], ['pa$HOME']]);
});

function yamlFails(text, line, code, re) {
  assert.throws(() => loadConfig({ file: 'conf/x.yaml', env: {}, cwd: '/v', readFile: () => text }), (e) => {
    assert.equal(e.code, code);
    assert.equal(e.location.file, 'conf/x.yaml');
    assert.equal(e.location.line, line);
    assert.ok(e.location.col >= 1);
    if (re) assert.match(e.message, re);
    return true;
  });
}

test('YAML errors carry a line', () => {
  yamlFails('listen: 1935\nhttp_api:\n  enabled: on\n listen: 1985\n', 4, 'SRS_ERR_CONFIG_SYNTAX', /YAML: All mapping items/);
  yamlFails('listen: 1935\nhttp_api:\n  enabled: on\n   listen: 1985\n', 3, 'SRS_ERR_CONFIG_SYNTAX', /YAML/);
  yamlFails('listen: 1935\nlisten: 1936\n', 2, 'SRS_ERR_CONFIG_SYNTAX', /YAML/);
  yamlFails('listen: 1935\nx: "abc\n', 3, 'SRS_ERR_CONFIG_SYNTAX', /Missing closing/); // the yaml library reports where the file ends
  yamlFails('- a\n- b\n', 1, 'SRS_ERR_CONFIG_SYNTAX', /map of directives/);
  yamlFails('', 1, 'SRS_ERR_CONFIG_SYNTAX', /empty/);
  yamlFails('listen: 1935\n\nhttp_api:\n  listen: abc\n', 4, 'SRS_ERR_CONFIG_VALUE', /http_api\.listen: "abc" is not a port/);
  yamlFails('listen: 1935\nlistne: 1\n', 2, 'SRS_ERR_CONFIG_UNKNOWN', /did you mean "listen"/);
});
