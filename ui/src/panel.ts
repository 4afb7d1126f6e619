// The side panel: one passage (a citation or a search result) with its file and place, Open /
// Show in folder (the Rust side checks the path is inside a registered folder), and the passage
// where it stands in its document (viewer.ts).
import { api, desktop, type PassageView } from "./api";
import { $, showError, toast } from "./dom";
import { clearViewer, recentre, showInDocument } from "./viewer";

let shown: PassageView | null = null;
/** The question of the answer the shown passage was opened from (none for a search result). */
let shownFor: string | null = null;

/** Show a passage; `evidence`: the sentences of it an answer's claims rest on; `question`: the
 * question of the answer it was opened from (the engine keeps the opening as a weak "this one",
 * and 👍 / 👎 ask whether it answers the question). */
export function openPanel(p: PassageView, label?: string, evidence: string[] = [], question?: string) {
  shown = p;
  shownFor = question ?? null;
  // Feedback trains this machine's search: the desktop app's own index only.
  $("panel-feedback").hidden = shownFor === null || !desktop;
  for (const b of $("panel-feedback").querySelectorAll("button")) b.setAttribute("aria-pressed", "false");
  if (shownFor !== null && desktop) void api.feedback({ question: shownFor, paths: [p.path], verdict: "opened" }).catch(() => {});
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
  shownFor = null;
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
      toast(desktop ? `Opening ${shown.file_name}…` : `Downloading ${shown.file_name}…`);
    } catch (e) {
      showError(e);
    }
  });
  for (const verdict of ["helpful", "wrong"] as const) {
    $(`panel-${verdict}`).addEventListener("click", async () => {
      if (!shown || shownFor === null) return;
      try {
        await api.feedback({ question: shownFor, paths: [shown.path], verdict });
        for (const b of $("panel-feedback").querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.id === `panel-${verdict}`));
        toast(verdict === "helpful" ? "Thanks: kept for questions like this." : "Thanks: this source will count less for questions like this.");
      } catch (e) {
        showError(e);
      }
    });
  }
  $("panel-reveal").addEventListener("click", async () => {
    if (!shown) return;
    try {
      await api.revealFile(shown.path);
    } catch (e) {
      showError(e);
    }
  });
}
