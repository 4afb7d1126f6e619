// Everything the window asks of the engine, over one of two transports with the same calls:
// - in the desktop app, Tauri's IPC (the app's commands and events);
// - in a browser, `brain serve`'s HTTP API (the `/api/ui/` routes return the same screen types),
//   as the person signed in: a session or API token in this tab's sessionStorage.
// Every type here comes from `bindings.ts`, which is generated from the Rust types
// (src-tauri/src/bindings.rs), and so do the command and event names; errors arrive as
// `{code, message}` either way.
import { Channel, type InvokeArgs, invoke as invokeTauri } from "@tauri-apps/api/core";
import { type UnlistenFn, listen } from "@tauri-apps/api/event";
import type {
  AppEvents,
  AppInfo,
  AskEvent,
  AskOutcome,
  CommandName,
  ConversationSummary,
  ConversationView,
  DocumentView,
  ErrorCode,
  Feedback,
  FetchStep,
  Location,
  ModelReport,
  PageView,
  ReadableStatus,
  SearchMode,
  SearchResultView,
  ServerErrorCode,
  Settings,
  SignedIn,
  Status,
  SyncSummary,
  TuneReport,
  TuneStep,
  WhoAmI,
} from "./bindings";

export type * from "./bindings";

/** An error from either transport: the engine's codes, or the server's own. */
export type ApiError = { code: ErrorCode | ServerErrorCode; message: string };

export function isErrorPayload(e: unknown): e is ApiError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

/** True inside the desktop app's own window; false in a browser on a team server — and in the
 * app's window onto a team server, which gets no command of the app (Tauri's own page is
 * served as tauri://localhost, or http://tauri.localhost on Windows). */
export const desktop =
  typeof window !== "undefined" && "__TAURI_INTERNALS__" in window && (location.protocol === "tauri:" || location.hostname === "tauri.localhost");

// ---- the desktop app: Tauri's IPC ----

/** Only the app's commands can be invoked: a name missing from the Rust list fails `tsc`. */
function invoke<T>(command: CommandName, args?: InvokeArgs): Promise<T> {
  return invokeTauri<T>(command, args);
}

/** Listen for one of the events the app sends, with its payload's type (none in a browser). */
export function listenTo<E extends keyof AppEvents>(event: E, handler: (payload: AppEvents[E]) => void): Promise<UnlistenFn> {
  if (!desktop) return Promise.resolve(() => {});
  return listen<AppEvents[E]>(event, (e) => handler(e.payload));
}

function channel<T>(on: (message: T) => void): Channel<T> {
  const c = new Channel<T>();
  c.onmessage = on;
  return c;
}

