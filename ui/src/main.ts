// The window: navigation between the four views, the app-wide safety handlers for links and
// drops, and start-up. Each view lives in `views/`; what they share is in `state.ts`. In a
// browser on a team server only Ask and Search are shown (the index is the server's), after
// signing in.
import { account, desktop, listenTo } from "./api";
import { $, showError, toast } from "./dom";
import { setUpPanel } from "./panel";
import { state, type View } from "./state";
import { loadConversations, setUpAsk } from "./views/ask";
import { addFolders, onIndexEvent, refreshStatus, setUpFolders } from "./views/folders";
import { refreshModels } from "./views/models";
import { setUpSignIn, signIn } from "./signin";
import { setUpSearch } from "./views/search";
import { loadSettings, setUpSettings } from "./views/settings";

function show(view: View) {
  state.view = view;
  for (const v of ["ask", "search", "folders", "settings"] as View[]) {
    $(`view-${v}`).hidden = v !== view;
    $(`nav-${v}`).setAttribute("aria-current", v === view ? "page" : "false");
  }
  if (view === "folders") void refreshStatus();
  if (view === "settings") void loadSettings();
  if (view === "ask") $("question").focus();
  if (view === "search") $("search-query").focus();
}

document.querySelectorAll<HTMLButtonElement>("button.nav").forEach((b) => b.addEventListener("click", () => show(b.dataset.view as View)));

// Links inside rendered content never navigate or open anything.
document.addEventListener(
  "click",
  (e) => {
    const link = (e.target as Element | null)?.closest?.("a");
    if (link) {
      e.preventDefault();
      e.stopPropagation();
      const href = link.getAttribute("href");
      toast(href ? `Links in documents are not opened: ${href}` : "This link was removed for safety.");
    }
  },
  true,
);
document.addEventListener(
  "auxclick",
  (e) => {
    if ((e.target as Element | null)?.closest?.("a")) e.preventDefault();
  },
  true,
);
// Dropping something onto the page must not navigate to it (the Rust side reports dropped paths).
document.addEventListener("dragover", (e) => e.preventDefault());
document.addEventListener("drop", (e) => e.preventDefault());

/** A browser on a team server: the person signs in, and asks or searches what they may read. */
async function startInBrowser() {
  document.body.classList.add("web");
  for (const id of ["nav-folders", "nav-settings", "panel-reveal"]) $(id).hidden = true;
  $("panel-open").textContent = "Download";
  setUpSignIn();
  await signIn();
  try {
    const readable = await account.readable();
    $("activity").textContent = `${readable.documents} document${readable.documents === 1 ? "" : "s"} you may read`;
  } catch (e) {
    showError(e);
  }
  await loadConversations();
  show("ask");
  document.body.dataset.ready = "true";
}

async function start() {
  setUpPanel();
  setUpAsk();
  setUpSearch();
  if (!desktop) return startInBrowser();
  setUpFolders();
  setUpSettings();
  await listenTo("index-event", onIndexEvent);
  await listenTo("watch-failed", showError);
  await listenTo("paths-dropped", (paths) => {
    show("folders");
    void addFolders(paths);
  });
  await loadConversations();
  await refreshStatus();
  const report = await refreshModels();
  // First run: nothing to ask about yet, or no models: start where that is fixed.
  show(!state.status?.folders.length || (report && !report.ready) ? "folders" : "ask");
  document.body.dataset.ready = "true";
}

void start();
