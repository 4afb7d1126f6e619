// The Folders view and the sidebar's activity line: registered folders with their progress and
// failures (as the engine reports them per folder), adding folders, and the card that offers to
// fetch or choose the models while one is missing.
import { api, desktop, isErrorPayload, type FolderLora, type IndexEvent, type ModelReport, type Status } from "../api";
import { $, describeShares, el, explain, fileName, showError, toast } from "../dom";
import { state } from "../state";
import { describeStep, modelRows, onModelReport, refreshModels } from "./models";

function renderActivity() {
  const a = $("activity");
  a.replaceChildren();
  const { busy, indexing, status } = state;
  if (busy && indexing.total > 0) {
    a.append(el("div", {}, `Indexing ${indexing.done}/${indexing.total}`));
    const bar = el("progress", { max: String(indexing.total), "aria-label": "Indexing progress" }) as HTMLProgressElement;
    bar.value = indexing.done;
    a.append(bar);
    if (indexing.current) a.append(el("div", { class: "muted small ellipsis" }, fileName(indexing.current)));
    if (indexing.ocr) a.append(el("div", { class: "muted small" }, indexing.ocr));
  } else if (busy) {
    a.append(el("div", {}, "Checking folders…"));
  } else if (status) {
    const f = status.files;
    a.append(el("div", {}, `${f.indexed} files indexed`));
    if (f.failed) a.append(el("div", { class: "warn small" }, `${f.failed} could not be read`));
    if (f.pending) a.append(el("div", { class: "muted small" }, `${f.pending} waiting`));
    if (status.rebuild_needed) a.append(el("div", { class: "warn small" }, "Rebuild the index (Settings)"));
  }
}

/** The folders' own LoRA adapters (house styles), from the settings; none in a browser. */
let folderLoras: FolderLora[] = [];

/** Pick a LoRA adapter with the native picker and apply it to the answer model (`folder` null)
 * or to the answers drawn from `folder`; the model is loaded with it first, so a wrong file is
 * an error and nothing changes. */
export async function chooseHouseStyle(folder: string | null, after: () => Promise<void>) {
  try {
    const picked = await api.pickLoraFile();
    if (!picked) return;
    toast("Loading the answer model with the adapter…");
    await api.useLora(folder, picked, 1);
    toast(folder ? `Answers from ${fileName(folder)} are written with ${fileName(picked)}.` : `The answer model writes with ${fileName(picked)}.`);
    await after();
  } catch (e) {
    showError(e);
  }
}

/** `path` relative to `folder` when it lies strictly inside it, else null (either separator:
 * the app also runs on Windows). */
function pathInside(path: string, folder: string): string | null {
  const base = folder.replace(/[\\/]+$/, "");
  const inside = path.length > base.length + 1 && path.startsWith(base) && (path[base.length] === "/" || path[base.length] === "\\");
  return inside ? path.slice(base.length + 1) : null;
}

function strictlyInside(path: string, folder: string): boolean {
  return pathInside(path, folder) !== null;
}

/** The house styles of folders inside `folder`, each listed under the deepest registered folder
 * that holds it (a registered folder inside another lists its own). */
function subfolderStyles(folder: string, registered: string[]): FolderLora[] {
  return folderLoras.filter(
    (l) => strictlyInside(l.folder, folder) && !registered.some((r) => r !== folder && strictlyInside(r, folder) && (l.folder === r || strictlyInside(l.folder, r))),
  );
}

function plainStyleButton(folder: string, className: string): HTMLElement {
  const plain = el("button", { type: "button", class: className }, "Plain style");
  plain.addEventListener("click", async () => {
    try {
      await api.useLora(folder, null, 1);
      await refreshStatus();
    } catch (e) {
      showError(e);
    }
  });
  return plain;
}

