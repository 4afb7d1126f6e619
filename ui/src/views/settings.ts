// The Settings view: models (with the answer model picker), answers and search, indexing, a team
// server to ask instead, where the data lives, rebuild.
import { api, type AdapterStatus, type EmbedderFit, type ModelReport, type SearchMode, type Settings, type TuneStep } from "../api";
import { $, describeShares, el, fileName, showError, toast } from "../dom";
import { chooseHouseStyle, chooseModel, refreshStatus } from "./folders";
import { describeStep, modelRows, onModelReport, refreshModels } from "./models";
import { state } from "../state";

let loaded: Settings | null = null;
const MB = 1024 * 1024;

function field<T extends HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(name: string): T {
  return $("settings-form").querySelector(`[name="${name}"]`) as T;
}

function num(name: string): number {
  return Number(field<HTMLInputElement>(name).value || "0");
}

export async function loadSettings() {
  try {
    const [s, info] = await Promise.all([api.settings(), api.appInfo()]);
    loaded = s;
    field<HTMLInputElement>("llm").value = s.llm ?? "";
    $("lora-now").textContent = s.llm_lora ? `${fileName(s.llm_lora)} (strength ${s.llm_lora_scale})` : "None";
    $("remove-lora").hidden = !s.llm_lora;
    field<HTMLInputElement>("embedder").value = s.embedder ?? "";
    field<HTMLInputElement>("embedder_by_language").checked = s.embedder_by_language;
    field<HTMLInputElement>("gpu_layers").value = String(s.gpu_layers);
    field<HTMLInputElement>("threads").value = String(s.threads);
    field<HTMLInputElement>("context_size").value = String(s.context_size);
    field<HTMLInputElement>("sources").value = String(s.sources);
    field<HTMLSelectElement>("search_mode").value = s.search_mode;
    field<HTMLTextAreaElement>("exclude").value = s.exclude.join("\n");
    field<HTMLInputElement>("max_file_size_mb").value = String(Math.round(s.max_file_size / MB));
    field<HTMLInputElement>("ocr_languages").value = s.ocr_languages.join("+");
    field<HTMLInputElement>("learn_after_idle_minutes").value = String(Math.round(s.learn_after_idle_secs / 60));
    field<HTMLInputElement>("learn_questions_per_day").value = String(s.learn_questions_per_day);
    field<HTMLInputElement>("learn_on_battery").checked = s.learn_on_battery;
    void showOcrStatus();
    $("data-dir").textContent = info.data_dir;
    $("data-dir-source").textContent = info.data_dir_from_env ? "(from BRAIN_DATA_DIR)" : "(default)";
    $("models-dir").textContent = info.models_dir;
    $("models-dir-source").textContent = info.models_dir_from_env ? "(from BRAIN_MODELS_DIR)" : "(default)";
    $("settings-saved").textContent = "";
    void showAdapter();
    void refreshModels();
  } catch (e) {
    showError(e);
  }
}

/** The languages of the documents and of the last questions, and whether the embedder reads them (from `status`). */
function showLanguages() {
  const l = state.status?.languages;
  if (!l || (!l.profile.told && !l.questions.told)) {
    $("languages-status").textContent = "";
    return;
  }
  const parts = [];
  if (l.profile.told) parts.push(`Your documents: ${describeShares(l.profile.languages)}`);
  if (l.questions.told) parts.push(`your last ${l.questions.told} questions: ${describeShares(l.questions.languages)}`);
  const fit: Record<EmbedderFit, string> = {
    reads: "the embedder in use reads them.",
    chosen_for_them: "the multilingual embedder was chosen for these languages.",
    not_fetched: "the default embedder reads English only; fetching the default models adds the multilingual one, which the next indexing then uses.",
    kept_by_user: "the embedder chosen here reads English only; the multilingual one (multilingual-e5-small) reads them all.",
  };
  const said = parts.join("; ");
  $("languages-status").textContent = `${said.charAt(0).toUpperCase()}${said.slice(1)} — ${fit[l.embedder]}`;
}

