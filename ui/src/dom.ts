// Small DOM helpers, notices and error messages shared by every view. Untrusted text (documents,
// answers, file names, error messages) is only ever put into the page as text (textContent);
// the one exception is the `html` of answers and passages, produced by brain-render on the Rust
// side (sanitised Markdown: no raw HTML, no images, no scripts).
import { isErrorPayload, type LanguageShare } from "./api";

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

export function toast(message: string, kind: "error" | "info" = "info") {
  const t = el("div", { class: `toast ${kind}` }, message);
  $("toasts").append(t);
  setTimeout(() => t.remove(), kind === "error" ? 9000 : 4000);
}

/** What to tell the user for an error, by its typed code. */
export function explain(e: unknown): string {
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

export function showError(e: unknown) {
  toast(explain(e), "error");
}

export function fileName(path: string) {
  return path.split(/[\\/]/).pop() || path;
}

/** "German 62 %, English 35 %, French 3 %": the first three shares, rounded (as the engine's `describe_shares`). */
export function describeShares(shares: LanguageShare[]): string {
  return shares.slice(0, 3).map((l) => `${l.name} ${Math.round(l.share * 100)} %`).join(", ");
}
