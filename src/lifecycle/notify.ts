// sd_notify: systemd's Type=notify protocol, through the addon (Node has no AF_UNIX datagram
// sockets). Without $NOTIFY_SOCKET every call is a no-op, so the server code never asks "are we
// under systemd?" itself.
import { native } from '../native';

export class SystemdNotifier {
  private readonly socket: string | null;
  private failed = false;

  constructor(env: Record<string, string | undefined> = process.env) {
    this.socket = env.NOTIFY_SOCKET && env.NOTIFY_SOCKET.length > 0 ? env.NOTIFY_SOCKET : null;
  }

  get enabled(): boolean {
    return this.socket !== null;
  }

  /** Sends `lines` joined by newlines; returns the error text if systemd could not be told. */
  notify(lines: string[]): string | null {
    if (!this.socket || this.failed) return null;
    try {
      native().sdNotify(this.socket, lines.join('\n'));
      return null;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }

  ready(status: string): string | null {
    return this.notify(['READY=1', `MAINPID=${process.pid}`, `STATUS=${status}`]);
  }

  reloading(): string | null {
    return this.notify(['RELOADING=1', `MONOTONIC_USEC=${monotonicUsec()}`, 'STATUS=reloading']);
  }

  stopping(status: string): string | null {
    return this.notify(['STOPPING=1', `STATUS=${status}`]);
  }

  status(status: string): string | null {
    return this.notify([`STATUS=${status}`]);
  }
}

/** CLOCK_MONOTONIC in microseconds, which process.hrtime reads. */
export function monotonicUsec(): string {
  return (process.hrtime.bigint() / 1000n).toString();
}
