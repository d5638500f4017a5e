// @ts-check
// Panels of issue 10 ("nothing surprising happens to my work"), mounted above the toolbar:
//   - a banner when the kernel is gone (the comm closed, or a stroke and a ping went unanswered):
//     new strokes and frame changes are refused while it shows, so nothing is painted that no
//     kernel will ever store and the slider never leaves the frame the canvas shows;
//   - a row announcing edits an earlier session journaled but never saved, with "Recover N
//     unsaved edits" (Session.recover) and "Discard" buttons;
//   - a row showing where "Export ROI" and "Save labels" write, where the user types a folder,
//     and how many ROIs of the frame are exported (roi.js marks them on the canvas);
//   - after an export that found samples on disk: Overwrite (with a confirmation step) or Save
//     as new version (<stem>_v2);
//   - the pre-segmentation parameters (method, channels, the method's main parameters, replace or
//     fill empty frames), filled from the population's recorded method; a confirmation before
//     unsaved corrections are replaced. Methods whose extra is missing are shown disabled.

/** @typedef {import("./display.js").Display} Display */
/** @typedef {import("./input.js").Listen} Listen */

const PANEL_CSS = `
.segpaint-annotator [hidden] { display: none !important; }
.segpaint-annotator .segpaint-banner { padding: 4px 8px; border-radius: 3px; font-weight: 600;
  background: #b71c1c; color: #fff; }
.segpaint-annotator .segpaint-recover { padding: 4px 8px; border-radius: 3px; background: #fff8e1;
  color: #5d4037; border: 1px solid #ffb300; }
`;

/**
 * @param {string} tag @param {Record<string, string>} attrs @param {(Node | string)[]} [children]
 */
