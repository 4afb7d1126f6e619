// The Ask view: conversations, the question box, answers that stream as they are generated
// (tokens appended as text, the whole answer rendered once it is done) with citation chips and
// the sources they point to.
import { api, desktop, isErrorPayload, type AnswerView, type CitationView, type ConversationSummary } from "../api";
import { $, el, explain, showError, toast } from "../dom";
import { closePanel, openPanel, panelIsOpen } from "../panel";

let conversationId: string | null = null;
let asking = false;
/** Citations of each rendered answer, by answer element. */
const citationsOf = new WeakMap<Element, CitationView[]>();
/** The question each answer element answers. */
const questionOf = new WeakMap<Element, string>();

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

/** Yes / No ("did this answer help?") under an answer: the person's verdict on its sources (those it cites, or all it was
 * given), kept by the engine as pairs its tuning learns from; the last one given counts. */
function feedbackRow(question: string, citations: CitationView[]): HTMLElement {
  const row = el("div", { class: "feedback" });
  const cited = citations.filter((c) => c.cited);
  const paths = [...new Set((cited.length ? cited : citations).map((c) => c.path))];
  // Feedback trains this machine's search: the desktop app's own index only.
  if (paths.length === 0 || !desktop) return row;
  row.append(el("span", { class: "muted small" }, "Did this answer help?"));
  // Words, not emoji: a desktop without an emoji font shows nothing for 👍.
  for (const [verdict, label, text] of [["helpful", "It helped", "Yes"], ["wrong", "It did not help", "No"]] as const) {
    const button = el("button", { type: "button", class: `verdict ${verdict}`, "aria-label": label, "aria-pressed": "false", title: label }, text);
    button.addEventListener("click", async () => {
      try {
        await api.feedback({ question, paths, verdict });
        for (const b of row.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b === button));
        toast(verdict === "helpful" ? "Thanks: kept to make search better at questions like this." : "Thanks: these sources will count less for questions like this.");
      } catch (e) {
        showError(e);
      }
    });
    row.append(button);
  }
  return row;
}

/** What the check against the sources found, said above the answer when it matters. */
function checkNote(answer: AnswerView): string | null {
  if (answer.stop === "unsupported") return "The sources do not support what the model wrote, so here are the closest passages instead.";
  if (answer.unsupported > 0) return `${answer.unsupported} of ${answer.claims} sentence(s) are not in your documents (marked below): check them before relying on them.`;
  return null;
}

function renderAnswer(container: HTMLElement, answer: AnswerView) {
  const body = container.querySelector(".answer-body") as HTMLElement;
  container.querySelector(".check-note")?.remove();
  const note = checkNote(answer);
  if (note) container.insertBefore(el("p", { class: "check-note warn small", role: "note" }, note), body);
  body.innerHTML = answer.html; // sanitised on the Rust side
  body.classList.toggle("not-found", !answer.found);
  container.querySelector(".sources")?.remove();
  container.append(sourcesRow(answer.citations));
  container.querySelector(".feedback")?.remove();
  const question = questionOf.get(container);
  if (question !== undefined) container.append(feedbackRow(question, answer.citations));
  if (answer.stop === "cancelled") container.append(el("p", { class: "muted small" }, "Stopped."));
  citationsOf.set(container, answer.citations);
}

function addTurn(question: string): HTMLElement {
  $("chat-empty")?.remove();
  const messages = $("messages");
  messages.append(el("div", { class: "question" }, question));
  const answer = el("div", { class: "answer" });
  questionOf.set(answer, question);
  const body = el("div", { class: "answer-body rendered" });
  body.append(el("span", { class: "thinking" }, "Searching your documents…"));
  answer.append(body);
  messages.append(answer);
  messages.scrollTop = messages.scrollHeight;
  return answer;
}

async function send() {
  const box = $<HTMLTextAreaElement>("question");
  const question = box.value.trim();
  if (!question || asking) return;
  box.value = "";
  setAsking(true);
  const container = addTurn(question);
  const body = container.querySelector(".answer-body") as HTMLElement;
  const messages = $("messages");
  // The streamed text, appended as it comes: plain text until the answer is done.
  let streamed: Text | null = null;
  let rendered = false;
  try {
    const outcome = await api.ask(question, conversationId, (ev) => {
      if (ev.kind === "sources") {
        citationsOf.set(container, ev.citations);
      } else if (ev.kind === "token") {
        if (!streamed) {
          body.replaceChildren();
          streamed = document.createTextNode("");
          body.append(streamed);
          body.classList.add("streaming");
        }
        streamed.appendData(ev.text);
        messages.scrollTop = messages.scrollHeight;
      } else if (ev.kind === "done") {
        body.classList.remove("streaming");
        renderAnswer(container, ev.answer);
        rendered = true;
      }
    });
    body.classList.remove("streaming");
    if (!rendered) renderAnswer(container, outcome.answer);
    conversationId = outcome.conversation.id;
    await loadConversations();
  } catch (e) {
    body.classList.remove("streaming");
    if (streamed && isErrorPayload(e) && e.code === "cancelled") {
      // Stopped in a browser: what came so far stays, as plain text (the server renders answers).
      container.append(el("p", { class: "muted small" }, "Stopped."));
    } else {
      body.textContent = explain(e);
      body.classList.add("error");
    }
  } finally {
    setAsking(false);
    messages.scrollTop = messages.scrollHeight;
    box.focus();
  }
}

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

export function setUpAsk() {
  $("messages").addEventListener("click", (e) => {
    const chip = (e.target as Element).closest<HTMLElement>("[data-cite]");
    if (!chip) return;
    const answer = chip.closest(".answer");
    const citations = answer ? citationsOf.get(answer) : undefined;
    const n = Number(chip.dataset.cite);
    const c = citations?.find((x) => x.n === n);
    if (c) openPanel(c, `[${n}]`, c.evidence, answer ? questionOf.get(answer) : undefined);
  });
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
    else if (panelIsOpen()) closePanel();
  });
  $("new-conversation").addEventListener("click", newConversation);
}

export { loadConversations };
