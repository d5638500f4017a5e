// @ts-check
// Whether the kernel is still there (issue 10): a stroke unanswered for a while makes the widget
// ping it, a ping unanswered means it is gone, the comm closing means it is gone for good, and any
// message from a kernel thought gone brings it back. One watch per model (model.js); the views
// hear of it through their `lost` hook and show the banner (panels.js).

/** A stroke unanswered this long (ms) makes the widget ping the kernel. */
export const ACK_WAIT_MS = 4000;
/** A ping unanswered this long (ms) means the kernel is gone. */
export const PING_WAIT_MS = 3000;

export class KernelWatch {
  /**
   * @param {(content: any) => void} send sends a message to the kernel
   * @param {(reason: string | null) => void} changed the kernel is gone (why), or back (null)
   */
  constructor(send, changed) {
    this.sendMessage = send;
    this.changed = changed;
    /** @type {string | null} why the kernel is gone (null while it answers) */
    this.lost = null;
    this.pingSeq = 0;
    this.pongSeq = 0;
    /** @type {Set<ReturnType<typeof setTimeout>>} */
    this.timers = new Set();
    this.commClosed = false;
  }

  dispose() {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** @param {() => void} fn @param {number} ms */
  later(fn, ms) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /**
   * A stroke still unanswered after ACK_WAIT_MS: ping the kernel; no pong in PING_WAIT_MS means
   * it is gone (a kernel busy with a long computation answers once it is done: the banner goes).
   * @param {() => boolean} pending whether the stroke is still unanswered
   */
  watchAck(pending) {
    this.later(() => {
      if (pending() && !this.lost) this.ping(pending);
    }, ACK_WAIT_MS);
  }

  /**
   * Ask the kernel whether it is there; no pong within PING_WAIT_MS (and `still()` true then)
   * means it is gone.
   * @param {() => boolean} [still] whether the reason to ask still holds when the wait ends
   */
  ping(still = () => true) {
    const id = ++this.pingSeq;
    this.sendMessage({ type: "ping", id });
    this.later(() => {
      if (this.pongSeq < id && still()) this.markLost(`no answer from the kernel for ${Math.round(PING_WAIT_MS / 1000)} s after a ping`);
    }, PING_WAIT_MS);
  }

  /** @param {unknown} id the pong's ping id */
  pong(id) {
    this.pongSeq = Math.max(this.pongSeq, Number(id) || 0);
  }

  /** A message arrived: a slow kernel answers again (a closed comm stays closed). */
  heard() {
    if (this.lost && !this.commClosed) this.markLost(null);
  }

  /** The comm closed, for good: a restarted kernel has a new widget (re-run the cell). */
  closed() {
    this.commClosed = true;
    this.markLost("the connection to the kernel closed (kernel restarted or shut down)");
  }

  /** @param {string | null} reason null: the kernel answered again */
  markLost(reason) {
    if (this.lost === reason) return;
    this.lost = reason;
    this.changed(reason);
  }
}
