// The document a passage stands in, shown in the side panel with the passage marked: a PDF page
// by page (pages drawn by the Rust side, boxes over the passage's lines), a sheet as a table with
// the cited rows marked, anything else as its text with headings. Inside the passage, the
// sentences an answer's claims rest on (the check's evidence) are marked more strongly and shown
// first. Everything arrives as text or a PNG and is put into the page as text or as an image:
// nothing of a document runs here.
import { api, type DocumentView, type MarkBox, type PageView, type PassageView } from "./api";
import { $, el, explain } from "./dom";

/** Bumped for every passage shown: answers for an earlier one are dropped. */
let shownId = 0;

function current(id: number) {
  return id === shownId;
}

export function clearViewer() {
  shownId++;
  $("viewer-body").replaceChildren();
  $("viewer-status").textContent = "";
}

/** Show `p` in its document; `evidence`: the sentences of it an answer rests on. */
export async function showInDocument(p: PassageView, evidence: string[] = []) {
  const id = ++shownId;
  const body = $("viewer-body");
  const status = $("viewer-status");
  body.replaceChildren();
  body.dataset.kind = "";
  body.dataset.shown = "false";
  status.textContent = "Opening the document…";
  let view: DocumentView;
  try {
    view = await api.viewDocument(p.path, p.location, p.text, evidence);
  } catch (e) {
    if (current(id)) status.textContent = `This file cannot be shown here: ${explain(e)}`;
    return;
  }
  if (!current(id)) return;
  body.dataset.kind = view.content.kind;
  switch (view.content.kind) {
    case "text":
      status.textContent = view.content.found ? `${view.format}, the passage marked` : `${view.format}: the passage is no longer in this file (changed since it was indexed)`;
      body.append(...view.content.blocks.map((b) => {
        const node = b.heading ? el("h3") : el("p");
        for (const piece of b.pieces) {
          const kind = piece.evidence ? "cited evidence" : "cited";
          node.append(piece.cited || piece.evidence ? el("mark", { class: kind }, piece.text) : document.createTextNode(piece.text));
        }
        return node;
      }));
      recentre();
      break;
    case "sheet": {
      const c = view.content;
      status.textContent = `Sheet ${c.sheet}` + (c.rows_before || c.rows_after ? ` (${c.rows_before} rows above and ${c.rows_after} below not shown)` : "");
      const table = el("table", { class: "sheet" });
      const head = el("tr");
      head.append(el("th", {}, "#"), ...c.columns.map((name) => el("th", {}, name)));
      table.append(el("thead"), el("tbody"));
      table.tHead!.append(head);
      for (const row of c.rows) {
        const tr = el("tr", row.cited ? { class: row.evidence ? "cited evidence" : "cited" } : {});
        tr.append(el("td", { class: "row-number" }, String(row.row)), ...row.cells.map((cell) => el("td", {}, cell)));
        table.tBodies[0].append(tr);
      }
      body.append(table);
      recentre();
      break;
    }
    case "pages":
      showPages(id, p, evidence, view.content.pages, view.content.cited);
      break;
  }
}

/** Scroll the viewer to the passage again (after the panel changed its width), and say it is shown. */
export function recentre() {
  const body = $("viewer-body");
  const first = (selector: string) => body.querySelector(selector);
  scrollTo(body, first(".evidence") ?? first("mark.cited, tr.cited, .page .mark") ?? first(".page.cited"));
  body.dataset.shown = "true";
}

/** Scroll the viewer (not the window) so that `target` stands in its middle. */
function scrollTo(container: HTMLElement, target: Element | null) {
  if (!target) return;
  const box = target.getBoundingClientRect();
  const outer = container.getBoundingClientRect();
  container.scrollTop += box.top - outer.top - (outer.height - box.height) / 2;
}

/** Every page as a placeholder, drawn when it scrolls near; the cited page first, in view. */
function showPages(id: number, p: PassageView, evidence: string[], pages: number, cited: number) {
  const body = $("viewer-body");
  $("viewer-status").textContent = `PDF, page ${cited} of ${pages}`;
  const drawn = new Set<number>();
  const placeholders = new Map<number, HTMLElement>();
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) if (entry.isIntersecting) draw(Number((entry.target as HTMLElement).dataset.page));
  }, { root: body, rootMargin: "600px 0px" });
  const draw = async (n: number) => {
    if (drawn.has(n) || !current(id)) return;
    drawn.add(n);
    const holder = placeholders.get(n)!;
    try {
      showPage(holder, n === cited ? await api.viewPage(p.path, n, p.text, evidence) : await api.viewPage(p.path, n, "", []));
    } catch (e) {
      if (current(id)) holder.append(el("p", { class: "muted" }, `Page ${n} cannot be shown: ${explain(e)}`));
    }
  };
  for (let n = 1; n <= pages; n++) {
    const holder = el("div", { class: "page", "data-page": String(n), "aria-label": `Page ${n}` });
    placeholders.set(n, holder);
    body.append(holder);
  }
  // The cited page first, scrolled to its first box; then its neighbours as they come near.
  placeholders.get(cited)!.classList.add("cited");
  void draw(cited).then(() => {
    if (!current(id)) return;
    recentre();
    for (const holder of placeholders.values()) observer.observe(holder);
  });
}

function showPage(holder: HTMLElement, page: PageView) {
  holder.style.aspectRatio = `${page.width} / ${page.height}`;
  holder.classList.toggle("ocr", page.ocr);
  holder.dataset.marked = page.marked_text;
  holder.append(el("img", { src: `data:image/png;base64,${page.png}`, alt: `Page ${page.page}` }));
  const draw = (m: MarkBox, kind: string) => {
    const mark = el("div", { class: kind, title: page.marked_text });
    mark.style.left = `${m.left * 100}%`;
    mark.style.top = `${m.top * 100}%`;
    mark.style.width = `${m.width * 100}%`;
    mark.style.height = `${m.height * 100}%`;
    holder.append(mark);
  };
  for (const m of page.marks) draw(m, "mark");
  for (const m of page.evidence_marks) draw(m, "mark evidence");
}