const ipc = {
  appInfo: () => invoke<AppInfo>("app_info"),
  status: () => invoke<Status>("status"),
  addFolders: (paths: string[]) => invoke<string[]>("add_folders", { paths }),
  pickFolders: () => invoke<string[] | null>("pick_folders"),
  removeFolder: (path: string) => invoke<string>("remove_folder", { path }),
  pauseFolder: (path: string) => invoke<string>("pause_folder", { path }),
  resumeFolder: (path: string) => invoke<string>("resume_folder", { path }),
  rebuildIndex: () => invoke<SyncSummary>("rebuild_index"),
  models: () => invoke<ModelReport>("models"),
  fetchModels: (llm: string | null, onProgress: (s: FetchStep) => void) => invoke<ModelReport>("fetch_models", { llm, onProgress: channel(onProgress) }),
  useLlm: (model: string) => invoke<ModelReport>("use_llm", { model }),
  pickModelFile: () => invoke<string | null>("pick_model_file"),
  pickModelFolder: () => invoke<string | null>("pick_model_folder"),
  useLora: (folder: string | null, lora: string | null, scale: number) => invoke<Settings>("use_lora", { folder, lora, scale }),
  pickLoraFile: () => invoke<string | null>("pick_lora_file"),
  pickSubfolder: (inside: string) => invoke<string | null>("pick_subfolder", { inside }),
  settings: () => invoke<Settings>("settings"),
  saveSettings: (settings: Settings) => invoke<Settings>("save_settings", { settings }),
  ask: (question: string, conversation: string | null, onEvent: (e: AskEvent) => void) =>
    invoke<AskOutcome>("ask", { question, conversation, onEvent: channel(onEvent) }),
  stop: () => invoke<boolean>("stop"),
  conversations: () => invoke<ConversationSummary[]>("conversations"),
  conversation: (id: string) => invoke<ConversationView>("conversation", { id }),
  deleteConversation: (id: string) => invoke<null>("delete_conversation", { id }),
  search: (query: string, mode: SearchMode | null) => invoke<SearchResultView[]>("search", { query, mode, k: 20 }),
  openFile: (path: string, page: number | null) => invoke<null>("open_file", { path, page }),
  revealFile: (path: string) => invoke<null>("reveal_file", { path }),
  viewDocument: (path: string, location: Location, passage: string, evidence: string[]) =>
    invoke<DocumentView>("view_document", { path, location, passage, evidence }),
  viewPage: (path: string, page: number, passage: string, evidence: string[]) => invoke<PageView>("view_page", { path, page, passage, evidence }),
  feedback: (feedback: Feedback) => invoke<number>("feedback", { feedback }),
  tune: (questions: number, onProgress: (s: TuneStep) => void) => invoke<TuneReport>("tune", { questions, onProgress: channel(onProgress) }),
  stopTuning: () => invoke<boolean>("stop_tuning"),
  removeAdapter: () => invoke<boolean>("remove_adapter"),
  openTeamServer: (url: string) => invoke<null>("open_team_server", { url }),
};

// ---- a browser: brain serve's HTTP API ----

const TOKEN_KEY = "corporate-brain-token";
let token: string | null = typeof sessionStorage === "undefined" ? null : sessionStorage.getItem(TOKEN_KEY);
let signInNeeded: () => void = () => {};
/** The answer being received, for Stop. */
let answering: AbortController | null = null;

/** Called when the server refuses the credentials (none yet, or a session that expired). */
export function onSignInNeeded(handler: () => void) {
  signInNeeded = handler;
}

function useToken(t: string | null) {
  token = t;
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(json: boolean): Record<string, string> {
  const h: Record<string, string> = {};
  if (token) h.Authorization = `Bearer ${token}`;
  if (json) h["Content-Type"] = "application/json";
  return h;
}

async function send(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, { method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (e) {
    if (signal?.aborted) throw { code: "cancelled", message: "Stopped." } satisfies ApiError;
    throw { code: "internal", message: `The server cannot be reached: ${e}` } satisfies ApiError;
  }
  if (response.ok) return response;
  let failure: ApiError = { code: "internal", message: `The server answered ${response.status} ${response.statusText}` };
  try {
    const body = await response.json();
    if (isErrorPayload(body?.error)) failure = body.error;
  } catch {
    // Not the API's JSON (a proxy's page): the status says it.
  }
  if (response.status === 401) signInNeeded();
  throw failure;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await send(method, path, body);
  return response.status === 204 ? (null as T) : ((await response.json()) as T);
}

/** What the web UI does not do: the team server's folders, models and settings are its administrator's. */
function notHere(what: string): Promise<never> {
  return Promise.reject({ code: "not_found", message: `${what} is set up on the team server by its administrator, not here.` } satisfies ApiError);
}

/** One server-sent event: its name and data. */
type ServerEvent = { event: string; data: string };

/** The events of a text/event-stream body, as they arrive. */
async function* serverEvents(response: Response): AsyncGenerator<ServerEvent> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n/g, "\n");
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: data.join("\n") };
    }
  }
}