function renderFolders(status: Status) {
  const ul = $("folder-list");
  ul.replaceChildren();
  $("folders-summary").textContent = status.folders.length
    ? `${status.files.indexed} files indexed, ${status.files.pending} pending, ${status.files.failed} failed · ${status.chunks} passages`
    : "No folders yet: add the folders whose documents you want to ask about.";
  for (const f of status.folders) {
    const li = el("li", { class: "card folder", "data-path": f.path });
    const head = el("div", { class: "folder-head" });
    const title = el("div");
    title.append(el("strong", { class: "folder-name" }, fileName(f.path)), el("div", { class: "path" }, f.path));
    const label = !f.present ? "Missing" : f.paused ? "Paused" : f.files.pending > 0 ? (state.busy ? "Indexing" : "Waiting") : "Up to date";
    const badge = el("span", { class: `badge ${label.toLowerCase().replace(/ /g, "-")}` }, label);
    head.append(title, badge);
    const total = f.files.indexed + f.files.failed + f.files.pending;
    const bar = el("progress", { max: String(Math.max(total, 1)), "aria-label": `Progress of ${fileName(f.path)}` }) as HTMLProgressElement;
    bar.value = total ? f.files.indexed + f.files.failed : 1;
    const counts = el("div", { class: "counts" });
    counts.append(
      el("span", { class: "count indexed" }, `${f.files.indexed} indexed`),
      el("span", { class: "count pending" }, `${f.files.pending} pending`),
      el("span", { class: `count failed${f.files.failed ? " warn" : ""}` }, `${f.files.failed} failed`),
    );
    const actions = el("div", { class: "actions" });
    const pause = el("button", { type: "button", class: "pause" }, f.paused ? "Resume" : "Pause");
    pause.addEventListener("click", async () => {
      try {
        if (f.paused) await api.resumeFolder(f.path);
        else await api.pauseFolder(f.path);
        await refreshStatus();
      } catch (e) {
        showError(e);
      }
    });
    const remove = el("button", { type: "button", class: "remove danger" }, "Remove");
    remove.addEventListener("click", async () => {
      if (!confirm(`Stop indexing ${f.path}? Its files leave the index; the files themselves are not touched.`)) return;
      try {
        await api.removeFolder(f.path);
        await refreshStatus();
      } catch (e) {
        showError(e);
      }
    });
    actions.append(pause, remove);
    li.append(head, bar, counts);
    if (desktop) {
      const style = folderLoras.find((l) => l.folder === f.path);
      const houseStyle = el("button", { type: "button", class: "house-style" }, style ? "Other house style…" : "House style…");
      houseStyle.title = "A LoRA adapter the answer model writes with when an answer comes from this folder";
      houseStyle.addEventListener("click", () => void chooseHouseStyle(f.path, refreshStatus));
      // A department's folder often sits inside the one registered (Shared/Legal): its style
      // is chosen here, the folder first, then the adapter; the deepest folder with one wins.
      const subStyle = el("button", { type: "button", class: "subfolder-style" }, "Style of a folder in it…");
      subStyle.title = "A LoRA adapter the answer model writes with when an answer comes from one folder inside this one";
      subStyle.addEventListener("click", async () => {
        try {
          const picked = await api.pickSubfolder(f.path);
          if (picked) await chooseHouseStyle(picked, refreshStatus);
        } catch (e) {
          showError(e);
        }
      });
      actions.prepend(houseStyle, subStyle);
      if (style) {
        actions.prepend(plainStyleButton(f.path, "plain-style"));
        li.append(el("div", { class: "muted small house-style-now" }, `House style: ${fileName(style.lora)} (answers whose best source is here)`));
      }
      const registered = status.folders.map((r) => r.path);
      for (const sub of subfolderStyles(f.path, registered)) {
        const row = el("div", { class: "muted small house-style-sub", "data-folder": sub.folder });
        row.append(el("span", {}, `House style of ${pathInside(sub.folder, f.path)}: ${fileName(sub.lora)} `), plainStyleButton(sub.folder, "plain-style-sub"));
        li.append(row);
      }
    }
    if (f.failures.length) {
      const details = el("details", { class: "failures" });
      details.append(el("summary", {}, `${f.failures.length} file(s) could not be indexed`));
      const list = el("ul");
      for (const x of f.failures) {
        const item = el("li");
        item.append(el("span", { class: "failed-path" }, pathInside(x.path, f.path) ?? x.path), el("span", { class: "reason" }, x.error));
        list.append(item);
      }
      details.append(list);
      li.append(details);
    }
    li.append(actions);
    ul.append(li);
  }
}

let refreshing = false;
let refreshAgain = false;

export async function refreshStatus() {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    state.status = await api.status();
    if (desktop) folderLoras = (await api.settings()).folder_loras;
    renderFolders(state.status);
    renderActivity();
  } catch (e) {
    if (isErrorPayload(e) && e.code === "embedder_changed") showError(e);
  } finally {
    refreshing = false;
    if (refreshAgain) {
      refreshAgain = false;
      setTimeout(() => void refreshStatus(), 300);
    }
  }
}

let refreshTimer: number | undefined;
function refreshSoon() {
  if (refreshTimer !== undefined) return;
  refreshTimer = window.setTimeout(() => {
    refreshTimer = undefined;
    void refreshStatus();
  }, 400);
}

