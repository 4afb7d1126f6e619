// The models as the engine last reported them, for the views that show them: the Folders view's
// card (while a model is missing) and Settings (the list and the answer model picker). Each view
// registers how it renders a report; `refreshModels` asks the engine and hands every view the answer.
import { api, type FetchStep, type ModelReport } from "../api";
import { el, showError } from "../dom";

const MODEL_LABELS: Record<string, string> = { llm: "Answer model", embedder: "Embedding model", onnxruntime: "ONNX Runtime" };

export function modelRows(report: ModelReport): HTMLElement {
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

export function describeStep(s: FetchStep): string {
  switch (s.step) {
    case "downloading":
      return `Downloading ${s.package}…`;
    case "installed":
      return `Installed ${s.package}`;
    case "already_present":
      return `${s.package}: present`;
  }
}

const renderers: ((report: ModelReport) => void)[] = [];

/** Render every model report from now on (in the order the views registered). */
export function onModelReport(render: (report: ModelReport) => void) {
  renderers.push(render);
}

export async function refreshModels(): Promise<ModelReport | null> {
  let report: ModelReport;
  try {
    report = await api.models();
  } catch (e) {
    showError(e);
    return null;
  }
  for (const render of renderers) render(report);
  return report;
}
