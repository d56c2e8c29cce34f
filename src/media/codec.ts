// What a player and the stream API need to know of a tag's payload: is it a keyframe, a sequence
// header, which codec; and the decoder configurations read for /api/v1/streams (profile, level,
// size, sample rate, channels). Pure functions over Buffers; nothing here allocates per frame.
// Sources: FLV spec 10.1 (E.4.2 audio, E.4.3 video tags); Enhanced RTMP v1/v2 (veovera/enhanced-rtmp:
// ExVideoTagHeader, ExAudioTagHeader); ISO/IEC 14496-15 (AVCDecoderConfigurationRecord, HEVC's
// hvcC); ITU-T H.264 7.3.2.1.1 and H.265 7.3.2.2 (SPS); ISO/IEC 14496-3 1.6.2.1 (AudioSpecificConfig);
// names as SRS prints them (srs_kernel_codec.cpp: srs_video_codec_id2str, srs_avc_profile2str, ...).

/** FLV video codec ids (legacy VideoTagHeader); 12 is the HEVC id SRS and Chinese CDNs use. */
export const VideoCodecId = { AVC: 7, HEVC: 12, AV1: 13 } as const;
/** FLV audio sound formats. */
export const SoundFormat = { MP3: 2, ExHeader: 9, AAC: 10, Opus: 13 } as const;

/** What the source needs of one video tag. */
export interface VideoTagInfo {
  /** 'H264' | 'HEVC' | 'AV1' | 'VP6' | 'Other' (SRS's names) */
  codec: string;
  keyframe: boolean;
  sequenceHeader: boolean;
  /** the decoder configuration record (avcC, hvcC, av1C) when sequenceHeader; a view, not a copy */
  config: Buffer | null;
}

const FOURCC: Record<string, string> = { avc1: 'H264', hvc1: 'HEVC', av01: 'AV1', vp09: 'VP9' };

/**
 * Classify a video message payload: legacy FLV (codec id in the low nibble, AVCPacketType 0 = sequence
 * header) or enhanced RTMP (IsExHeader bit 0x80, PacketType in the low nibble, FourCC in bytes 1..4;
 * PacketType 0 SequenceStart and 5 MPEG2TSSequenceStart are sequence headers). Null for an empty
 * payload or a command frame (frame type 5), which carries no picture.
 */
export function videoTagInfo(p: Buffer): VideoTagInfo | null {
  if (p.length < 1) return null;
  const b0 = p[0];
  if (b0 & 0x80) {
    const frameType = (b0 >> 4) & 7;
    const packetType = b0 & 0x0f;
    if (p.length < 5 || frameType === 5) return null;
    const fourcc = p.toString('latin1', 1, 5);
    const sequenceHeader = packetType === 0 || packetType === 5;
    return { codec: FOURCC[fourcc] ?? 'Other', keyframe: frameType === 1 && !sequenceHeader, sequenceHeader, config: sequenceHeader ? p.subarray(5) : null };
  }
  const frameType = b0 >> 4;
  const codecId = b0 & 0x0f;
  if (frameType === 5) return null;
  const codec = codecId === VideoCodecId.AVC ? 'H264' : codecId === VideoCodecId.HEVC ? 'HEVC' : codecId === VideoCodecId.AV1 ? 'AV1' : codecId === 4 || codecId === 5 ? 'VP6' : 'Other';
  const hasPacketType = codecId === VideoCodecId.AVC || codecId === VideoCodecId.HEVC || codecId === VideoCodecId.AV1;
  const sequenceHeader = hasPacketType && p.length >= 2 && p[1] === 0;
  // legacy AVC/HEVC: 1 byte header, 1 byte packet type, 3 bytes composition time
  return { codec, keyframe: frameType === 1 && !sequenceHeader, sequenceHeader, config: sequenceHeader ? p.subarray(5) : null };
}

