import { afterEach, describe, expect, it } from "vitest";
import { MockModel } from "./mock_model.js";
import { ModelState } from "../model.js";
import { PREFETCH_CACHE, Prefetcher, pictureMatches, snapPreviewStep } from "../prefetch.js";

// A 2x3 frame with one channel, its preview at step 2 (1x2) quantized under the contrast, and
// raw uint32 labels: the transfer segpaint.widgets._wire.frame_messages sends.
const H = 2;
const W = 3;
const CONTRAST = [[0, 1000]];

/** @param {{xfer: number, frame: number, prefetch?: boolean, population?: string, step?: number, quant?: number[], labels?: number[], pixels?: number[]}} o */
function transfer(o) {
  const step = o.step ?? 2;
  const labels = Uint32Array.from(o.labels ?? [o.frame, o.frame, 0, 0, 7, 7]);
  const cw = Math.ceil(W / step);
  const ch = Math.ceil(H / step);
  const pixels = Uint8Array.from(o.pixels ?? Array.from({ length: cw * ch }, (_, i) => 10 * o.frame + i));
  const header = {
    type: "frame", xfer: o.xfer, frame: o.frame, population: o.population ?? "cells", height: H, width: W,
    preview_step: step, channels: [{ index: 0, dtype: "uint8", source_dtype: "uint16", quant: o.quant ?? CONTRAST[0], range: [0, 4000] }],
    labels: true, max_label: 7, partial: false,
  };
  if (o.prefetch) header.prefetch = true;
  return [
    [header, []],
    [{ type: "band", xfer: o.xfer, key: "labels", row0: 0, row1: H, dtype: "uint32" }, [labels]],
    [{ type: "band", xfer: o.xfer, key: "channel", channel: 0, row0: 0, row1: ch, dtype: "uint8" }, [pixels]],
    [{ type: "frame-end", xfer: o.xfer }, []],
  ];
}

const deliver = (model, messages) => {
  for (const [content, buffers] of messages) model.deliver(content, buffers);
};
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
const want = (frame, extra = {}) => ({ frame, position: null, population: "cells", step: 2, visible: [0], contrast: CONTRAST, ...extra });

/** A picture as the cache stores it (the messages of a prefetched transfer). */
function picture(frame, o = {}) {
  const cache = new Prefetcher(() => {});
  for (const [m, b] of transfer({ xfer: 100 + frame, frame, prefetch: true, ...o })) cache.receive(m, b, () => ({ frame: -1, position: null, population: "cells" }));
  return cache.pictures[0];
}