export function onIndexEvent(e: IndexEvent) {
  switch (e.event) {
    case "sync_started":
      state.busy = true;
      state.indexing = { done: 0, total: 0, current: null, ocr: null };
      break;
    case "scanned":
      state.indexing.total = e.queued;
      break;
    case "file_indexing":
      state.indexing.current = e.path;
      state.indexing.ocr = null;
      break;
    case "ocr_page":
      // A long scan visibly advances, page by page.
      state.indexing.current = e.path;
      state.indexing.ocr = `reading page ${e.done} of ${e.pages} (OCR)`;
      break;
    case "progress":
      state.indexing.done = e.done;
      state.indexing.total = e.total;
      break;
    case "idle":
      state.busy = false;
      state.indexing = { done: 0, total: 0, current: null, ocr: null };
      break;
    case "embedder_chosen": {
      // Before the first index is embedded, or after a sync or an answer: the index is then built again.
      state.busy = true;
      const shares = describeShares(e.languages);
      const whose = e.for_questions ? `Your last questions are ${shares}` : `Your documents are ${shares}`;
      toast(
        e.built_again
          ? `${whose}: the index is built again with the multilingual embedder (${e.embedder}), which finds passages in any language by meaning; searches use the current one until it is done.`
          : `${whose}: they are indexed with the multilingual embedder (${e.embedder}).`,
      );
      break;
    }
    case "sync_failed":
      state.busy = false;
      toast(explain({ code: e.code, message: e.error }), "error");
      break;
    default:
      break;
  }
  renderActivity();
  refreshSoon();
}

export async function addFolders(paths: string[]) {
  if (!paths.length) return;
  try {
    const added = await api.addFolders(paths);
    toast(added.length ? `Added ${added.map(fileName).join(", ")}; indexing starts now.` : "Already added.");
    await refreshStatus();
  } catch (e) {
    showError(e);
  }
}

// ---------- the models card (shown while a model is missing) ----------

async function fetchDefaults(button: HTMLButtonElement, log: HTMLElement) {
  button.disabled = true;
  log.textContent = "Fetching the default models…";
  try {
    const report = await api.fetchModels(null, (s) => (log.textContent = describeStep(s)));
    log.textContent = report.ready ? "All models are ready." : "Some models are still missing.";
    await refreshModels();
  } catch (e) {
    log.textContent = "";
    showError(e);
  } finally {
    button.disabled = false;
  }
}

/** Choose a model file or folder with the native picker and use it from now on. */
export async function chooseModel(kind: "llm" | "embedder", after?: () => Promise<void>) {
  try {
    const picked = kind === "llm" ? await api.pickModelFile() : await api.pickModelFolder();
    if (!picked) return;
    const s = await api.settings();
    s[kind] = picked;
    await api.saveSettings(s);
    toast(kind === "llm" ? "Answer model changed." : "Embedding model changed.");
    await refreshModels();
    await refreshStatus();
    if (after) await after();
  } catch (e) {
    showError(e);
  }
}

function renderModelsCard(report: ModelReport) {
  const card = $("models-card");
  card.hidden = report.ready;
  card.replaceChildren();
  if (!report.ready) {
    card.append(el("h2", {}, "Models"), el("p", {}, "Answering needs a language model and an embedding model on this computer."));
    card.append(modelRows(report));
    const row = el("div", { class: "row" });
    const fetchButton = el("button", { type: "button", class: "primary", id: "fetch-models" }, "Fetch the default models");
    const log = el("span", { class: "muted", role: "status" });
    fetchButton.addEventListener("click", () => void fetchDefaults(fetchButton, log));
    const gguf = el("button", { type: "button" }, "Choose a GGUF file…");
    gguf.addEventListener("click", () => void chooseModel("llm"));
    const emb = el("button", { type: "button" }, "Choose an embedding model folder…");
    emb.addEventListener("click", () => void chooseModel("embedder"));
    row.append(fetchButton, gguf, emb, log);
    card.append(row, el("p", { class: "muted small" }, `Models folder: ${report.models_dir}`));
  }
}

export function setUpFolders() {
  onModelReport(renderModelsCard);
  $("add-folder-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $<HTMLInputElement>("folder-path");
    const path = input.value.trim();
    if (!path) return;
    await addFolders([path]);
    input.value = "";
  });
  $("browse-folder").addEventListener("click", async () => {
    try {
      const picked = await api.pickFolders();
      if (picked) await addFolders(picked);
    } catch (e) {
      showError(e);
    }
  });
}
