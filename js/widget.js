// The anywidget front-end of segpaint.Annotator: toolbar, sliders, canvas and status line in one DOM.
// Painting happens here on a local label buffer; one binary patch per stroke goes to Python.

import { FrameAssembler, writeLabelBox } from "./codec.js";
import { parseHex, percentileLimits } from "./colors.js";
import { floodFill, extractPatch, clearBox, Stroke, unionBox, inClips } from "./raster.js";
import { Renderer, now } from "./render.js";
import {
  TOOLS, View, pixelOf, boxFromPoints, hitRoi, dragRoi, handleCursor, keyAction, stepBrush, clipBox,
} from "./tools.js";
import { CSS } from "./style.js";

/** Largest payload per message (bytes); bigger patches travel as row bands. */
export const CHUNK_BYTES = 4 * 1024 * 1024;
const BRUSH_MIN = 1;
const BRUSH_MAX = 1024;
const TOOL_TITLES = {
  pan: "Pan / zoom (h, or space-drag)",
  brush: "Brush (b / p)",
  eraser: "Eraser (e)",
  fill: "Fill bucket (f); fill with label 0 deletes a cell",
  picker: "Label picker (l)",
  roi: "ROI rectangle (r): drag to draw, drag inside to move, edges to resize, Delete to remove",
};

/** Slider keys handled by the widget itself: a step down or up, or the ends of the range. */
const SLIDER_KEYS = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1, Home: "min", End: "max" };

/**
 * Step a range input as the browser would for `key`, then dispatch `input` and `change` (what the
 * widget's listeners act on). Exported for tests.
 */
export function stepSlider(input, key) {
  const min = Number(input.min || 0);
  const max = Number(input.max || 100);
  const step = Number(input.step) > 0 ? Number(input.step) : 1;
  const move = SLIDER_KEYS[key];
  const old = Number(input.value);
  let value = move === "min" ? min : move === "max" ? max : old + move * step;
  // Stay on the step grid (min + k * step) and inside the range; round away float noise.
  value = Math.min(max, Math.max(min, min + Math.round((value - min) / step) * step));
  value = Number(value.toPrecision(12));
  if (value === old) return false;
  input.value = String(value);
  input.dispatchEvent(new Event("input", { bubbles: true }));
  input.dispatchEvent(new Event("change", { bubbles: true }));
  return true;
}

function h(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("data-")) el.setAttribute(k, v);
    else if (k in el) el[k] = v;
    else el.setAttribute(k, v);
  }
  for (const c of children) el.append(c);
  return el;
}

