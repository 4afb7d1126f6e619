// The Search view: document search without the LLM, results that open in the side panel.
import { api, type SearchMode } from "../api";
import { $, el, showError } from "../dom";
import { openPanel } from "../panel";

export function setUpSearch() {
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
}