/** Which OCR languages are installed and read, or why OCR is not available (from `status`). */
async function showOcrStatus() {
  await refreshStatus();
  showLanguages();
  const ocr = state.status?.ocr;
  if (!ocr) return;
  $("ocr-status").textContent = ocr.problem
    ? `OCR: ${ocr.problem}`
    : `OCR reads ${ocr.languages.join(" + ")}. Installed languages: ${ocr.installed.join(", ") || "none"}.`;
}

/** Tell the user when the engine says the index must be rebuilt (a new embedding model). */
async function warnIfRebuildNeeded() {
  await refreshStatus();
  if (state.status?.rebuild_needed) toast("The embedding model changed: rebuild the index to use it.");
}

// ---------- models: the list and the answer model picker ----------

function renderModels(report: ModelReport) {
  $("settings-models").replaceChildren(modelRows(report));
  renderLlmChoice(report);
}

function renderLlmChoice(report: ModelReport) {
  const select = $<HTMLSelectElement>("llm-choice");
  select.replaceChildren();
  for (const m of report.llms) {
    const state = m.state === "ok" ? "" : m.state === "missing" ? " (not fetched)" : " (damaged)";
    const option = el("option", { value: m.name }, `${m.title}${m.default ? " — default" : ""}${state}`);
    option.selected = m.in_use;
    select.append(option);
  }
  if (!report.llms.some((m) => m.in_use)) {
    const custom = el("option", { value: "" }, `Your file: ${fileName(report.llm.path)}`);
    custom.selected = true;
    select.append(custom);
  }
  const chosen = report.llms.find((m) => m.name === select.value);
  $("fetch-llm").hidden = !chosen || chosen.state === "ok";
  $("llm-choice-note").textContent = chosen ? `${chosen.license}, ${Math.round(Number(chosen.size) / (1024 * 1024))} MB` : "";
}

function setUpLlmChoice() {
  const select = $<HTMLSelectElement>("llm-choice");
  select.addEventListener("change", async () => {
    const report = await api.models().catch(() => null);
    const chosen = report?.llms.find((m) => m.name === select.value);
    if (!chosen) return;
    if (chosen.state !== "ok") {
      $("fetch-llm").hidden = false;
      $("llm-choice-note").textContent = `${chosen.title} is not on this computer yet: fetch it first.`;
      return;
    }
    try {
      renderLlmChoice(await api.useLlm(chosen.name));
      toast(`Answers now come from ${chosen.title}.`);
    } catch (e) {
      showError(e);
    }
  });
  $("fetch-llm").addEventListener("click", async () => {
    const name = select.value;
    const button = $<HTMLButtonElement>("fetch-llm");
    button.disabled = true;
    try {
      await api.fetchModels(name, (s) => ($("llm-choice-note").textContent = describeStep(s)));
      renderLlmChoice(await api.useLlm(name));
      toast("The answer model is ready.");
    } catch (e) {
      showError(e);
    } finally {
      button.disabled = false;
    }
  });
}

/** The team server's address is this window's own preference (the engine has no use for it). */
const TEAM_SERVER_KEY = "team-server-url";

function setUpTeamServer() {
  const input = $<HTMLInputElement>("team-server-url");
  input.value = localStorage.getItem(TEAM_SERVER_KEY) ?? "";
  $("open-team-server").addEventListener("click", async () => {
    try {
      await api.openTeamServer(input.value);
      localStorage.setItem(TEAM_SERVER_KEY, input.value.trim());
    } catch (e) {
      showError(e);
    }
  });
}

