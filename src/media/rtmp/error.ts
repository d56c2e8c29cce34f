// The one error every RTMP layer throws on bad input, so a session can tell a peer's protocol
// violation (close this connection, one log line) from a bug in srs (a crash worth seeing).
import { renderMessage } from '../../errors';

/** Which layer refused the input; goes into the log line as `layer`. */
export type RtmpLayer = 'handshake' | 'chunk' | 'amf0' | 'amf3' | 'command' | 'control' | 'request';

/** A peer sent bytes the RTMP protocol does not allow; `reason` is one line for the log. */
export class RtmpError extends Error {
  readonly layer: RtmpLayer;
  readonly reason: string;
  constructor(layer: RtmpLayer, reason: string) {
    super(renderMessage('SRS_WARN_RTMP_MALFORMED', { layer, reason }));
    this.name = 'RtmpError';
    this.layer = layer;
    this.reason = reason;
  }
}

export function isRtmpError(e: unknown): e is RtmpError {
  return e instanceof RtmpError;
}