/** What the source needs of one audio tag. */
export interface AudioTagInfo {
  /** 'AAC' | 'MP3' | 'Opus' | 'Other' (SRS's names) */
  codec: string;
  sequenceHeader: boolean;
  /** AudioSpecificConfig (or the enhanced SequenceStart body) when sequenceHeader; a view */
  config: Buffer | null;
  /** Hz, from the FLV header's rate bits (5512, 11025, 22050, 44100) */
  flvSampleRate: number;
  /** 1 or 2, from the FLV header's sound type bit */
  flvChannels: number;
}

const FLV_RATES = [5512, 11025, 22050, 44100];
const AUDIO_FOURCC: Record<string, string> = { mp4a: 'AAC', '.mp3': 'MP3', Opus: 'Opus' };

/** Classify an audio message payload (legacy FLV AudioTagHeader, or the enhanced ExAudioTagHeader). */
export function audioTagInfo(p: Buffer): AudioTagInfo | null {
  if (p.length < 1) return null;
  const b0 = p[0];
  const format = b0 >> 4;
  const flvSampleRate = FLV_RATES[(b0 >> 2) & 3];
  const flvChannels = (b0 & 1) + 1;
  if (format === SoundFormat.ExHeader) {
    if (p.length < 5) return null;
    const packetType = b0 & 0x0f;
    const sequenceHeader = packetType === 0;
    const codec = AUDIO_FOURCC[p.toString('latin1', 1, 5)] ?? 'Other';
    return { codec, sequenceHeader, config: sequenceHeader ? p.subarray(5) : null, flvSampleRate, flvChannels };
  }
  const codec = format === SoundFormat.AAC ? 'AAC' : format === SoundFormat.MP3 ? 'MP3' : format === SoundFormat.Opus ? 'Opus' : 'Other';
  const sequenceHeader = format === SoundFormat.AAC && p.length >= 2 && p[1] === 0;
  return { codec, sequenceHeader, config: sequenceHeader ? p.subarray(2) : null, flvSampleRate, flvChannels };
}

/** Reads Exp-Golomb coded fields from an RBSP (emulation prevention bytes already removed). */
class BitReader {
  private bit = 0;
  constructor(private readonly b: Buffer) {}
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.bit >> 3;
      if (byte >= this.b.length) throw new RangeError('SPS ends early');
      v = v * 2 + ((this.b[byte] >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return v;
  }
  skip(n: number): void {
    this.bit += n;
  }
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) if (++zeros > 31) throw new RangeError('bad Exp-Golomb code');
    return zeros === 0 ? 0 : 2 ** zeros - 1 + this.u(zeros);
  }
  se(): number {
    const k = this.ue();
    return k & 1 ? (k + 1) / 2 : -(k / 2);
  }
}

/** NAL unit payload without the 0x000003 emulation prevention bytes (H.264 7.4.1). */
function rbsp(nal: Buffer): Buffer {
  const out = Buffer.allocUnsafe(nal.length);
  let n = 0;
  let zeros = 0;
  for (let i = 0; i < nal.length; i++) {
    const c = nal[i];
    if (zeros >= 2 && c === 3) {
      zeros = 0;
      continue;
    }
    zeros = c === 0 ? zeros + 1 : 0;
    out[n++] = c;
  }
  return out.subarray(0, n);
}

/** Decoded video parameters in SRS's words. */
export interface VideoParams {
  codec: string;
  profile: string;
  level: string;
  /** pixels, after cropping; 0 when unknown */
  width: number;
  height: number;
}

const AVC_PROFILES: Record<number, string> = { 66: 'Baseline', 77: 'Main', 88: 'Extended', 100: 'High', 110: 'High(10)', 122: 'High(422)', 244: 'High(444)' };
const AVC_LEVELS = new Set([10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 50, 51]);
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function avcLevel(idc: number): string {
  if (!AVC_LEVELS.has(idc)) return 'Other';
  return idc % 10 === 0 ? String(idc / 10) : `${Math.floor(idc / 10)}.${idc % 10}`;
}

/**
 * Parse an AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.2.4.1) and its first SPS (H.264
 * 7.3.2.1.1): profile and level as SRS names them, width and height after frame cropping.
 * @throws RangeError when the record or SPS is truncated or malformed
 */