function el(tag, attrs, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

export class Panels {
  /**
   * @param {Display} d
   * @param {Listen} listen
   * @param {(name: string, fn: (...args: any[]) => void) => void} onModel
   */
  constructor(d, listen, onModel) {
    this.d = d;
    const style = el("style", {}, [PANEL_CSS]);
    this.banner = el("div", { class: "segpaint-banner", role: "alert", "data-panel": "kernel-lost" });
    this.banner.hidden = true;
    this.recoverText = el("span", {});
    this.recoverButton = el("button", { type: "button", "data-action": "recover" });
    this.discardButton = el("button", { type: "button", "data-action": "discard-pending" }, ["Discard"]);
    this.recoverRow = el("div", { class: "segpaint-row segpaint-recover", "data-panel": "recover" }, [
      this.recoverText, this.recoverButton, this.discardButton,
    ]);
    this.recoverRow.hidden = true;
    // Where "Export ROI" and "Save labels" write; typed here (Enter or leaving the field sends it).
    this.exportInput = this.folderInput("export-folder", "Folder Export ROI writes samples to");
    this.labelsInput = this.folderInput("labels-folder", "Folder Save labels writes label images to");
    this.folderRow = el("div", { class: "segpaint-row", "data-panel": "folders" }, [
      el("label", {}, ["export to ", this.exportInput]), el("label", {}, ["labels to ", this.labelsInput]),
    ]);
    // A re-export: the ROIs already on disk wait for Overwrite (confirmed) or New version.
    this.conflictText = el("span", {});
    this.overwriteButton = el("button", { type: "button", "data-action": "export-overwrite" }, ["Overwrite…"]);
    this.confirmButton = el("button", { type: "button", "data-action": "export-overwrite-confirm" }, ["Yes, replace them"]);
    this.versionButton = el("button", { type: "button", "data-action": "export-version" }, ["Save as new version"]);
    this.cancelButton = el("button", { type: "button", "data-action": "export-cancel" }, ["Cancel"]);
    this.conflictRow = el("div", { class: "segpaint-row segpaint-recover", "data-panel": "export-conflict", role: "alertdialog" }, [
      this.conflictText, this.overwriteButton, this.confirmButton, this.versionButton, this.cancelButton,
    ]);
    this.conflictRow.hidden = true;
    /** @type {any} the export_conflict being answered, null once answered */
    this.answered = null;
    this.exportedInfo = el("span", { "data-panel": "exported" });
    this.folderRow.append(this.exportedInfo);
    // the pre-segmentation panel
    /** @param {string} name @param {string} title @param {string} [type] */
    const field = (name, title, type = "number") => {
      const input = /** @type {HTMLInputElement} */ (el("input", { type, "data-param": name, title, "aria-label": title }));
      input.style.width = type === "text" ? "12em" : "6em";
      return input;
    };
    this.methodSelect = /** @type {HTMLSelectElement} */ (el("select", { "data-control": "preseg-method", "aria-label": "Pre-segmentation method" }));
    this.methodNote = el("span", { "data-panel": "preseg-note" });
    this.channelBox = el("span", { "data-panel": "preseg-channels" });
    this.fields = {
      thresholdLo: field("threshold-lo", "Lower intensity threshold (empty: automatic)"),
      thresholdHi: field("threshold-hi", "Upper intensity threshold (empty: none)"),
      minDistance: field("marker_min_distance", "Watershed: smallest distance between two cell centres (px)"),
      query: field("feature_queries", "Remove objects matching, e.g. area < 150", "text"),
      diameter: field("diameter", "Cell diameter in pixels (empty: the model's own)"),
      cellprob: field("cellprob_threshold", "Cellpose cell probability threshold"),
      prob: field("prob_thresh", "StarDist probability threshold"),
    };
    this.groups = {
      threshold: el("span", { "data-params": "threshold" }, [
        "thresholds ", this.fields.thresholdLo, " – ", this.fields.thresholdHi, " min distance ", this.fields.minDistance,
        " query ", this.fields.query,
      ]),
      CP: el("span", { "data-params": "CP" }, ["diameter ", this.fields.diameter, " cell prob. ", this.fields.cellprob]),
      SD: el("span", { "data-params": "SD" }, ["prob. threshold ", this.fields.prob]),
    };
    this.modeSelect = /** @type {HTMLSelectElement} */ (el("select", { "data-control": "preseg-mode", "aria-label": "Replace or fill empty frames only" }, [
      el("option", { value: "replace" }, ["replace"]), el("option", { value: "fill-empty" }, ["fill empty frames only"]),
    ]));
    this.scopeSelect = /** @type {HTMLSelectElement} */ (el("select", { "data-control": "preseg-scope", "aria-label": "Frames to pre-segment" }, [
      el("option", { value: "frame" }, ["this frame"]), el("option", { value: "all" }, ["all frames"]),
    ]));
    this.runButton = el("button", { type: "button", "data-action": "preseg-run" }, ["Run"]);
    this.presegPanel = el("details", { "data-panel": "presegment" }, [
      el("summary", {}, ["Pre-segmentation parameters"]),
      el("div", { class: "segpaint-row" }, ["method ", this.methodSelect, this.methodNote, " channels ", this.channelBox]),
      el("div", { class: "segpaint-row" }, [...Object.values(this.groups), this.modeSelect, this.scopeSelect, this.runButton]),
    ]);
    this.confirmText = el("span", {});
    this.replaceButton = el("button", { type: "button", "data-action": "preseg-confirm" }, ["Replace them"]);
    this.keepButton = el("button", { type: "button", "data-action": "preseg-cancel" }, ["Cancel"]);
    this.presegConfirm = el("div", { class: "segpaint-row segpaint-recover", "data-panel": "preseg-confirm", role: "alertdialog" }, [
      this.confirmText, this.replaceButton, this.keepButton,
    ]);
    this.presegConfirm.hidden = true;
    /** @type {any} */
    this.confirmAnswered = null;
    for (const input of Object.values(this.fields)) listen(input, "keydown", (/** @type {KeyboardEvent} */ e) => e.stopPropagation());
    listen(this.methodSelect, "change", () => this.fillPresegment());
    listen(this.runButton, "click", () => this.runPresegment());
    listen(this.replaceButton, "click", () => {
      const c = this.d.model.get("presegment_confirm") || {};
      this.confirmAnswered = c;
      this.syncPresegConfirm();
      if (c.request && !this.d.state.lost) this.d.state.send(c.request);
    });
    listen(this.keepButton, "click", () => {
      this.confirmAnswered = this.d.model.get("presegment_confirm");
      this.syncPresegConfirm();
    });
    onModel("change:presegment_info", () => this.syncPresegment());
    onModel("change:presegment_confirm", () => {
      this.confirmAnswered = null;
      this.syncPresegConfirm();
    });
    onModel("change:channel_names", () => this.syncPresegment());
    this.syncPresegment();
    this.syncPresegConfirm();
    const root = d.ui.root;
    // After the widget's own <style>, before the toolbar: the first thing a user reads.
    root.insertBefore(style, root.children[1] || null);
    root.insertBefore(this.recoverRow, style.nextSibling);
    root.insertBefore(this.banner, style.nextSibling);
    // Below the actions row (Export ROI, Save labels), above the canvas.
    root.insertBefore(this.folderRow, d.ui.viewport);
    root.insertBefore(this.conflictRow, d.ui.viewport);
    root.insertBefore(this.presegPanel, d.ui.viewport);
    root.insertBefore(this.presegConfirm, d.ui.viewport);
    listen(this.overwriteButton, "click", () => this.confirmOverwrite(true));
    listen(this.confirmButton, "click", () => this.answer("overwrite"));
    listen(this.versionButton, "click", () => this.answer("version"));
    listen(this.cancelButton, "click", () => {
      this.answered = this.d.model.get("export_conflict");
      this.syncConflict();
    });
    onModel("change:export_conflict", () => {
      this.answered = null;
      this.syncConflict();
    });
    onModel("change:rois_exported", () => {
      this.syncExported();
      d.rois.draw();
    });
    onModel("change:rois", () => this.syncExported());
    this.syncConflict();
    this.syncExported();
    this.syncPresegment();
    this.syncPresegConfirm();
    for (const [input, key] of /** @type {const} */ ([[this.exportInput, "export_folder"], [this.labelsInput, "labels_folder"]])) {
      listen(input, "change", () => this.d.state.lost || this.d.state.send({ type: "set-folders", [key]: input.value }));
      listen(input, "keydown", (/** @type {KeyboardEvent} */ e) => e.stopPropagation()); // typing is not a shortcut
    }
    onModel("change:export_to", () => this.syncFolders());
    onModel("change:labels_to", () => this.syncFolders());
    this.syncFolders();

    listen(this.recoverButton, "click", () => this.send("recover"));
    listen(this.discardButton, "click", () => this.send("discard-pending"));
    onModel("change:pending_edits", () => this.syncRecover());
    // A frame change while the kernel is gone would move the slider off the frame shown.
    onModel("change:frame", () => {
      const { state, model } = d;
      if (!state.lost || state.frame === null || model.get("frame") === state.frame) return;
      model.set("frame", state.frame);
      d.controls.syncFrame();
      d.say("the kernel is gone: the frame cannot change (re-run the cell once the kernel is back)");
    });
    d.hooks.lost = (reason) => this.syncLost(reason);
    this.syncRecover();
    this.syncLost(d.state.lost);
  }

  /** @param {string} type */
  send(type) {
    if (this.d.state.lost) return;
    this.d.state.send({ type });
  }

  // ------------------------------------------------------------ pre-segmentation panel
  /** The method menu and the channels, then the fields from the recorded method. */
  syncPresegment() {
    const { model } = this.d;
    const info = model.get("presegment_info") || {};
    const recorded = info.recorded || {};
    const methods = info.methods || [];
    this.methodSelect.replaceChildren(
      ...methods.map((/** @type {{name: string, available: boolean, note: string}} */ m) => {
        // short in the menu (a long option widens the select), the whole pip line in its tooltip
        const extra = /\[(\w+)\]/.exec(m.note)?.[1] || "an extra";
        const option = /** @type {HTMLOptionElement} */ (el("option", { value: m.name, title: m.note }, [m.available ? m.name : `${m.name} (needs ${extra})`]));
        option.disabled = !m.available;
        return option;
      }),
    );
    if (recorded.method && methods.some((/** @type {any} */ m) => m.name === recorded.method)) this.methodSelect.value = recorded.method;
    const names = model.get("channel_names") || [];
    const chosen = recorded.params?.channels || names;
    this.channelBox.replaceChildren(
      ...names.map((/** @type {string} */ n) => {
        const box = /** @type {HTMLInputElement} */ (el("input", { type: "checkbox", "data-channel-name": n, "aria-label": `channel ${n}` }));
        box.checked = chosen.includes(n);
        return el("label", {}, [box, n]);
      }),
    );
    this.fillPresegment();
  }

  /** Fields of the selected method, filled from the population's recorded parameters. */
  fillPresegment() {
    const info = this.d.model.get("presegment_info") || {};
    const method = this.methodSelect.value;
    const family = method === "threshold" ? "threshold" : method.split("_")[0];
    for (const [name, group] of Object.entries(this.groups)) group.hidden = name !== family;
    const recorded = info.recorded || {};
    const p = recorded.method === method ? recorded.params || {} : {};
    const f = this.fields;
    const t = Array.isArray(p.thresholds) ? p.thresholds : [];
    f.thresholdLo.value = t[0] ?? "";
    f.thresholdHi.value = t[1] ?? "";
    f.minDistance.value = p.marker_min_distance ?? "";
    f.query.value = Array.isArray(p.feature_queries) ? p.feature_queries.join("; ") : (p.feature_queries ?? "");
    f.diameter.value = p.diameter ?? "";
    f.cellprob.value = p.cellprob_threshold ?? "";
    f.prob.value = p.prob_thresh ?? "";
    const note = (info.methods || []).find((/** @type {any} */ m) => m.name === method)?.note || "";
    this.methodNote.textContent = note ? ` ${note}` : "";
  }

  /** The message of the Run button: what the panel shows, over the recorded parameters. */
  presegmentRequest() {
    const info = this.d.model.get("presegment_info") || {};
    const method = this.methodSelect.value;
    const recorded = info.recorded || {};
    /** @type {Record<string, any>} */
    const params = recorded.method === method ? { ...(recorded.params || {}) } : {};
    delete params.channels;
    const f = this.fields;
    /** @param {string} key @param {HTMLInputElement} input */
    const num = (key, input) => {
      if (input.value.trim() === "") delete params[key];
      else params[key] = Number(input.value);
    };
    if (method === "threshold") {
      if (f.thresholdLo.value.trim() === "") delete params.thresholds;
      else params.thresholds = [Number(f.thresholdLo.value), f.thresholdHi.value.trim() === "" ? null : Number(f.thresholdHi.value)];
      num("marker_min_distance", f.minDistance);
      const queries = f.query.value.split(";").map((q) => q.trim()).filter(Boolean);
      if (queries.length) params.feature_queries = queries;
      else delete params.feature_queries;
    } else if (method.startsWith("CP_")) {
      num("diameter", f.diameter);
      num("cellprob_threshold", f.cellprob);
    } else if (method.startsWith("SD_")) {
      num("prob_thresh", f.prob);
    }
    const channels = [...this.channelBox.querySelectorAll("input")].filter((b) => /** @type {HTMLInputElement} */ (b).checked).map((b) => b.getAttribute("data-channel-name"));
    return { type: "presegment", method, scope: this.scopeSelect.value, mode: this.modeSelect.value, channels, params };
  }

  runPresegment() {
    if (this.d.state.lost) return;
    const request = this.presegmentRequest();
    if (!request.channels.length) {
      this.d.say("pre-segmentation needs at least one channel: tick one");
      return;
    }
    this.d.say(`pre-segmenting with ${request.method}…`);
    this.d.state.send(request);
  }

  syncPresegConfirm() {
    const c = this.d.model.get("presegment_confirm") || {};
    const frames = c.frames || [];
    this.presegConfirm.hidden = !frames.length || this.confirmAnswered === c;
    const shown = frames.slice(0, 10).join(", ") + (frames.length > 10 ? "…" : "");
    this.confirmText.textContent = `Pre-segmenting would replace your unsaved corrections on frame${frames.length === 1 ? "" : "s"} ${shown} (undo brings them back). `;
  }

  /** @param {string} name @param {string} title */
  folderInput(name, title) {
    const input = /** @type {HTMLInputElement} */ (el("input", { type: "text", "data-control": name, title, "aria-label": title }));
    input.style.width = "22em";
    return input;
  }

  syncFolders() {
    const { model } = this.d;
    for (const [input, trait] of /** @type {const} */ ([[this.exportInput, "export_to"], [this.labelsInput, "labels_to"]])) {
      if (document.activeElement === input) continue; // never under the user's typing
      input.value = model.get(trait) || "";
      input.placeholder = "type a folder: this image has none beside it";
    }
  }

  /** @param {boolean} on show the confirmation step of Overwrite */
  confirmOverwrite(on) {
    const c = this.d.model.get("export_conflict") || {};
    const n = (c.rois || []).length;
    this.overwriteButton.hidden = on;
    this.confirmButton.hidden = !on;
    this.conflictText.textContent = on
      ? `Replace the ${n} exported sample${n === 1 ? "" : "s"} in ${this.d.model.get("export_to") || "the export folder"}? This cannot be undone. `
      : `${n} ROI${n === 1 ? " was" : "s were"} already exported to this folder (files of the same names, ${c.format} layout). `;
  }

  /** @param {"overwrite" | "version"} mode */
  answer(mode) {
    const c = this.d.model.get("export_conflict") || {};
    if (!c.rois || this.d.state.lost) return;
    this.answered = c;
    this.syncConflict();
    this.d.say(mode === "overwrite" ? "replacing…" : "writing new versions…");
    this.d.state.send({ type: "export", frame: c.frame, format: c.format, bboxes: c.rois, mode });
  }

  syncConflict() {
    const c = this.d.model.get("export_conflict") || {};
    this.conflictRow.hidden = !c.rois || !c.rois.length || this.answered === c;
    this.confirmOverwrite(false);
  }

  syncExported() {
    const marks = this.d.model.get("rois_exported") || [];
    const n = marks.filter((/** @type {number} */ v) => v > 0).length;
    const total = (this.d.model.get("rois") || []).length;
    this.exportedInfo.textContent = total ? `${n} of ${total} ROI${total === 1 ? "" : "s"} of this frame exported` : "";
  }

  syncRecover() {
    const n = Number(this.d.model.get("pending_edits")) || 0;
    this.recoverRow.hidden = n <= 0;
    this.recoverText.textContent = `${n} edit${n === 1 ? "" : "s"} from an earlier session were never saved. `;
    this.recoverButton.textContent = `Recover ${n} unsaved edit${n === 1 ? "" : "s"}`;
  }

  /** @param {string | null} reason why the kernel is gone, or null when it answers */
  syncLost(reason) {
    const { d } = this;
    this.banner.hidden = reason === null;
    d.ui.root.toggleAttribute("data-kernel-lost", reason !== null);
    if (reason === null) return;
    if (d.editor?.active) d.editor.endStroke();
    if (d.playing) d.controls.togglePlay();
    const unsent = d.state.pendingAcks.size;
    const lost = unsent ? ` ${unsent} stroke${unsent === 1 ? "" : "s"} painted here never reached it and are not saved.` : "";
    this.banner.textContent =
      `The kernel is gone: ${reason}. Painting and frame changes are off.${lost} ` +
      "Restart the kernel and re-run the notebook: with autosave on, the edits it acknowledged are in " +
      "the journal and the new widget offers to recover them.";
  }
}