describe("Prefetcher: the pictures read ahead", () => {
  it("a picture stands for its frame only under the step, channels, contrast, population and position it was made with", () => {
    const pic = picture(1);
    expect(pictureMatches(pic, want(1))).toBe(true);
    expect(pictureMatches(pic, want(2))).toBe(false);
    expect(pictureMatches(pic, want(1, { step: 3 }))).toBe(false);
    expect(pictureMatches(pic, want(1, { visible: [] }))).toBe(false);
    expect(pictureMatches(pic, want(1, { visible: [0, 1] }))).toBe(false);
    expect(pictureMatches(pic, want(1, { contrast: [[0, 999]] }))).toBe(false);
    expect(pictureMatches(pic, want(1, { population: "nuclei" }))).toBe(false);
    expect(pictureMatches(pic, want(1, { position: "W1/100" }))).toBe(false);
    // A uint8 channel travels as it is (no quant): any contrast shows it.
    const raw = picture(1, { quant: null });
    raw.header.channels[0] = { index: 0, dtype: "uint8" };
    expect(pictureMatches(raw, want(1, { contrast: [[3, 9]] }))).toBe(true);
    expect(snapPreviewStep(3.72)).toBe(3.625);
    expect(snapPreviewStep(1.2)).toBe(1);
    expect(snapPreviewStep(99)).toBe(16);
  });

  it("hits and misses, keeps at most PREFETCH_CACHE pictures (oldest out), forgets a dropped frame", () => {
    const cache = new Prefetcher(() => {});
    const on = () => ({ frame: 0, position: null, population: "cells" });
    for (let f = 1; f <= PREFETCH_CACHE + 2; f++) for (const [m, b] of transfer({ xfer: f, frame: f, prefetch: true })) expect(cache.receive(m, b, on)).toBe(true);
    expect(cache.pictures.map((p) => p.header.frame)).toEqual([3, 4, 5, 6]);
    expect(cache.take(want(1))).toBe(null);
    expect(cache.take(want(4, { contrast: [[1, 2]] }))).toBe(null);
    expect(cache.take(want(4)).header.frame).toBe(4); // taken: no longer held
    expect(cache.take(want(4))).toBe(null);
    expect(cache.receive({ type: "prefetch-drop", frame: 5, population: "cells" }, [], on)).toBe(true);
    expect(cache.receive({ type: "prefetch-drop", frame: 6, population: "other" }, [], on)).toBe(true);
    expect(cache.pictures.map((p) => p.header.frame)).toEqual([3, 6]);
    expect(cache.counters).toMatchObject({ hits: 1, misses: 3, stored: 6, dropped: 2 });
    // Not read-ahead: a transfer without the tag, and bands of another transfer, are left alone.
    const [[plain]] = transfer({ xfer: 50, frame: 2 });
    expect(cache.receive(plain, [], on)).toBe(false);
    expect(cache.receive({ type: "band", xfer: 50 }, [], on)).toBe(false);
  });

  it("ignores an answer for the frame on screen or another population", () => {
    const cache = new Prefetcher(() => {});
    for (const [m, b] of transfer({ xfer: 1, frame: 0, prefetch: true })) cache.receive(m, b, () => ({ frame: 0, position: null, population: "cells" }));
    for (const [m, b] of transfer({ xfer: 2, frame: 1, prefetch: true })) cache.receive(m, b, () => ({ frame: 0, position: null, population: "nuclei" }));
    expect(cache.pictures).toEqual([]);
  });

  it("asks one neighbour at a time, the direction of the last move first, never out of range or held", () => {
    const sent = [];
    const cache = new Prefetcher((c) => sent.push(c));
    cache.direction = -1;
    expect(cache.next(want(0), 2, 2, 4)).toBe(1);
    expect(cache.next(want(0), 2, 2, 4)).toBe(null); // the first answer is not in yet
    cache.asked = null;
    for (const [m, b] of transfer({ xfer: 9, frame: 1, prefetch: true })) cache.receive(m, b, () => ({ frame: 2, position: null, population: "cells" }));
    expect(cache.next(want(0), 2, 2, 4)).toBe(3);
    cache.asked = null; // its answer never came (or came too late): asked again
    expect(cache.next(want(0), 2, 2, 4)).toBe(3);
    for (const [m, b] of transfer({ xfer: 10, frame: 3, prefetch: true })) cache.receive(m, b, () => ({ frame: 2, position: null, population: "cells" }));
    expect(cache.asked).toBe(null); // its answer is in: the next one may go
    expect(cache.next(want(0), 2, 2, 4)).toBe(0);
    for (const [m, b] of transfer({ xfer: 11, frame: 0, prefetch: true })) cache.receive(m, b, () => ({ frame: 2, position: null, population: "cells" }));
    expect(cache.next(want(0), 2, 2, 4)).toBe(null); // 4 is out of range: all held
    expect(sent).toEqual([
      { type: "prefetch", frame: 1, from: 2 },
      { type: "prefetch", frame: 3, from: 2 },
      { type: "prefetch", frame: 3, from: 2 },
      { type: "prefetch", frame: 0, from: 2 },
    ]);
  });
});

