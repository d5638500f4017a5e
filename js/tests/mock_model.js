// A mocked anywidget model for the front-end tests: traits, change events, custom messages both ways.

export class MockModel {
  constructor(initial) {
    this.state = { ...initial };
    this.handlers = new Map();
    this.sent = [];
    this.saved = [];
  }
  get(k) {
    return this.state[k];
  }
  set(k, v) {
    this.state[k] = v;
    this.emit(`change:${k}`);
  }
  save_changes() {
    this.saved.push(Object.keys(this.state));
  }
  on(name, fn) {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name).add(fn);
  }
  off(name, fn) {
    this.handlers.get(name)?.delete(fn);
  }
  emit(name, ...args) {
    for (const fn of [...(this.handlers.get(name) || [])]) fn(...args);
  }
  send(content, _callbacks, buffers = []) {
    this.sent.push({ content, buffers });
  }
  /** Deliver a custom message as the kernel would. */
  deliver(content, buffers = []) {
    this.emit("msg:custom", content, buffers.map((b) => new DataView(b.buffer, b.byteOffset, b.byteLength)));
  }
  listeners() {
    let n = 0;
    for (const s of this.handlers.values()) n += s.size;
    return n;
  }
}
