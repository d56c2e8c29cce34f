// The only place that listens to process signals (nginx's shape: a handler records an intent, one
// controller acts on it). Installed first thing at start-up: SRS installs its handlers after
// binding, so a SIGHUP during its start-up kills it. Intents that arrive before the controller is
// ready wait in a queue and are delivered once it is.

export type Intent = 'reload' | 'reopen' | 'gracefulQuit' | 'fastQuit' | 'terminate' | 'upgrade';

/** What each signal asks for. SIGTERM is `terminate`: fast, or graceful with force_grace_quit. */
export const SIGNAL_INTENTS: Readonly<Record<string, Intent>> = {
  SIGHUP: 'reload',
  SIGUSR1: 'reopen',
  SIGUSR2: 'upgrade',
  SIGQUIT: 'gracefulQuit',
  SIGTERM: 'terminate',
  SIGINT: 'fastQuit',
};

export type IntentHandler = (intent: Intent, signal: string) => void;

export class SignalRouter {
  private handler: IntentHandler | null = null;
  private readonly queued: Array<[Intent, string]> = [];
  private readonly installed: Array<[string, () => void]> = [];

  install(): this {
    for (const [signal, intent] of Object.entries(SIGNAL_INTENTS)) {
      const fn = (): void => this.deliver(intent, signal);
      process.on(signal as NodeJS.Signals, fn);
      this.installed.push([signal, fn]);
    }
    return this;
  }

  /** Start acting: queued intents are delivered now, in order. */
  attach(handler: IntentHandler): void {
    this.handler = handler;
    for (const [intent, signal] of this.queued.splice(0)) handler(intent, signal);
  }

  /** Quit intents before the controller is up cannot wait: the caller decides how to die. */
  pending(): ReadonlyArray<[Intent, string]> {
    return this.queued;
  }

  deliver(intent: Intent, signal: string): void {
    if (this.handler) this.handler(intent, signal);
    else this.queued.push([intent, signal]);
  }

  uninstall(): void {
    for (const [signal, fn] of this.installed.splice(0)) process.removeListener(signal, fn);
  }
}
