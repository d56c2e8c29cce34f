// Command messages (AMF0 type 20, AMF3 type 17) and data messages (type 18): decoding a client's
// commands, and the replies and status events SRS sends, with SRS's field values.
// Source: SRS srs_protocol_rtmp_stack.cpp (SrsConnectAppResPacket, SrsOnStatusCallPacket,
// SrsFMLEStartResPacket, SrsCreateStreamResPacket, SrsSampleAccessPacket, SrsOnStatusDataPacket,
// SrsRtmpServer::start_play / on_play_client_pause / fmle_unpublish / start_fmle_publish).
import { MessageType, type RtmpMessage } from '../message';
import { decodeAmf0, encodeAmf0, EcmaArray, type AmfObject, type AmfValue } from './amf0';
import { RtmpError } from './error';

/** SRS's RTMP_SIG_FMS_VER and RTMP_SIG_CLIENT_ID. */
export const FMS_VERSION = '3,5,3,888';
export const CLIENT_ID = 'ASAICiss';

export interface Command {
  name: string;
  transactionId: number;
  /** the command object (connect's properties; null for most others) */
  commandObject: AmfValue;
  /** the values after the command object */
  args: AmfValue[];
}

/**
 * Decode a command message (type 20, or 17 with its leading format byte).
 * @throws RtmpError('amf0' | 'amf3' | 'command') when the payload is not AMF or the name/transaction id are missing
 */
export function decodeCommand(msg: RtmpMessage): Command {
  let offset = 0;
  if (msg.type === MessageType.CommandAmf3 && msg.payload.length > 0 && msg.payload[0] === 0) offset = 1;
  const values = decodeAmf0(msg.payload, offset);
  const [name, tid, obj, ...args] = values;
  if (typeof name !== 'string') throw new RtmpError('command', 'command message without a name');
  // a few encoders omit the transaction id on notifications; SRS reads 0 then
  return { name, transactionId: typeof tid === 'number' ? tid : 0, commandObject: obj ?? null, args };
}

/** Decode a data message (type 18, or 15 with its leading format byte) into its values. @throws RtmpError */
export function decodeData(msg: RtmpMessage): AmfValue[] {
  const offset = msg.type === MessageType.DataAmf3 && msg.payload.length > 0 && msg.payload[0] === 0 ? 1 : 0;
  return decodeAmf0(msg.payload, offset);
}

function isObject(v: AmfValue): v is AmfObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v) && !(v instanceof EcmaArray);
}

function str(o: AmfObject, k: string): string {
  const v = o[k];
  return typeof v === 'string' ? v : '';
}

export interface ConnectRequest {
  app: string;
  tcUrl: string;
  swfUrl: string;
  pageUrl: string;
  /** 0 (AMF0) or 3 (AMF3), echoed in the _result */
  objectEncoding: number;
  properties: AmfObject;
}

/** @throws RtmpError('command') without a command object or tcUrl (SRS: ERROR_RTMP_REQ_CONNECT / REQ_TCURL) */
export function parseConnect(cmd: Command): ConnectRequest {
  const o = cmd.commandObject;
  if (!isObject(o)) throw new RtmpError('command', 'connect without a command object');
  const tcUrl = str(o, 'tcUrl');
  if (!tcUrl) throw new RtmpError('command', 'connect without tcUrl');
  const enc = o.objectEncoding;
  return { app: str(o, 'app'), tcUrl, swfUrl: str(o, 'swfUrl'), pageUrl: str(o, 'pageUrl'), objectEncoding: typeof enc === 'number' ? enc : 0, properties: o };
}

/** publish(tid, null, name, type): type 'live' by default. @throws RtmpError('command') without a name */
export function parsePublish(cmd: Command): { name: string; type: string } {
  const [name, type] = cmd.args;
  if (typeof name !== 'string' || !name) throw new RtmpError('command', 'publish without a stream name');
  return { name, type: typeof type === 'string' ? type : 'live' };
}

/**
 * play(tid, null, name, start, duration, reset): SRS's defaults start -2 (live, else recorded),
 * duration -1 (all), reset true. @throws RtmpError('command') without a name
 */
export function parsePlay(cmd: Command): { name: string; start: number; duration: number; reset: boolean } {
  const [name, start, duration, reset] = cmd.args;
  if (typeof name !== 'string' || !name) throw new RtmpError('command', 'play without a stream name');
  return {
    name,
    start: typeof start === 'number' ? start : -2,
    duration: typeof duration === 'number' ? duration : -1,
    reset: typeof reset === 'boolean' ? reset : typeof reset === 'number' ? reset !== 0 : true,
  };
}

/** pause(tid, null, pause, ms). @throws RtmpError('command') without the flag */
export function parsePause(cmd: Command): { pause: boolean; timeMs: number } {
  const [flag, ms] = cmd.args;
  if (typeof flag !== 'boolean') throw new RtmpError('command', 'pause without its boolean');
  return { pause: flag, timeMs: typeof ms === 'number' ? ms : 0 };
}

/** The first argument as a string (releaseStream, FCPublish, FCUnpublish, getStreamLength), '' when absent. */
export function streamNameArg(cmd: Command): string {
  const v = cmd.args[0];
  return typeof v === 'string' ? v : '';
}

/** deleteStream(tid, null, streamId). */
export function deleteStreamId(cmd: Command): number {
  const v = cmd.args[0];
  return typeof v === 'number' ? v : 0;
}

// ---- encoders ---------------------------------------------------------------------------

/** A command message (type 20) on a message stream. */
export function command(name: string, transactionId: number, commandObject: AmfValue, args: readonly AmfValue[] = [], streamId = 0): RtmpMessage {
  return { type: MessageType.CommandAmf0, timestamp: 0, streamId, payload: encodeAmf0([name, transactionId, commandObject, ...args]) };
}

