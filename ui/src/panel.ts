// The side panel: one passage (a citation or a search result) with its file and place, Open /
// Show in folder (the Rust side checks the path is inside a registered folder), and the passage
// where it stands in its document (viewer.ts).
import { api, type PassageView } from "./api";
import { $, showError, toast } from "./dom";
import { clearViewer, recentre, showInDocument } from "./viewer";

let shown: PassageView | null = null;

/** Show a passage; `evidence`: the sentences of it an answer's claims rest on. */
export function openPanel(p: PassageView, label?: string, evidence: string[] = []) {
  shown = p;
  $("panel-file").textContent = label ? `${label} ${p.file_name}` : p.file_name;
  $("panel-place").textContent = p.place || "whole file";
  $("panel-path").textContent = p.path;
  $("panel-passage").innerHTML = p.html; // sanitised on the Rust side
  $("panel").hidden = false;
  $("panel-open").focus();
  void showInDocument(p, evidence);
}

export function closePanel() {
  $("panel").hidden = true;
  shown = null;
  clearViewer();
}

export function panelIsOpen() {
  return !$("panel").hidden;
}

export function setUpPanel() {
  $("panel-close").addEventListener("click", closePanel);
  $("panel-wide").addEventListener("click", () => {
    const wide = $("panel").classList.toggle("wide");
    $("panel-wide").setAttribute("aria-pressed", String(wide));
    requestAnimationFrame(recentre);
  });
  $("panel-open").addEventListener("click", async () => {
    if (!shown) return;
    try {
      await api.openFile(shown.path, shown.location.page ?? null);
      toast(`Opening ${shown.file_name}…`);
    } catch (e) {
      showError(e);
    }
  });
  $("panel-reveal").addEventListener("click", async () => {
    if (!shown) return;
    try {
      await api.revealFile(shown.path);
    } catch (e) {
      showError(e);
    }
  });
}