export function parseAvcConfig(avcc: Buffer): VideoParams {
  if (avcc.length < 8 || avcc[0] !== 1) throw new RangeError('not an AVCDecoderConfigurationRecord');
  const numSps = avcc[5] & 0x1f;
  if (numSps < 1) throw new RangeError('AVCDecoderConfigurationRecord has no SPS');
  const spsLen = avcc.readUInt16BE(6);
  if (8 + spsLen > avcc.length || spsLen < 4) throw new RangeError('SPS ends early');
  const r = new BitReader(rbsp(avcc.subarray(9, 8 + spsLen)));
  const profileIdc = r.u(8);
  r.skip(8);
  const levelIdc = r.u(8);
  r.ue();
  let chroma = 1;
  if (HIGH_PROFILES.has(profileIdc)) {
    chroma = r.ue();
    if (chroma === 3) r.skip(1);
    r.ue();
    r.ue();
    r.skip(1);
    if (r.u(1)) {
      for (let i = 0; i < (chroma !== 3 ? 8 : 12); i++) {
        if (!r.u(1)) continue;
        const size = i < 6 ? 16 : 64;
        let last = 8;
        let next = 8;
        for (let j = 0; j < size && next !== 0; j++) {
          next = (last + r.se() + 256) % 256;
          if (next !== 0) last = next;
        }
      }
    }
  }
  r.ue();
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.skip(1);
    r.se();
    r.se();
    const n = r.ue();
    for (let i = 0; i < n; i++) r.se();
  }
  r.ue();
  r.skip(1);
  const wMbs = r.ue() + 1;
  const hMaps = r.ue() + 1;
  const frameMbsOnly = r.u(1);
  if (!frameMbsOnly) r.skip(1);
  r.skip(1);
  let [cl, cr, ct, cb] = [0, 0, 0, 0];
  if (r.u(1)) [cl, cr, ct, cb] = [r.ue(), r.ue(), r.ue(), r.ue()];
  const subW = chroma === 1 || chroma === 2 ? 2 : 1;
  const subH = chroma === 1 ? 2 : 1;
  const unitX = chroma === 0 ? 1 : subW;
  const unitY = (chroma === 0 ? 1 : subH) * (2 - frameMbsOnly);
  return {
    codec: 'H264',
    profile: AVC_PROFILES[profileIdc] ?? 'Other',
    level: avcLevel(levelIdc),
    width: wMbs * 16 - (cl + cr) * unitX,
    height: (2 - frameMbsOnly) * hMaps * 16 - (ct + cb) * unitY,
  };
}

const HEVC_PROFILES: Record<number, string> = { 1: 'Main', 2: 'Main10', 3: 'Main Still Picture', 4: 'Rext' };
const HEVC_LEVELS = new Set([30, 60, 63, 90, 93, 120, 123, 150, 153, 156, 180, 183, 186]);

/**
 * Parse an HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 8.3.3.1): profile and level from its
 * header, width and height from its SPS (H.265 7.3.2.2, conformance window applied).
 * @throws RangeError when truncated or malformed
 */
export function parseHevcConfig(hvcc: Buffer): VideoParams {
  if (hvcc.length < 23) throw new RangeError('not an HEVCDecoderConfigurationRecord');
  const profileIdc = hvcc[1] & 0x1f;
  const levelIdc = hvcc[12];
  const out: VideoParams = {
    codec: 'HEVC',
    profile: HEVC_PROFILES[profileIdc] ?? 'Other',
    level: HEVC_LEVELS.has(levelIdc) ? (levelIdc % 30 === 0 ? String(levelIdc / 30) : (levelIdc / 30).toFixed(1)) : 'Other',
    width: 0,
    height: 0,
  };
  let o = 23;
  const arrays = hvcc[22];
  for (let a = 0; a < arrays && o + 3 <= hvcc.length; a++) {
    const nalType = hvcc[o] & 0x3f;
    const count = hvcc.readUInt16BE(o + 1);
    o += 3;
    for (let i = 0; i < count && o + 2 <= hvcc.length; i++) {
      const len = hvcc.readUInt16BE(o);
      o += 2;
      if (nalType === 33 && o + len <= hvcc.length) {
        const size = hevcSpsSize(rbsp(hvcc.subarray(o + 2, o + len)));
        out.width = size.width;
        out.height = size.height;
        return out;
      }
      o += len;
    }
  }
  return out;
}