/** A data message (type 18) on a message stream. */
export function data(values: readonly AmfValue[], streamId: number): RtmpMessage {
  return { type: MessageType.DataAmf0, timestamp: 0, streamId, payload: encodeAmf0(values) };
}

export interface ServerSignature {
  /** data.srs_server, e.g. 'srs/0.1.0' */
  server: string;
  version: string;
  /** data.srs_pid */
  pid: number;
  /** data.srs_id: the connection id */
  cid: string;
  serverIp?: string;
}

/** connect's _result: props {fmsVer, capabilities 127, mode 1}, info NetConnection.Connect.Success (SRS response_connect_app). */
export function connectResult(transactionId: number, objectEncoding: number, sig: ServerSignature): RtmpMessage {
  const d: AmfObject = {
    version: FMS_VERSION,
    srs_sig: 'srs',
    srs_server: sig.server,
    srs_license: 'MIT',
    srs_url: 'https://github.com/ossrs/srs',
    srs_version: sig.version,
  };
  if (sig.serverIp) d.srs_server_ip = sig.serverIp;
  d.srs_pid = sig.pid;
  d.srs_id = sig.cid;
  return command(
    '_result',
    transactionId,
    { fmsVer: `FMS/${FMS_VERSION}`, capabilities: 127, mode: 1 },
    [{ level: 'status', code: 'NetConnection.Connect.Success', description: 'Connection succeeded', objectEncoding, data: new EcmaArray(d) }],
  );
}

/** connect refused: _error with NetConnection.Connect.Rejected (SRS response_connect_reject). */
export function connectRejected(transactionId: number, description: string): RtmpMessage {
  return command('_error', transactionId, null, [{ level: 'error', code: 'NetConnection.Connect.Rejected', description }]);
}

/** onBWDone(0, null), sent after connect's _result (SRS on_bw_done). */
export function onBWDone(): RtmpMessage {
  return command('onBWDone', 0, null);
}

/** _result(tid, null, undefined): the reply to releaseStream, FCPublish, FCUnpublish (SRS SrsFMLEStartResPacket). */
export function fmleStartResult(transactionId: number, streamId = 0): RtmpMessage {
  return command('_result', transactionId, null, [undefined], streamId);
}

/** createStream's _result(tid, null, streamId). */
export function createStreamResult(transactionId: number, newStreamId: number): RtmpMessage {
  return command('_result', transactionId, null, [newStreamId]);
}

/** _result(tid, null, value), e.g. getStreamLength's. */
export function callResult(transactionId: number, value: AmfValue, streamId = 0): RtmpMessage {
  return command('_result', transactionId, null, [value], streamId);
}

/** onStatus(0, null, info) on a message stream. */
export function onStatus(streamId: number, info: AmfObject, name = 'onStatus'): RtmpMessage {
  return command(name, 0, null, [info], streamId);
}

const status = (code: string, description: string, extra: AmfObject = {}): AmfObject => ({ level: 'status', code, description, ...extra });

export const Status = {
  publishStart: (sid: number) => onStatus(sid, status('NetStream.Publish.Start', 'Started publishing stream.', { clientid: CLIENT_ID })),
  /** onFCPublish, sent for FMLE/OBS publishers (SRS start_fmle_publish): code and description only */
  onFCPublish: (sid: number) => onStatus(sid, { code: 'NetStream.Publish.Start', description: 'Started publishing stream.' }, 'onFCPublish'),
  onFCUnpublish: (sid: number) => onStatus(sid, { code: 'NetStream.Unpublish.Success', description: 'Stop publishing stream.' }, 'onFCUnpublish'),
  unpublishSuccess: (sid: number) => onStatus(sid, status('NetStream.Unpublish.Success', 'Stream is now unpublished', { clientid: CLIENT_ID })),
  /** a busy stream (a publisher is live): level error */
  publishBadName: (sid: number, description = 'Stream already publishing') =>
    onStatus(sid, { level: 'error', code: 'NetStream.Publish.BadName', description, clientid: CLIENT_ID }),
  playReset: (sid: number) => onStatus(sid, status('NetStream.Play.Reset', 'Playing and resetting stream.', { details: 'stream', clientid: CLIENT_ID })),
  playStart: (sid: number) => onStatus(sid, status('NetStream.Play.Start', 'Started playing stream.', { details: 'stream', clientid: CLIENT_ID })),
  /** onStatus(NetStream.Data.Start) as a data message (SRS SrsOnStatusDataPacket) */
  dataStart: (sid: number) => data(['onStatus', { code: 'NetStream.Data.Start' }], sid),
  /** |RtmpSampleAccess(true, true): lets Flash read audio and video samples */
  sampleAccess: (sid: number) => data(['|RtmpSampleAccess', true, true], sid),
  pauseNotify: (sid: number) => onStatus(sid, status('NetStream.Pause.Notify', 'Paused stream.')),
  unpauseNotify: (sid: number) => onStatus(sid, status('NetStream.Unpause.Notify', 'Unpaused stream.')),
  unpublishNotify: (sid: number) => onStatus(sid, status('NetStream.Play.UnpublishNotify', 'The stream is unpublished.', { clientid: CLIENT_ID })),
  publishNotify: (sid: number) => onStatus(sid, status('NetStream.Play.PublishNotify', 'The stream is published.', { clientid: CLIENT_ID })),
} as const;

/** The info object of an onStatus / _error message, or null when it has none. */
export function statusInfo(cmd: Command): { level: string; code: string; description: string } | null {
  const info = cmd.args[0];
  if (!isObject(info)) return null;
  return { level: str(info, 'level'), code: str(info, 'code'), description: str(info, 'description') };
}