export function setUpSettings() {
  setUpTuning();
  setUpTeamServer();
  onModelReport(renderModels);
  setUpLlmChoice();
  $("settings-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!loaded) return;
    const text = (name: string) => field<HTMLInputElement>(name).value.trim() || null;
    const s: Settings = {
      ...loaded,
      llm: text("llm"),
      embedder: text("embedder"),
      embedder_by_language: field<HTMLInputElement>("embedder_by_language").checked,
      gpu_layers: num("gpu_layers"),
      threads: num("threads"),
      context_size: num("context_size"),
      sources: num("sources"),
      search_mode: field<HTMLSelectElement>("search_mode").value as SearchMode,
      exclude: field<HTMLTextAreaElement>("exclude").value.split("\n").map((x) => x.trim()).filter(Boolean),
      max_file_size: Math.max(1, num("max_file_size_mb")) * MB,
      ocr_languages: field<HTMLInputElement>("ocr_languages").value.split(/[+,\s]+/).map((x) => x.trim()).filter(Boolean),
      learn_after_idle_secs: num("learn_after_idle_minutes") * 60,
      learn_questions_per_day: num("learn_questions_per_day"),
      learn_on_battery: field<HTMLInputElement>("learn_on_battery").checked,
    };
    try {
      loaded = await api.saveSettings(s);
      $("settings-saved").textContent = "Saved.";
      void showOcrStatus();
      void refreshModels();
      await warnIfRebuildNeeded();
    } catch (err) {
      showError(err);
    }
  });
  $("choose-llm").addEventListener("click", () => void chooseModel("llm", loadSettings));
  $("choose-lora").addEventListener("click", () => void chooseHouseStyle(null, loadSettings));
  $("remove-lora").addEventListener("click", async () => {
    try {
      await api.useLora(null, null, 1);
      toast("The answer model writes without a LoRA adapter again.");
      await loadSettings();
    } catch (e) {
      showError(e);
    }
  });
  $("choose-embedder").addEventListener("click", () => void chooseModel("embedder", async () => {
    await loadSettings();
    await warnIfRebuildNeeded();
  }));
  $("rebuild").addEventListener("click", async () => {
    if (!confirm("Delete the index and index every folder again? Searching works again when it is done.")) return;
    try {
      toast("Rebuilding the index…");
      await api.rebuildIndex();
      toast("The index was rebuilt.");
      await refreshStatus();
    } catch (e) {
      showError(e);
    }
  });
}

// ---- Learn the company's language (the query adapter) ----

function describeAdapter(a: AdapterStatus | null): string {
  if (!a) return "Not learned yet: search uses the embedding model as it is.";
  const verdict = a.in_use ? "In use" : "Not used";
  return `${verdict}: ${a.reason}. Learned from ${a.trained_pairs} pairs, judged on ${a.held_out_pairs}.`;
}

function describeTuneStep(s: TuneStep): string {
  switch (s.step) {
    case "questions":
      return `Writing questions ${s.done} of ${s.total}…`;
    case "preparing":
      return `Finding the passages of ${s.pairs} pairs…`;
    case "training":
      return `Learning from ${s.pairs} pairs…`;
    case "judging":
      return `Checking it on ${s.pairs} held-back questions…`;
  }
}

export async function showAdapter() {
  try {
    $("adapter-status").textContent = describeAdapter((await api.status()).adapter ?? null);
  } catch (e) {
    showError(e);
  }
}

function setUpTuning() {
  $("tune-now").addEventListener("click", async () => {
    const questions = Math.max(0, Number($<HTMLInputElement>("tune-questions").value || "0"));
    $("tune-now").hidden = true;
    $("tune-stop").hidden = false;
    $("tune-progress").textContent = "Starting…";
    try {
      const report = await api.tune(questions, (step) => ($("tune-progress").textContent = describeTuneStep(step)));
      const p = report.pairs;
      $("tune-progress").textContent = `Done: ${report.questions_written} new questions; pairs kept: ${p.questions} questions, ${p.feedback} verdicts, ${p.opened} opened sources, ${p.labelled} labelled.`;
      $("adapter-status").textContent = describeAdapter(report.adapter);
    } catch (e) {
      $("tune-progress").textContent = "";
      showError(e);
    } finally {
      $("tune-now").hidden = false;
      $("tune-stop").hidden = true;
    }
  });
  $("tune-stop").addEventListener("click", () => void api.stopTuning());
  $("tune-remove").addEventListener("click", async () => {
    try {
      const removed = await api.removeAdapter();
      toast(removed ? "Search uses the embedding model as it is again." : "Nothing was learned yet.");
      await showAdapter();
    } catch (e) {
      showError(e);
    }
  });
}