describe("read-ahead in the model state", () => {
  /** @type {ModelState[]} */
  const states = [];
  afterEach(() => {
    for (const s of states.splice(0)) s.dispose();
  });

  function setup(prefetch = 1) {
    const model = new MockModel({ frame: 0, n_frames: 3, prefetch, population: "cells", position: "", _preview_step: 2, channel_visible: [true], contrast: CONTRAST, limits: {} });
    const state = new ModelState(model);
    states.push(state);
    const frames = [];
    state.attach({ frame: (p) => frames.push(p.frame) });
    return { model, state, frames, sent: () => model.sent.map((m) => m.content) };
  }

  it("a change to a neighbour read ahead shows its pixels and labels at once and tells Python first", async () => {
    const { model, state, frames, sent } = setup();
    deliver(model, transfer({ xfer: 1, frame: 0 }));
    expect(frames).toEqual([0]);
    await tick();
    expect(sent()).toEqual([{ type: "prefetch", frame: 1, from: 0 }]);
    deliver(model, transfer({ xfer: 2, frame: 1, prefetch: true, labels: [0, 3, 3, 9, 9, 0], pixels: [42, 43] }));
    expect(frames).toEqual([0]); // stored, not shown
    expect(state.frame).toBe(0);
    model.set("frame", 1);
    expect(sent()[1]).toEqual({ type: "prefetch-hit", frame: 1, from: 0, xfer: 2 });
    expect(frames).toEqual([0, 1]);
    expect(state.frame).toBe(1);
    expect(Array.from(state.labels)).toEqual([0, 3, 3, 9, 9, 0]);
    expect(Array.from(state.channelData.get(0).data)).toEqual([42, 43]);
    expect(state.channelData.get(0).quant).toEqual(CONTRAST[0]);
    expect(state.readAhead.cache.pictures).toEqual([]); // the current frame is never held
    await tick();
    // Forward: the next neighbour is 2 (0 is behind; asked after 2's answer).
    expect(sent()[2]).toEqual({ type: "prefetch", frame: 2, from: 1 });
  });

  it("a dropped picture is not shown: the change waits for Python's frame", async () => {
    const { model, state, frames, sent } = setup();
    deliver(model, transfer({ xfer: 1, frame: 0 }));
    await tick();
    deliver(model, transfer({ xfer: 2, frame: 1, prefetch: true }));
    deliver(model, [[{ type: "prefetch-drop", frame: 1, population: "cells" }, []]]);
    model.set("frame", 1);
    expect(sent().some((c) => c.type === "prefetch-hit")).toBe(false);
    expect(frames).toEqual([0]);
    expect(state.frame).toBe(0);
    deliver(model, transfer({ xfer: 3, frame: 1, labels: [5, 5, 5, 5, 5, 5] }));
    expect(Array.from(state.labels)).toEqual([5, 5, 5, 5, 5, 5]);
  });

  it("a contrast change since the picture was read ahead is a miss; prefetch=0 asks for nothing", async () => {
    const { model, frames, sent } = setup();
    deliver(model, transfer({ xfer: 1, frame: 0 }));
    await tick();
    deliver(model, transfer({ xfer: 2, frame: 1, prefetch: true }));
    model.set("contrast", [[0, 500]]);
    model.set("frame", 1);
    expect(frames).toEqual([0]);
    expect(sent().some((c) => c.type === "prefetch-hit")).toBe(false);
    const off = setup(0);
    deliver(off.model, transfer({ xfer: 1, frame: 0 }));
    await tick();
    expect(off.sent()).toEqual([]);
  });

  it("a hit the kernel could not honour: its frame comes anyway, and the lossless pull is asked again", async () => {
    const { model, state, sent } = setup();
    const view = { frame: () => state.requestFull(0) }; // what a view does after drawing a preview
    state.attach(view);
    deliver(model, transfer({ xfer: 1, frame: 0 }));
    await tick();
    deliver(model, transfer({ xfer: 2, frame: 1, prefetch: true }));
    model.set("frame", 1);
    await tick();
    const fulls = () => sent().filter((c) => c.type === "request-full");
    expect(fulls()).toEqual([{ type: "request-full", frame: 0 }, { type: "request-full", frame: 1 }]);
    // The kernel had not moved yet (it ignored the hit and the requests): it sends frame 1.
    deliver(model, transfer({ xfer: 3, frame: 1, labels: [1, 1, 1, 1, 1, 1] }));
    await tick();
    expect(fulls()).toEqual([{ type: "request-full", frame: 0 }, { type: "request-full", frame: 1 }, { type: "request-full", frame: 1 }]);
    expect(Array.from(state.labels)).toEqual([1, 1, 1, 1, 1, 1]);
    // ... and the read-ahead from frame 1 is asked again (its first request may have been ignored).
    expect(sent().filter((c) => c.type === "prefetch" && c.from === 1).length).toBe(2);
  });

  it("a frame the kernel sent before it saw the latest hit never pulls the page back", async () => {
    const { model, state, frames } = setup();
    deliver(model, transfer({ xfer: 1, frame: 0 }));
    await tick();
    deliver(model, transfer({ xfer: 2, frame: 1, prefetch: true }));
    model.set("frame", 1); // a hit: frame 1 drawn from the page, one prefetch-hit sent
    expect(state.readAhead.hitsSent).toBe(1);
    // A change to frame 2 the kernel had begun before the hit reached it (hits 0): dropped whole.
    const late = transfer({ xfer: 3, frame: 2, labels: [2, 2, 2, 2, 2, 2] });
    late[0][0].hits = 0;
    deliver(model, late);
    expect(frames).toEqual([0, 1]);
    expect(state.frame).toBe(1);
    // Sent after the hit (hits 1), or the frame now wanted: installed as usual.
    const after = transfer({ xfer: 4, frame: 2, labels: [4, 4, 4, 4, 4, 4] });
    after[0][0].hits = 1;
    deliver(model, after);
    expect(frames).toEqual([0, 1, 2]);
    expect(Array.from(state.labels)).toEqual([4, 4, 4, 4, 4, 4]);
  });

  it("a frame change from Python whose frame came before the trait still reads ahead", async () => {
    const { model, sent } = setup();
    deliver(model, transfer({ xfer: 1, frame: 0 }));
    await tick();
    deliver(model, transfer({ xfer: 2, frame: 2 })); // e.g. an undo on frame 2, sent from the kernel
    await tick();
    expect(sent().filter((c) => c.type === "prefetch")).toEqual([{ type: "prefetch", frame: 1, from: 0 }]);
    model.set("frame", 2); // its trait update comes after
    await tick();
    expect(sent().filter((c) => c.type === "prefetch").at(-1)).toEqual({ type: "prefetch", frame: 1, from: 2 });
  });

  it("a picture read ahead does not disturb a pull in progress", async () => {
    const { model, state } = setup();
    deliver(model, transfer({ xfer: 1, frame: 0 }));
    await tick();
    // The lossless pull of frame 0 starts; a read-ahead answer arrives in the middle of it.
    model.deliver({ type: "frame", xfer: 5, frame: 0, population: "cells", height: H, width: W, preview_step: 1, channels: [{ index: 0, dtype: "uint8" }], labels: false, partial: true, pull: true, window: 2 });
    model.deliver({ type: "band", xfer: 5, key: "channel", channel: 0, row0: 0, row1: 1, dtype: "uint8" }, [Uint8Array.from([1, 2, 3])]);
    deliver(model, transfer({ xfer: 6, frame: 1, prefetch: true }));
    model.deliver({ type: "band", xfer: 5, key: "channel", channel: 0, row0: 1, row1: 2, dtype: "uint8" }, [Uint8Array.from([4, 5, 6])]);
    model.deliver({ type: "frame-end", xfer: 5 });
    expect(state.previewStep).toBe(1);
    expect(Array.from(state.channelData.get(0).data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(state.readAhead.cache.pictures.map((p) => p.header.frame)).toEqual([1]);
  });
});