async function askOverHttp(question: string, conversation: string | null, onEvent: (e: AskEvent) => void): Promise<AskOutcome> {
  answering?.abort();
  const controller = new AbortController();
  answering = controller;
  try {
    const response = await send("POST", "/api/ui/ask", { question, conversation }, controller.signal);
    for await (const { event, data } of serverEvents(response)) {
      if (event === "outcome") return JSON.parse(data) as AskOutcome;
      if (event === "error") throw (JSON.parse(data) as { error: ApiError }).error;
      onEvent(JSON.parse(data) as AskEvent);
    }
    throw { code: "internal", message: "The answer ended without its outcome: the connection was cut." } satisfies ApiError;
  } catch (e) {
    if (controller.signal.aborted) throw { code: "cancelled", message: "Stopped." } satisfies ApiError;
    throw e;
  } finally {
    if (answering === controller) answering = null;
  }
}

/** A file the person may read, saved by the browser (never shown as a page of this site). */
async function download(path: string) {
  const response = await send("GET", `/api/file?path=${encodeURIComponent(path)}`);
  const url = URL.createObjectURL(await response.blob());
  // Not attached to the page: the page's guard against links in documents never sees it.
  const link = document.createElement("a");
  link.href = url;
  link.download = path.split("/").pop() || "document";
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

const http: typeof ipc = {
  appInfo: () => notHere("Where the index lives"),
  status: () => notHere("The index's status"),
  addFolders: () => notHere("Which folders are indexed"),
  pickFolders: () => notHere("Which folders are indexed"),
  removeFolder: () => notHere("Which folders are indexed"),
  pauseFolder: () => notHere("Which folders are indexed"),
  resumeFolder: () => notHere("Which folders are indexed"),
  rebuildIndex: () => notHere("Rebuilding the index"),
  models: () => notHere("The models"),
  fetchModels: () => notHere("The models"),
  useLlm: () => notHere("The models"),
  pickModelFile: () => notHere("The models"),
  pickModelFolder: () => notHere("The models"),
  useLora: () => notHere("The models"),
  pickLoraFile: () => notHere("The models"),
  pickSubfolder: () => notHere("Which folders are indexed"),
  settings: () => notHere("Settings"),
  saveSettings: () => notHere("Settings"),
  ask: askOverHttp,
  stop: async () => {
    const was = answering !== null;
    answering?.abort();
    return was;
  },
  conversations: () => call<ConversationSummary[]>("GET", "/api/conversations"),
  conversation: (id: string) => call<ConversationView>("GET", `/api/ui/conversations/${encodeURIComponent(id)}`),
  deleteConversation: (id: string) => call<null>("DELETE", `/api/conversations/${encodeURIComponent(id)}`),
  search: async (query: string, mode: SearchMode | null) =>
    (await call<{ results: SearchResultView[] }>("POST", "/api/ui/search", { query, mode, k: 20 })).results,
  openFile: async (path: string) => {
    await download(path);
    return null;
  },
  revealFile: () => notHere("Showing a file in its folder"),
  viewDocument: (path: string, location: Location, passage: string, evidence: string[]) =>
    call<DocumentView>("POST", "/api/ui/document", { path, location, passage, evidence }),
  viewPage: (path: string, page: number, passage: string, evidence: string[]) => call<PageView>("POST", "/api/ui/page", { path, page, passage, evidence }),
  feedback: () => notHere("Feedback for tuning"),
  tune: () => notHere("Tuning"),
  stopTuning: () => notHere("Tuning"),
  removeAdapter: () => notHere("Tuning"),
  openTeamServer: () => notHere("Another team server"),
};

export const api = desktop ? ipc : http;

/** Signing in to a team server (a browser only). */
export const account = {
  whoami: () => call<WhoAmI>("GET", "/api/whoami"),
  /** What the signed-in person may read of the server's index. */
  readable: () => call<ReadableStatus>("GET", "/api/status"),
  /** Sign in with the account's password (when the server checks passwords). */
  signIn: async (user: string, password: string) => {
    const signed = await call<SignedIn>("POST", "/api/sign-in", { user, password });
    useToken(signed.token);
    return signed;
  },
  /** Use an API token the administrator made (`brain serve tokens add`). */
  useToken: async (t: string) => {
    useToken(t.trim());
    try {
      return await call<WhoAmI>("GET", "/api/whoami");
    } catch (e) {
      useToken(null);
      throw e;
    }
  },
  signOut: () => useToken(null),
};