/** Mount the widget into `el`; returns the cleanup function. Exported for tests. */
export function mount({ model, el }) {
  const cleanups = [];
  const listen = (target, type, fn, opts) => {
    target.addEventListener(type, fn, opts);
    cleanups.push(() => target.removeEventListener(type, fn, opts));
  };
  const onModel = (name, fn) => {
    model.on(name, fn);
    cleanups.push(() => model.off(name, fn));
  };

  // ---------------------------------------------------------------- DOM
  const root = h("div", { class: "segpaint-annotator", tabIndex: 0 });
  root.setAttribute("data-ready", "0");
  root.setAttribute("data-frame", "");
  root.setAttribute("data-draws", "0");
  // Keep JupyterLab's command-mode shortcuts (m = markdown, f = find, ...) away from our keys.
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  root.append(h("style", { text: CSS }));

  const toolbar = h("div", { class: "segpaint-toolbar" });
  const toolButtons = {};
  for (const t of TOOLS) {
    const b = h("button", { type: "button", "data-tool": t, title: TOOL_TITLES[t], text: t });
    toolButtons[t] = b;
    toolbar.append(b);
  }
  const actionButton = (action, text, title) => {
    const b = h("button", { type: "button", "data-action": action, title, text });
    return b;
  };
  const btnUndo = actionButton("undo", "undo", "Undo (Ctrl+Z)");
  const btnRedo = actionButton("redo", "redo", "Redo (Ctrl+Shift+Z)");
  const btnNew = actionButton("new-label", "new label", "New label (m)");
  const btnFit = actionButton("fit", "fit", "Fit the image in the view");
  const btnDeleteRoi = actionButton("delete-roi", "delete ROI", "Delete the selected ROI (Delete)");
  toolbar.append(h("span", { class: "segpaint-sep" }), btnUndo, btnRedo, btnNew, btnFit, btnDeleteRoi);

  const brushSize = h("input", { type: "range", min: BRUSH_MIN, max: 100, step: 1, "data-control": "brush-size", title: "Brush size ([ / ])" });
  const brushLabel = h("span", { class: "segpaint-value" });
  const labelInput = h("input", { type: "number", min: 0, step: 1, "data-control": "selected-label", title: "Selected label (0 erases)" });
  const opacity = h("input", { type: "range", min: 0, max: 1, step: 0.01, "data-control": "opacity", title: "Label opacity" });
  const contour = h("input", { type: "checkbox", "data-control": "contour" });
  const selectedOnly = h("input", { type: "checkbox", "data-control": "selected-only" });
  const lockRoi = h("input", { type: "checkbox", "data-control": "lock-to-roi" });
  const settings = h("div", { class: "segpaint-row" }, [
    h("label", {}, ["brush ", brushSize, brushLabel]),
    h("label", {}, ["label ", labelInput]),
    h("label", {}, ["opacity ", opacity]),
    h("label", {}, [contour, " contour"]),
    h("label", {}, [selectedOnly, " selected only"]),
    h("label", {}, [lockRoi, " lock edits to ROI"]),
  ]);

  const frameSlider = h("input", { type: "range", min: 0, max: 0, step: 1, "data-control": "frame", title: "Frame (, / .)" });
  const frameLabel = h("span", { class: "segpaint-value" });
  const btnPrev = actionButton("frame-prev", "◀", "Previous frame (,)");
  const btnPlay = actionButton("play", "▶ play", "Play / pause");
  const btnNext = actionButton("frame-next", "▶", "Next frame (.)");
  const popSelect = h("select", { "data-control": "population", title: "Population" });
  const frameRow = h("div", { class: "segpaint-row" }, [
    h("label", {}, ["frame ", frameSlider, frameLabel]), btnPrev, btnPlay, btnNext,
    h("label", {}, ["population ", popSelect]),
  ]);

  const formatSelect = h("select", { "data-control": "export-format", title: "Export format" });
  for (const f of ["celldetective", "cellpose", "stardist"]) formatSelect.append(h("option", { value: f, text: f }));
  const btnExport = actionButton("export", "Export ROI", "Export the selected ROI (or all ROIs of this frame)");
  const btnSave = actionButton("save", "Save labels", "Save the population's labels (labels_<population>/)");
  const methodSelect = h("select", { "data-control": "presegment-method", title: "Pre-segmentation method" });
  const scopeSelect = h("select", { "data-control": "presegment-scope", title: "Frames to pre-segment" });
  scopeSelect.append(h("option", { value: "frame", text: "this frame" }), h("option", { value: "all", text: "all frames" }));
  const btnPreseg = actionButton("presegment", "Pre-segment", "Run the pre-segmentation");
  const progress = h("progress", { class: "segpaint-progress", max: 1, value: 0 });
  const actionsRow = h("div", { class: "segpaint-row" }, [
    formatSelect, btnExport, btnSave, h("span", { class: "segpaint-sep" }), methodSelect, scopeSelect, btnPreseg, progress,
  ]);

  const channelsBox = h("div", { class: "segpaint-channels" });

  const viewport = h("div", { class: "segpaint-viewport" });
  const imageCanvas = h("canvas", { class: "segpaint-image" }); // what is on screen, viewport-size
  const viewCanvas = h("canvas", { class: "segpaint-view" });
  viewport.append(imageCanvas, viewCanvas);

  const status = h("div", { class: "segpaint-status" });
  root.append(toolbar, settings, frameRow, channelsBox, actionsRow, viewport, status);
  el.append(root);
  cleanups.push(() => root.remove());

  // ---------------------------------------------------------------- state
  const renderer = new Renderer(imageCanvas);
  const view = new View();
  const assembler = new FrameAssembler();
  const counters = { messagesSent: 0, messagesReceived: 0, acks: 0, lastAckMs: 0, framesReceived: 0 };
  const st = {
    frame: null, // frame whose data is in the buffers
    population: null,
    channelData: new Map(), // index -> {dtype, data}
    labels: null,
    touched: null,
    localMax: 0,
    stroke: null,
    strokeSeq: 0,
    pendingAcks: new Map(),
    drag: null,
    space: false,
    cursor: null, // continuous image point under the pointer
    hover: null, // {x, y} viewport px
    message: "",
    rois: [],
    selectedRoi: -1,
    ready: false,
    fitted: false,
    chanStep: 1,
    fullTimer: 0,
    fullRequested: null,
    pullXfer: null, // xfer of the full-resolution transfer being pulled band by band
    userMovedView: false,
    recolorTimer: 0,
    playing: null,
    ranges: [], // slider range per channel
  };

  const send = (content, buffers = []) => {
    counters.messagesSent++;
    model.send(content, null, buffers);
  };
  const save = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };

  // ---------------------------------------------------------------- drawing
  const viewSize = () => {
    const r = viewport.getBoundingClientRect();
    return { w: r.width || viewport.clientWidth || 512, h: r.height || viewport.clientHeight || 512, left: r.left, top: r.top };
  };
  const markDrawn = () => {
    root.setAttribute("data-draws", String(renderer.draws));
    root.setAttribute("data-frame", st.frame === null ? "" : String(st.frame));
  };
  /** Full viewport redraw (cost ∝ viewport, not image): new frame, contrast, view, overlay mode. */
  const redraw = () => {
    if (!st.labels && st.channelData.size === 0) return;
    renderer.redraw();
    markDrawn();
    updateStatus();
  };
  const applyTransform = () => {
    renderer.setView(view.scale, view.tx, view.ty);
    redraw();
    drawOverlay();
    if (st.frame !== null) syncLod();
  };
  const syncViewport = () => {
    const s = viewSize();
    if (renderer.setViewport(s.w, s.h) && st.frame !== null) {
      if (!st.userMovedView) view.fit(renderer.height, renderer.width, s.h, s.w);
      applyTransform();
    }
  };
  const fit = () => {
    const s = viewSize();
    view.fit(renderer.height, renderer.width, s.h, s.w);
    applyTransform();
  };
  // Label colours that keep neighbours apart are recomputed after a frame is shown, in steps, so
  // they never delay the frame itself.
  const recolor = () => {
    if (st.recolorTimer) clearTimeout(st.recolorTimer);
    const gen = renderer.recolorSteps();
    const step = () => {
      const t0 = now();
      let res = gen.next();
      while (!res.done && now() - t0 < 8) res = gen.next();
      if (res.done) {
        st.recolorTimer = 0;
        if (res.value) redraw();
      } else {
        st.recolorTimer = setTimeout(step, 0);
      }
    };
    st.recolorTimer = setTimeout(step, 0);
  };
  cleanups.push(() => st.recolorTimer && clearTimeout(st.recolorTimer));

  const overlayCtx = () => (viewCanvas.getContext ? viewCanvas.getContext("2d") : null);
  const drawOverlay = () => {
    const ctx = overlayCtx();
    if (!ctx) return;
    const s = viewSize();
    const dpr = (typeof window !== "undefined" && window.devicePixelRatio) || 1;
    const W = Math.round(s.w * dpr);
    const H = Math.round(s.h * dpr);
    if (viewCanvas.width !== W || viewCanvas.height !== H) {
      viewCanvas.width = W;
      viewCanvas.height = H;
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, s.w, s.h);
    // ROIs: see-through fill so the masks stay visible, solid outline, handles on the selected one.
    st.rois.forEach((b, i) => {
      const x = view.tx + b[2] * view.scale;
      const y = view.ty + b[0] * view.scale;
      const w = (b[3] - b[2]) * view.scale;
      const hh = (b[1] - b[0]) * view.scale;
      const sel = i === st.selectedRoi;
      ctx.fillStyle = sel ? "rgba(255,255,0,0.12)" : "rgba(255,255,255,0.08)";
      ctx.fillRect(x, y, w, hh);
      ctx.lineWidth = sel ? 2 : 1.5;
      ctx.strokeStyle = sel ? "#ffff00" : "#ffffff";
      ctx.setLineDash(sel ? [] : [6, 4]);
      ctx.strokeRect(x, y, w, hh);
      ctx.setLineDash([]);
      if (sel) {
        ctx.fillStyle = "#ffff00";
        for (const [px, py] of [[x, y], [x + w, y], [x, y + hh], [x + w, y + hh]]) ctx.fillRect(px - 3, py - 3, 6, 6);
      }
    });
    if (st.drag && st.drag.kind === "roi-new" && st.drag.box) {
      const b = st.drag.box;
      ctx.strokeStyle = "#ffff00";
      ctx.setLineDash([4, 3]);
      ctx.strokeRect(view.tx + b[2] * view.scale, view.ty + b[0] * view.scale, (b[3] - b[2]) * view.scale, (b[1] - b[0]) * view.scale);
      ctx.setLineDash([]);
    }
    // Brush outline.
    const tool = model.get("tool");
    if (st.hover && (tool === "brush" || tool === "eraser") && !st.space) {
      ctx.beginPath();
      ctx.arc(st.hover.x, st.hover.y, Math.max((model.get("brush_size") / 2) * view.scale, 1), 0, 2 * Math.PI);
      ctx.strokeStyle = tool === "eraser" ? "#ff6060" : "#ffffff";
      ctx.lineWidth = 1;
      ctx.stroke();
    }
  };

  // ---------------------------------------------------------------- status line
  const fmt = (v) => (Number.isInteger(v) ? String(v) : Number(v).toPrecision(4));
  const updateStatus = () => {
    const parts = [];
    const names = model.get("channel_names") || [];
    const visible = model.get("channel_visible") || [];
    if (st.cursor && st.labels) {
      const [r, c] = pixelOf(st.cursor);
      if (r >= 0 && c >= 0 && r < renderer.height && c < renderer.width) {
        parts.push(`(${r}, ${c})`);
        const vals = [];
        for (const [idx, ch] of st.channelData) {
          if (visible[idx] === false) continue;
          vals.push(`${names[idx] ?? "c" + idx}=${fmt(ch.data[renderer.chanIndex(r, c)])}`);
        }
        if (vals.length) parts.push(vals.join(" "));
        parts.push(`label ${st.labels[r * renderer.width + c]}`);
      }
    }
    parts.push(`selected ${model.get("selected_label")}`);
    const msg = st.message || model.get("status") || "";
    if (msg) parts.push(msg);
    status.textContent = parts.join(" · ");
  };
  const say = (text) => {
    st.message = text;
    updateStatus();
  };

  // ---------------------------------------------------------------- channels UI
  let channelControls = [];
  const buildChannelControls = () => {
    channelsBox.replaceChildren();
    channelControls = [];
    const names = model.get("channel_names") || [];
    names.forEach((name, c) => {
      const vis = h("input", { type: "checkbox", "data-control": "channel-visible", "data-channel": String(c) });
      const color = h("input", { type: "color", "data-control": "channel-color", "data-channel": String(c) });
      const lo = h("input", { type: "range", "data-control": "contrast-lo", "data-channel": String(c), title: "lower contrast limit" });
      const hi = h("input", { type: "range", "data-control": "contrast-hi", "data-channel": String(c), title: "upper contrast limit" });
      const gamma = h("input", { type: "range", min: 0.1, max: 4, step: 0.05, "data-control": "gamma", "data-channel": String(c), title: "gamma" });
      const auto = h("button", { type: "button", "data-action": "auto-contrast", "data-channel": String(c), text: "auto", title: "Contrast from the 1st–99.8th percentiles of this frame" });
      const text = h("span", { class: "segpaint-value" });
      channelsBox.append(h("div", { class: "segpaint-row segpaint-channel" }, [vis, color, h("b", { text: ` ${name} ` }), "lo ", lo, " hi ", hi, " γ ", gamma, auto, text]));
      const ctl = { vis, color, lo, hi, gamma, auto, text };
      channelControls.push(ctl);
      const localContrast = () => {
        const cl = (model.get("contrast") || []).map((x) => x.slice());
        let a = Number(lo.value);
        let b = Number(hi.value);
        if (b <= a) {
          if (document.activeElement === lo || st.lastMoved === "lo") a = b - Number(lo.step || 1);
          else b = a + Number(hi.step || 1);
        }
        cl[c] = [a, b];
        return cl;
      };
      // Dragging re-renders locally only; the trait goes to Python once, on release.
      listen(lo, "input", () => {
        st.lastMoved = "lo";
        st.contrastDraft = localContrast();
        applyDisplay(st.contrastDraft);
      });
      listen(hi, "input", () => {
        st.lastMoved = "hi";
        st.contrastDraft = localContrast();
        applyDisplay(st.contrastDraft);
      });
      const commitContrast = () => {
        if (st.contrastDraft) save("contrast", st.contrastDraft);
        st.contrastDraft = null;
      };
      listen(lo, "change", commitContrast);
      listen(hi, "change", commitContrast);
      listen(gamma, "input", () => {
        const g = (model.get("gamma") || []).slice();
        g[c] = Number(gamma.value);
        st.gammaDraft = g;
        applyDisplay(null, g);
      });
      listen(gamma, "change", () => {
        if (st.gammaDraft) save("gamma", st.gammaDraft);
        st.gammaDraft = null;
      });
      listen(vis, "change", () => {
        const v = (model.get("channel_visible") || []).slice();
        v[c] = vis.checked;
        save("channel_visible", v);
        syncChannels();
      });
      listen(color, "input", () => {
        const cols = (model.get("channel_colors") || []).slice();
        cols[c] = color.value;
        save("channel_colors", cols);
        syncChannels();
      });
      listen(auto, "click", () => {
        const ch = st.channelData.get(c);
        if (!ch) {
          say(`channel ${name} is hidden; show it first`);
          return;
        }
        const cl = (model.get("contrast") || []).map((x) => x.slice());
        cl[c] = percentileLimits(ch.data, ch.dtype, 1, 99.8);
        save("contrast", cl);
        syncChannels();
      });
    });
    syncChannelControls();
  };

  const channelRange = (c) => {
    const r = st.ranges[c] || [0, 1];
    const cl = (model.get("contrast") || [])[c] || r;
    return [Math.min(r[0], cl[0]), Math.max(r[1], cl[1])];
  };
  const syncChannelControls = () => {
    const cl = model.get("contrast") || [];
    const g = model.get("gamma") || [];
    const vis = model.get("channel_visible") || [];
    const cols = model.get("channel_colors") || [];
    channelControls.forEach((ctl, c) => {
      const [mn, mx] = channelRange(c);
      const ch = st.channelData.get(c);
      const isInt = !ch || ch.dtype !== "float32";
      const step = isInt ? 1 : (mx - mn) / 1000 || 0.001;
      for (const s of [ctl.lo, ctl.hi]) {
        s.min = String(mn);
        s.max = String(mx);
        s.step = String(step);
      }
      if (cl[c]) {
        ctl.lo.value = String(cl[c][0]);
        ctl.hi.value = String(cl[c][1]);
        ctl.text.textContent = `[${fmt(cl[c][0])}, ${fmt(cl[c][1])}]`;
      }
      if (g[c] !== undefined) ctl.gamma.value = String(g[c]);
      ctl.vis.checked = vis[c] !== false;
      if (cols[c]) ctl.color.value = cols[c];
    });
  };

  /** Push channel display settings (from traits, or drafts while a slider is dragged) to the renderer. */
  const applyDisplay = (contrast = null, gamma = null) => {
    const cl = contrast || st.contrastDraft || model.get("contrast") || [];
    const g = gamma || st.gammaDraft || model.get("gamma") || [];
    const vis = model.get("channel_visible") || [];
    const cols = model.get("channel_colors") || [];
    let changed = false;
    for (const ch of renderer.channels) {
      const c = ch.index;
      let rgb = ch.rgb;
      try {
        rgb = parseHex(cols[c]);
      } catch {
        /* keep the previous colour when a bad value slips through */
      }
      const [lo, hi] = cl[c] || [ch.lo, ch.hi];
      if (renderer.setChannelDisplay(c, { lo, hi, gamma: g[c] ?? 1, rgb, visible: vis[c] !== false })) changed = true;
    }
    if (contrast) {
      const ctl = channelControls;
      contrast.forEach((lim, c) => {
        if (ctl[c] && lim) ctl[c].text.textContent = `[${fmt(lim[0])}, ${fmt(lim[1])}]`;
      });
    }
    if (changed) redraw();
  };

  const channelList = () => {
    const cl = model.get("contrast") || [];
    const g = model.get("gamma") || [];
    const vis = model.get("channel_visible") || [];
    const cols = model.get("channel_colors") || [];
    const list = [];
    for (const [idx, ch] of st.channelData) {
      let rgb = [255, 255, 255];
      try {
        rgb = parseHex(cols[idx]);
      } catch {
        /* default white */
      }
      const [lo, hi] = cl[idx] || percentileLimits(ch.data, ch.dtype);
      list.push({ index: idx, dtype: ch.dtype, data: ch.data, visible: vis[idx] !== false, rgb, lo, hi, gamma: g[idx] ?? 1 });
    }
    return list;
  };
  const syncChannels = () => {
    applyDisplay();
    syncChannelControls();
  };

  // ---------------------------------------------------------------- frames from Python
  const computeRange = (data) => {
    let mn = Infinity;
    let mx = -Infinity;
    // A strided sample is plenty for a slider's range and keeps frame changes cheap.
    const step = Math.max(1, Math.floor(data.length / 262144));
    for (let i = 0; i < data.length; i += step) {
      const v = data[i];
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
    if (!Number.isFinite(mn)) return [0, 1];
    return mx > mn ? [mn, mx] : [mn, mn + 1];
  };

  /** The decimation the view can show without visible loss at its zoom (1 when zoomed in). */
  const lodStep = () => Math.min(16, Math.max(1, Math.floor(1 / view.scale)));
  const syncLod = () => {
    const want = lodStep();
    if (want !== model.get("_preview_step")) save("_preview_step", want);
    // Zoomed in past what the preview holds: ask for full resolution now.
    if (st.chanStep > want) requestFull(0);
  };
  /** Ask for the full-resolution channels once the view has settled on a frame. */
  const requestFull = (delay = 150) => {
    if (st.fullTimer) clearTimeout(st.fullTimer);
    st.fullTimer = setTimeout(() => {
      st.fullTimer = 0;
      if (st.playing || st.chanStep === 1 || st.frame === null || st.frame !== model.get("frame")) return;
      if (st.fullRequested === st.frame) return;
      st.fullRequested = st.frame;
      send({ type: "request-full", frame: st.frame });
    }, delay);
  };
  cleanups.push(() => st.fullTimer && clearTimeout(st.fullTimer));

  const installFrame = (p) => {
    const sizeChanged = p.height !== renderer.height || p.width !== renderer.width;
    const newFrame = !p.partial || sizeChanged || p.frame !== st.frame;
    if (newFrame || p.step !== st.chanStep) st.channelData = new Map();
    st.chanStep = p.step;
    for (const [idx, ch] of p.channels) {
      st.channelData.set(idx, { dtype: ch.dtype, data: ch.data });
      const r = computeRange(ch.data);
      const prev = st.ranges[idx];
      st.ranges[idx] = prev ? [Math.min(prev[0], r[0]), Math.max(prev[1], r[1])] : r;
    }
    renderer.setImageSize(p.height, p.width);
    if (!st.touched || st.touched.length !== p.height * p.width) st.touched = new Uint8Array(p.height * p.width);
    if (p.frame !== st.frame) st.fullRequested = null;
    st.frame = p.frame;
    st.population = p.population;
    if (p.labels) {
      st.stroke = null; // a new label buffer: a stroke on the old one cannot continue
      st.labels = p.labels;
      renderer.setLabels(p.labels);
      st.localMax = p.maxLabel;
    } else if (!st.labels || st.labels.length !== p.height * p.width) {
      st.labels = new Uint32Array(p.height * p.width);
      renderer.setLabels(st.labels);
    }
    renderer.setChannels(channelList(), st.chanStep);
    syncChannelControls();
    const s = viewSize();
    renderer.setViewport(s.w, s.h);
    if (!st.fitted || sizeChanged) {
      view.fit(p.height, p.width, s.h, s.w);
      st.fitted = true;
    }
    renderer.setView(view.scale, view.tx, view.ty);
    // Draw at once (not on the next animation frame) so a frame change shows as soon as data arrived.
    redraw();
    if (st.chanStep === 1) root.setAttribute("data-full-frame", String(st.frame));
    else {
      root.setAttribute("data-full-frame", "");
      requestFull(lodStep() < st.chanStep ? 0 : 150);
    }
    if (p.labels) recolor();
    if (!st.ready) {
      st.ready = true;
      root.setAttribute("data-ready", "1");
    }
    updateStatus();
    drawOverlay();
    if (st.playing) st.playing.waiting = false;
  };

  const applyPatch = (msg, buffers) => {
    if (!st.labels || msg.frame !== st.frame || msg.population !== st.population) return;
    writeLabelBox(st.labels, renderer.width, msg.bbox, msg.dtype, buffers[0]);
    const [r0, r1, c0, c1] = msg.bbox;
    const edited = new Set();
    for (let r = r0; r < r1; r++) {
      for (let c = c0; c < c1; c++) {
        const v = st.labels[r * renderer.width + c];
        if (v > st.localMax) st.localMax = v;
        edited.add(v);
      }
      if (edited.size > 4096) break;
    }
    if (renderer.colors.update(st.labels, renderer.width, renderer.height, msg.bbox, edited)) redraw();
    else renderer.updateBox(msg.bbox);
    updateStatus();
  };

  onModel("msg:custom", (msg, buffers) => {
    counters.messagesReceived++;
    switch (msg.type) {
      case "frame":
        // A transfer still pending is abandoned (Python stopped sending it): if it was the
        // full-resolution pull, the view may ask again once this one is shown.
        if (assembler.pending && assembler.pending.xfer === st.pullXfer) st.fullRequested = null;
        assembler.begin(msg);
        st.pullXfer = msg.pull ? msg.xfer : null;
        counters.frameStart = now();
        break;
      case "band":
        // Bands of an older transfer (another frame, a superseded pull) are dropped here.
        if (assembler.band(msg, buffers) && msg.xfer === st.pullXfer) {
          // Pulled transfers come one band per request, so a frame change never waits behind them.
          if (assembler.pending.frame === model.get("frame")) send({ type: "more", xfer: msg.xfer });
          else st.pullXfer = null;
        }
        break;
      case "frame-end": {
        const p = assembler.end(msg);
        if (p && p.xfer === st.pullXfer) st.pullXfer = null;
        if (p) {
          counters.framesReceived++;
          const t0 = now();
          installFrame(p);
          counters.lastFrame = { receiveMs: t0 - counters.frameStart, installMs: now() - t0 };
        }
        break;
      }
      case "patch":
        applyPatch(msg, buffers);
        break;
      case "ack": {
        const t0 = st.pendingAcks.get(msg.stroke);
        st.pendingAcks.delete(msg.stroke);
        counters.acks++;
        if (t0 !== undefined) counters.lastAckMs = now() - t0;
        if (msg.message) say(msg.message);
        break;
      }
      case "message":
        say(msg.text);
        break;
      default:
        break;
    }
  });

  // ---------------------------------------------------------------- edits
  const canEdit = () => {
    if (!st.labels || st.frame === null) return false;
    if (model.get("busy")) {
      say("pre-segmentation is running; edits resume when it ends");
      return false;
    }
    if (st.frame !== model.get("frame")) {
      say("loading the frame…");
      return false;
    }
    return true;
  };
  const clips = () => {
    if (!model.get("lock_to_roi")) return null;
    return st.rois.length ? st.rois : [];
  };

  /** Send one stroke's patch: values + mask over its box, in row bands below CHUNK_BYTES. */
  const sendPatch = (patch, tool) => {
    const [r0, r1, c0, c1] = patch.bbox;
    const w = c1 - c0;
    const rowsPerPart = Math.max(1, Math.floor(CHUNK_BYTES / (w * 5)));
    const parts = Math.ceil((r1 - r0) / rowsPerPart);
    const id = ++st.strokeSeq;
    st.pendingAcks.set(id, now());
    for (let k = 0; k < parts; k++) {
      const a = r0 + k * rowsPerPart;
      const b = Math.min(r1, a + rowsPerPart);
      const values = patch.values.slice((a - r0) * w, (b - r0) * w);
      const mask = patch.mask.slice((a - r0) * w, (b - r0) * w);
      send(
        { type: "patch", stroke: id, part: k, parts, tool, population: st.population, frame: st.frame, bbox: [r0, r1, c0, c1], rows: [a, b] },
        [values.buffer, mask.buffer],
      );
    }
  };

  const afterEdit = (box, label) => {
    if (label > st.localMax) st.localMax = label;
    if (renderer.colors.update(st.labels, renderer.width, renderer.height, box, [label])) {
      redraw();
    }
  };

  const startStroke = (point, tool) => {
    if (!canEdit()) return false;
    const c = clips();
    if (c && c.length === 0) {
      say("edits are locked to ROIs but this frame has none: draw one with r, or untick lock");
      return false;
    }
    const label = tool === "eraser" ? 0 : model.get("selected_label") >>> 0;
    st.stroke = new Stroke({
      labels: st.labels, touched: st.touched, width: renderer.width, height: renderer.height,
      radius: Math.max(model.get("brush_size") / 2, 0.5), label, clips: c,
    });
    st.stroke.tool = tool;
    const dirty = st.stroke.moveTo([point.row, point.col]);
    if (dirty) renderer.updateBox(dirty);
    return true;
  };
  const extendStroke = (points) => {
    let dirty = null;
    for (const p of points) dirty = unionBox(dirty, st.stroke.moveTo([p.row, p.col]));
    if (dirty) renderer.updateBox(dirty);
  };
  const endStroke = () => {
    const s = st.stroke;
    st.stroke = null;
    if (!s) return;
    const patch = s.finish();
    if (!patch) return;
    // Send first: the kernel gets the stroke while the browser recolours neighbours.
    sendPatch(patch, s.tool);
    afterEdit(patch.bbox, s.label);
  };

  const fillAt = (point) => {
    if (!canEdit()) return;
    const c = clips();
    if (c && c.length === 0) {
      say("edits are locked to ROIs but this frame has none: draw one with r, or untick lock");
      return;
    }
    const [r, col] = pixelOf(point);
    if (r < 0 || col < 0 || r >= renderer.height || col >= renderer.width) return;
    const label = model.get("selected_label") >>> 0;
    const box = floodFill(st.labels, st.touched, renderer.width, renderer.height, [r, col], label, c);
    if (!box) {
      say(inClips(c, r, col) ? `already label ${label} here` : "outside the ROI (edits are locked)");
      return;
    }
    const patch = extractPatch(st.labels, st.touched, renderer.width, box);
    clearBox(st.touched, renderer.width, box);
    renderer.updateBox(box);
    sendPatch(patch, "fill");
    afterEdit(box, label);
  };

  const pickAt = (point) => {
    if (!st.labels) return;
    const [r, c] = pixelOf(point);
    if (r < 0 || c < 0 || r >= renderer.height || c >= renderer.width) return;
    setSelected(st.labels[r * renderer.width + c]);
  };

  const setSelected = (label) => {
    save("selected_label", label >>> 0);
    labelInput.value = String(label >>> 0);
    if (model.get("show_selected_only")) {
      renderer.selected = label >>> 0;
      redraw();
    }
    updateStatus();
  };

  const newLabel = () => {
    // next_label 0: Python says the population already uses the largest uint32 label.
    const next = model.get("next_label") === 0 ? 0 : Math.max(model.get("next_label") || 1, st.localMax + 1);
    if (next === 0 || next > 0xffffffff) {
      say("no unused label is left: the labels reach 4294967295, the largest uint32 label");
      return;
    }
    setSelected(next);
    if (!["brush", "fill"].includes(model.get("tool"))) setTool("brush");
    say(`new label ${next}`);
  };

  const setTool = (tool) => {
    if (!TOOLS.includes(tool)) return;
    save("tool", tool);
    syncTool();
  };
  const syncTool = () => {
    const tool = model.get("tool");
    for (const [t, b] of Object.entries(toolButtons)) b.classList.toggle("segpaint-active", t === tool);
    viewCanvas.style.cursor = tool === "pan" ? "grab" : tool === "roi" ? "crosshair" : tool === "picker" ? "copy" : "crosshair";
    drawOverlay();
  };

  const setFrame = (t) => {
    const n = model.get("n_frames") || 1;
    const f = Math.min(Math.max(t, 0), n - 1);
    if (f === model.get("frame")) return;
    if (st.stroke) endStroke();
    save("frame", f);
    syncFrameControls();
  };
  const syncFrameControls = () => {
    const n = model.get("n_frames") || 1;
    frameSlider.max = String(n - 1);
    frameSlider.value = String(model.get("frame"));
    frameLabel.textContent = `${model.get("frame")} / ${n - 1}`;
  };

  // ---------------------------------------------------------------- ROIs
  const sendRoi = (type, extra) => send({ type, frame: st.frame, ...extra });
  const deleteRoi = () => {
    if (st.selectedRoi < 0 || st.selectedRoi >= st.rois.length) {
      say("no ROI selected (click one with the ROI tool)");
      return;
    }
    const box = st.rois[st.selectedRoi];
    st.rois = st.rois.filter((_, i) => i !== st.selectedRoi);
    st.selectedRoi = -1;
    sendRoi("roi-remove", { bbox: box });
    drawOverlay();
  };

  // ---------------------------------------------------------------- pointer events
  const localXY = (e) => {
    const r = viewport.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  const pointOf = (e) => {
    const { x, y } = localXY(e);
    return view.toImage(x, y);
  };

  listen(viewCanvas, "pointerdown", (e) => {
    if (e.button === 2) return;
    root.focus({ preventScroll: true });
    const { x, y } = localXY(e);
    const point = view.toImage(x, y);
    st.cursor = point;
    const tool = model.get("tool");
    const panning = e.button === 1 || st.space || tool === "pan";
    try {
      viewCanvas.setPointerCapture(e.pointerId);
    } catch {
      /* synthetic events in tests have no active pointer */
    }
    e.preventDefault();
    if (panning) {
      st.drag = { kind: "pan", x, y, id: e.pointerId };
      viewCanvas.style.cursor = "grabbing";
      return;
    }
    if (tool === "brush" || tool === "eraser") {
      if (startStroke(point, tool)) st.drag = { kind: "stroke", id: e.pointerId };
    } else if (tool === "fill") {
      fillAt(point);
    } else if (tool === "picker") {
      pickAt(point);
    } else if (tool === "roi") {
      if (st.frame === null) return;
      const hit = hitRoi(st.rois, point, 6 / view.scale);
      if (hit) {
        st.selectedRoi = hit.index;
        st.drag = { kind: "roi-edit", index: hit.index, handle: hit.handle, start: pixelOf(point), orig: st.rois[hit.index].slice(), id: e.pointerId };
      } else {
        st.selectedRoi = -1;
        st.drag = { kind: "roi-new", start: point, box: null, id: e.pointerId };
      }
      drawOverlay();
    }
  });

  listen(viewCanvas, "pointermove", (e) => {
    const { x, y } = localXY(e);
    st.hover = { x, y };
    const point = view.toImage(x, y);
    st.cursor = point;
    const d = st.drag;
    if (d && d.id === e.pointerId) {
      if (d.kind === "pan") {
        view.panBy(x - d.x, y - d.y);
        st.userMovedView = true;
        d.x = x;
        d.y = y;
        applyTransform();
      } else if (d.kind === "stroke" && st.stroke) {
        const evs = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
        extendStroke(evs.length ? evs.map(pointOf) : [point]);
      } else if (d.kind === "roi-new") {
        d.box = clipBox(boxFromPoints(d.start, point), renderer.height, renderer.width);
      } else if (d.kind === "roi-edit") {
        const [r, c] = pixelOf(point);
        st.rois[d.index] = dragRoi(d.orig, d.handle, r - d.start[0], c - d.start[1], renderer.height, renderer.width);
      }
    } else if (model.get("tool") === "roi") {
      viewCanvas.style.cursor = handleCursor(hitRoi(st.rois, point, 6 / view.scale)?.handle);
    }
    drawOverlay();
    updateStatus();
  });

  const endDrag = (e) => {
    const d = st.drag;
    if (!d || d.id !== e.pointerId) return;
    st.drag = null;
    if (d.kind === "stroke") endStroke();
    else if (d.kind === "pan") syncTool();
    else if (d.kind === "roi-new") {
      if (d.box && (d.box[1] - d.box[0] > 1 || d.box[3] - d.box[2] > 1)) {
        st.rois = [...st.rois, d.box];
        st.selectedRoi = st.rois.length - 1;
        sendRoi("roi-add", { bbox: d.box });
      }
    } else if (d.kind === "roi-edit") {
      const now_ = st.rois[d.index];
      if (now_.some((v, i) => v !== d.orig[i])) sendRoi("roi-change", { old: d.orig, bbox: now_ });
    }
    drawOverlay();
  };
  listen(viewCanvas, "pointerup", endDrag);
  listen(viewCanvas, "pointercancel", endDrag);
  listen(viewCanvas, "pointerleave", () => {
    st.hover = null;
    drawOverlay();
  });
  listen(viewCanvas, "pointerenter", () => {
    const a = document.activeElement;
    const typing = a && (a.tagName === "TEXTAREA" || a.isContentEditable || (a.tagName === "INPUT" && a.type === "text"));
    if (!typing) root.focus({ preventScroll: true });
  });
  listen(viewCanvas, "contextmenu", (e) => e.preventDefault());
  // Middle-drag pans: keep the browser's autoscroll / paste-on-middle-click out of it.
  listen(viewCanvas, "mousedown", (e) => {
    if (e.button === 1) e.preventDefault();
  });
  listen(viewCanvas, "auxclick", (e) => e.preventDefault());
  listen(viewCanvas, "wheel", (e) => {
    e.preventDefault();
    const { x, y } = localXY(e);
    const dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
    view.zoomAt(x, y, Math.exp(-dy * 0.0015));
    st.userMovedView = true;
    applyTransform();
  }, { passive: false });

  // ---------------------------------------------------------------- keys
  const runAction = (action) => {
    switch (action) {
      case "undo":
      case "redo":
        if (st.stroke) endStroke();
        send({ type: action });
        break;
      case "new-label":
        newLabel();
        break;
      case "brush-smaller":
      case "brush-bigger": {
        const s = stepBrush(model.get("brush_size"), action === "brush-bigger" ? 1 : -1, BRUSH_MIN, BRUSH_MAX);
        save("brush_size", s);
        syncBrush();
        break;
      }
      case "frame-prev":
        setFrame(model.get("frame") - 1);
        break;
      case "frame-next":
        setFrame(model.get("frame") + 1);
        break;
      case "delete-roi":
        deleteRoi();
        break;
      case "escape":
        st.selectedRoi = -1;
        drawOverlay();
        break;
      case "fit":
        st.userMovedView = false;
        fit();
        break;
      default:
        if (action.startsWith("tool:")) setTool(action.slice(5));
    }
  };
  listen(root, "keydown", (e) => {
    const t = e.target;
    if (t && (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && (t.type === "text" || t.type === "number")))) return;
    const action = keyAction(e);
    if (!action) return;
    e.preventDefault();
    e.stopPropagation();
    if (action === "space") {
      st.space = true;
      viewCanvas.style.cursor = "grab";
      return;
    }
    runAction(action);
  });
  // Arrow keys on a focused slider: JupyterLab and Notebook 7 handle keydown on the document in the
  // capture phase (notebook navigation, shortcuts) before the slider sees it, whatever
  // data-lm-suppress-shortcuts says. The window's capture phase comes first: step our own sliders
  // there and keep the event from going further. Keys aimed at anything else are left alone.
  if (typeof window !== "undefined") {
    listen(window, "keydown", (e) => {
      const t = e.target;
      if (!t || t.tagName !== "INPUT" || t.type !== "range" || !root.contains(t)) return;
      if (e.ctrlKey || e.metaKey || e.altKey || !(e.key in SLIDER_KEYS)) return;
      e.preventDefault();
      e.stopImmediatePropagation();
      stepSlider(t, e.key);
    }, true);
  }
  listen(root, "keyup", (e) => {
    if (e.key === " ") {
      st.space = false;
      e.stopPropagation();
      syncTool();
    }
  });

  // ---------------------------------------------------------------- controls
  for (const [t, b] of Object.entries(toolButtons)) listen(b, "click", () => setTool(t));
  listen(btnUndo, "click", () => runAction("undo"));
  listen(btnRedo, "click", () => runAction("redo"));
  listen(btnNew, "click", () => runAction("new-label"));
  listen(btnFit, "click", () => runAction("fit"));
  listen(btnDeleteRoi, "click", () => runAction("delete-roi"));
  listen(btnPrev, "click", () => runAction("frame-prev"));
  listen(btnNext, "click", () => runAction("frame-next"));
  listen(frameSlider, "input", () => setFrame(Number(frameSlider.value)));
  listen(popSelect, "change", () => save("population", popSelect.value));
  listen(brushSize, "input", () => {
    save("brush_size", Number(brushSize.value));
    syncBrush();
  });
  listen(labelInput, "change", () => {
    const v = Math.max(0, Math.floor(Number(labelInput.value) || 0));
    setSelected(v);
  });
  listen(opacity, "input", () => {
    renderer.opacity = Number(opacity.value);
    redraw();
  });
  listen(opacity, "change", () => save("opacity", Number(opacity.value)));
  listen(contour, "change", () => save("contour", contour.checked));
  listen(selectedOnly, "change", () => save("show_selected_only", selectedOnly.checked));
  listen(lockRoi, "change", () => save("lock_to_roi", lockRoi.checked));
  listen(formatSelect, "change", () => save("export_format", formatSelect.value));
  listen(btnExport, "click", () => {
    const box = st.selectedRoi >= 0 ? st.rois[st.selectedRoi] : null;
    if (!box && !st.rois.length) {
      say("no ROI on this frame: draw one with the ROI tool (r) first");
      return;
    }
    say("exporting…");
    send({ type: "export", frame: st.frame, bbox: box, format: formatSelect.value });
  });
  listen(btnSave, "click", () => {
    say("saving…");
    send({ type: "save" });
  });
  listen(btnPreseg, "click", () => {
    send({ type: "presegment", method: methodSelect.value, scope: scopeSelect.value });
  });
  listen(btnPlay, "click", () => {
    if (st.playing) {
      clearInterval(st.playing.timer);
      st.playing = null;
      btnPlay.textContent = "▶ play";
      requestFull(0);
      return;
    }
    const play = { waiting: false, timer: 0 };
    play.timer = setInterval(() => {
      if (play.waiting) return;
      const n = model.get("n_frames") || 1;
      play.waiting = true;
      save("frame", (model.get("frame") + 1) % n);
      syncFrameControls();
    }, 100);
    st.playing = play;
    btnPlay.textContent = "❚❚ pause";
  });
  cleanups.push(() => st.playing && clearInterval(st.playing.timer));

  const syncBrush = () => {
    const s = model.get("brush_size");
    brushSize.max = String(Math.max(100, s));
    brushSize.value = String(s);
    brushLabel.textContent = `${s}px`;
    drawOverlay();
  };
  const syncPopulations = () => {
    const pops = model.get("populations") || [];
    popSelect.replaceChildren(...pops.map((p) => h("option", { value: p, text: p })));
    popSelect.value = model.get("population");
  };
  const syncMethods = () => {
    const methods = model.get("presegment_methods") || [];
    methodSelect.replaceChildren(...methods.map((m) => h("option", { value: m, text: m })));
  };
  const syncBusy = () => {
    const busy = model.get("busy");
    btnPreseg.disabled = busy;
    progress.style.visibility = busy ? "visible" : "hidden";
    progress.value = model.get("progress") || 0;
  };
  const syncOverlay = () => {
    renderer.opacity = model.get("opacity");
    renderer.contour = model.get("contour");
    renderer.selectedOnly = model.get("show_selected_only");
    renderer.selected = model.get("selected_label") >>> 0;
    opacity.value = String(model.get("opacity"));
    contour.checked = model.get("contour");
    selectedOnly.checked = model.get("show_selected_only");
    lockRoi.checked = model.get("lock_to_roi");
    labelInput.value = String(model.get("selected_label"));
    redraw();
  };

  // ---------------------------------------------------------------- model -> view
  onModel("change:tool", syncTool);
  onModel("change:brush_size", syncBrush);
  onModel("change:frame", () => {
    syncFrameControls();
    st.selectedRoi = -1;
  });
  onModel("change:populations", syncPopulations);
  onModel("change:population", syncPopulations);
  onModel("change:presegment_methods", syncMethods);
  onModel("change:busy", syncBusy);
  onModel("change:progress", syncBusy);
  onModel("change:export_format", () => (formatSelect.value = model.get("export_format")));
  for (const name of ["opacity", "contour", "show_selected_only", "selected_label", "lock_to_roi"]) {
    onModel(`change:${name}`, () => {
      syncOverlay();
      updateStatus();
    });
  }
  for (const name of ["contrast", "gamma", "channel_visible", "channel_colors"]) onModel(`change:${name}`, syncChannels);
  onModel("change:channel_names", buildChannelControls);
  onModel("change:status", () => {
    st.message = "";
    updateStatus();
  });
  onModel("change:rois", () => {
    const rois = model.get("rois") || [];
    if (!st.drag || !String(st.drag.kind).startsWith("roi")) {
      const sel = st.selectedRoi >= 0 ? st.rois[st.selectedRoi] : null;
      st.rois = rois.map((b) => b.slice());
      st.selectedRoi = sel ? st.rois.findIndex((b) => b.every((v, i) => v === sel[i])) : -1;
    }
    drawOverlay();
  });

  // Initial sync, then ask Python for the current frame (messages sent before this view existed are lost).
  buildChannelControls();
  syncTool();
  syncBrush();
  syncFrameControls();
  syncPopulations();
  syncMethods();
  syncBusy();
  syncOverlay();
  st.rois = (model.get("rois") || []).map((b) => b.slice());
  formatSelect.value = model.get("export_format") || "celldetective";
  updateStatus();
  // Ask for a level of detail that fits the viewport before the first frame is sent.
  const shape = model.get("image_shape");
  if (shape && shape.length === 2) {
    const s = viewSize();
    view.fit(shape[0], shape[1], s.h, s.w);
    const want = lodStep();
    if (want !== model.get("_preview_step")) save("_preview_step", want);
  }
  send({ type: "request-frame" });

  if (typeof ResizeObserver === "function") {
    const ro = new ResizeObserver(() => {
      syncViewport();
      drawOverlay();
    });
    ro.observe(viewport);
    cleanups.push(() => ro.disconnect());
  }

  // ---------------------------------------------------------------- debug hooks for browser tests
  const debug = {
    imageToClient(row, col) {
      const r = viewport.getBoundingClientRect();
      const p = view.toViewport(row, col);
      return { x: r.left + p.x, y: r.top + p.y };
    },
    clientToImage(x, y) {
      const r = viewport.getBoundingClientRect();
      const [row, col] = pixelOf(view.toImage(x - r.left, y - r.top));
      return { row, col };
    },
    label(row, col) {
      return st.labels ? st.labels[row * renderer.width + col] : undefined;
    },
    renderedPixel(row, col) {
      return renderer.pixel(row, col);
    },
    get messagesSent() {
      return counters.messagesSent;
    },
    get messagesReceived() {
      return counters.messagesReceived;
    },
    get acks() {
      return counters.acks;
    },
    get lastAckMs() {
      return counters.lastAckMs;
    },
    get lastFrame() {
      return counters.lastFrame;
    },
    get framesReceived() {
      return counters.framesReceived;
    },
    get draws() {
      return renderer.draws;
    },
    get lastDrawMs() {
      return renderer.lastDrawMs;
    },
    get frame() {
      return st.frame;
    },
    get view() {
      return { scale: view.scale, tx: view.tx, ty: view.ty };
    },
    get rois() {
      return st.rois.map((b) => b.slice());
    },
    selectRoi(i) {
      st.selectedRoi = i;
      drawOverlay();
    },
    renderer,
  };
  root.__segpaint = debug;

  return () => {
    for (const fn of cleanups.reverse()) fn();
  };
}

export default {
  render({ model, el }) {
    return mount({ model, el });
  },
};
