'use strict';
// Codec parsing on real bytes: ffmpeg writes a short x264 + AAC FLV; its sequence headers are parsed
// and compared with what ffprobe says of the same file.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { parseAvcConfig, parseAudioSpecificConfig, videoTagInfo, audioTagInfo, videoParams } = require('../../dist/media/codec');
const { demuxFlv } = require('./support');

function probe(file) {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file], { encoding: 'utf8' });
  return JSON.parse(out).streams;
}

function generate(dir, name, args) {
  const file = path.join(dir, name);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '1', ...args, '-f', 'flv', file]);
  return file;
}

const AVC_LEVEL = (n) => (n % 10 === 0 ? String(n / 10) : `${Math.floor(n / 10)}.${n % 10}`);

for (const [profile, name, ffprofile] of [['main', 'Main', 'Main'], ['high', 'High', 'High'], ['baseline', 'Baseline', 'Constrained Baseline']]) {
  test(`x264 ${profile} 320x180 (cropped) + AAC: SPS and AudioSpecificConfig as ffprobe reads them`, (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srs-codec-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
    const file = generate(dir, 'a.flv', ['-c:v', 'libx264', '-profile:v', profile, '-g', '25', '-sc_threshold', '0', '-c:a', 'aac', '-ac', '2']);
    const streams = probe(file);
    const v = streams.find((s) => s.codec_type === 'video');
    const a = streams.find((s) => s.codec_type === 'audio');
    assert.strictEqual(v.profile, ffprofile);
    const { tags } = demuxFlv(fs.readFileSync(file));
    const vsh = tags.find((x) => x.type === 9 && videoTagInfo(x.data).sequenceHeader);
    const ash = tags.find((x) => x.type === 8 && audioTagInfo(x.data).sequenceHeader);
    assert.ok(vsh && ash, 'the file has both sequence headers');
    const info = videoTagInfo(vsh.data);
    const params = parseAvcConfig(info.config);
    assert.deepStrictEqual(params, { codec: 'H264', profile: name, level: AVC_LEVEL(v.level), width: v.width, height: v.height });
    assert.deepStrictEqual(videoParams('H264', info.config), params);
    const asc = parseAudioSpecificConfig(audioTagInfo(ash.data).config);
    assert.deepStrictEqual(asc, { codec: 'AAC', sample_rate: Number(a.sample_rate), channel: a.channels, profile: a.profile });
    // AVCPacketType 1: coded pictures (ffmpeg ends the file with an end-of-sequence tag, type 2)
    const frames = tags.filter((x) => x.type === 9 && x.data[1] === 1);
    const eos = tags.filter((x) => x.type === 9 && x.data[1] === 2);
    for (const x of eos) assert.strictEqual(videoTagInfo(x.data).keyframe, false, 'end of sequence is no keyframe');
    assert.ok(videoTagInfo(frames[0].data).keyframe, 'the first coded frame is a keyframe');
    const keyframes = frames.filter((x) => videoTagInfo(x.data).keyframe).length;
    assert.strictEqual(keyframes, Math.ceil(frames.length / 25), `a keyframe every 25 of ${frames.length} frames (-g 25)`);
  });
}

test('malformed configurations: parse functions throw RangeError, videoParams degrades to Other', () => {
  assert.throws(() => parseAvcConfig(Buffer.from([1, 100, 0, 30, 0xff, 0xe1, 0, 40, 0x67])), RangeError);
  assert.throws(() => parseAudioSpecificConfig(Buffer.from([0x12])), RangeError);
  assert.deepStrictEqual(videoParams('H264', Buffer.from([0])), { codec: 'H264', profile: 'Other', level: 'Other', width: 0, height: 0 });
  assert.deepStrictEqual(videoParams('AV1', Buffer.alloc(4)), { codec: 'AV1', profile: 'Other', level: 'Other', width: 0, height: 0 });
});
