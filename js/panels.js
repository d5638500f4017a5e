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
//     as new version (<stem>_v2).

/** @typedef {import("./display.js").Display} Display */
/** @typedef {import("./input.js").Listen} Listen */

const PANEL_CSS = `
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
    const root = d.ui.root;
    // After the widget's own <style>, before the toolbar: the first thing a user reads.
    root.insertBefore(style, root.children[1] || null);
    root.insertBefore(this.recoverRow, style.nextSibling);
    root.insertBefore(this.banner, style.nextSibling);
    // Below the actions row (Export ROI, Save labels), above the canvas.
    root.insertBefore(this.folderRow, d.ui.viewport);
    root.insertBefore(this.conflictRow, d.ui.viewport);
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
      : `${n} ROI${n === 1 ? " was" : "s were"} already exported as ${c.format}. `;
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