function hevcSpsSize(sps: Buffer): { width: number; height: number } {
  const r = new BitReader(sps);
  r.skip(4);
  const maxSubLayersMinus1 = r.u(3);
  r.skip(1);
  r.skip(96); // general profile_tier_level
  const profilePresent: number[] = [];
  const levelPresent: number[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    profilePresent.push(r.u(1));
    levelPresent.push(r.u(1));
  }
  if (maxSubLayersMinus1 > 0) for (let i = maxSubLayersMinus1; i < 8; i++) r.skip(2);
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (profilePresent[i]) r.skip(88);
    if (levelPresent[i]) r.skip(8);
  }
  r.ue();
  const chroma = r.ue();
  if (chroma === 3) r.skip(1);
  let width = r.ue();
  let height = r.ue();
  if (r.u(1)) {
    const subW = chroma === 1 || chroma === 2 ? 2 : 1;
    const subH = chroma === 1 ? 2 : 1;
    const [l, rt, t, b] = [r.ue(), r.ue(), r.ue(), r.ue()];
    width -= subW * (l + rt);
    height -= subH * (t + b);
  }
  return { width, height };
}

/**
 * Video parameters from a sequence header's configuration, per codec; for codecs srs does not
 * parse (AV1, VP6, ...) profile and level are 'Other' and the size 0, as SRS reports them.
 * Never throws: a malformed configuration gives 'Other' and 0.
 */
export function videoParams(codec: string, config: Buffer | null): VideoParams {
  try {
    if (config && codec === 'H264') return parseAvcConfig(config);
    if (config && codec === 'HEVC') return parseHevcConfig(config);
  } catch {
    // a malformed record is the publisher's problem; the stream still plays
  }
  return { codec, profile: 'Other', level: 'Other', width: 0, height: 0 };
}

/** Decoded audio parameters in SRS's words. */
export interface AudioParams {
  codec: string;
  /** Hz */
  sample_rate: number;
  channel: number;
  /** AAC object type name: 'Main' | 'LC' | 'SSR' | 'HE' | 'HEv2' | 'Other' */
  profile: string;
}

const AAC_OBJECTS: Record<number, string> = { 1: 'Main', 2: 'LC', 3: 'SSR', 5: 'HE', 29: 'HEv2' };
const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/**
 * Parse an AAC AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1): object type, sampling frequency
 * (index or explicit 24-bit), channel configuration.
 * @throws RangeError when shorter than 2 bytes or with a reserved frequency index
 */
export function parseAudioSpecificConfig(asc: Buffer): AudioParams {
  if (asc.length < 2) throw new RangeError('AudioSpecificConfig ends early');
  const r = new BitReader(asc);
  let objectType = r.u(5);
  if (objectType === 31) objectType = 32 + r.u(6);
  const freqIndex = r.u(4);
  const sampleRate = freqIndex === 15 ? r.u(24) : AAC_RATES[freqIndex];
  if (sampleRate === undefined) throw new RangeError(`reserved AAC sampling frequency index ${freqIndex}`);
  const channels = r.u(4);
  return { codec: 'AAC', sample_rate: sampleRate, channel: channels, profile: AAC_OBJECTS[objectType] ?? 'Other' };
}

/** Audio parameters from a tag: the ASC for AAC, the FLV header's bits otherwise. Never throws. */
export function audioParams(info: AudioTagInfo): AudioParams {
  if (info.codec === 'AAC' && info.config) {
    try {
      return parseAudioSpecificConfig(info.config);
    } catch {
      // fall back to the FLV header's figures
    }
  }
  return { codec: info.codec, sample_rate: info.flvSampleRate, channel: info.flvChannels, profile: 'Other' };
}
