// The app's commands and the events it sends. Every type here comes from `bindings.ts`, which is
// generated from the Rust types (src-tauri/src/bindings.rs), and so do the command and event
// names; errors arrive as `ErrorPayload` ({code, message}).
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
  ErrorPayload,
  Feedback,
  FetchStep,
  Location,
  ModelReport,
  PageView,
  SearchMode,
  SearchResultView,
  Settings,
  Status,
  SyncSummary,
  TuneReport,
  TuneStep,
} from "./bindings";

export type * from "./bindings";

export function isErrorPayload(e: unknown): e is ErrorPayload {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

/** Only the app's commands can be invoked: a name missing from the Rust list fails `tsc`. */
function invoke<T>(command: CommandName, args?: InvokeArgs): Promise<T> {
  return invokeTauri<T>(command, args);
}

/** Listen for one of the events the app sends, with its payload's type. */
export function listenTo<E extends keyof AppEvents>(event: E, handler: (payload: AppEvents[E]) => void): Promise<UnlistenFn> {
  return listen<AppEvents[E]>(event, (e) => handler(e.payload));
}

function channel<T>(on: (message: T) => void): Channel<T> {
  const c = new Channel<T>();
  c.onmessage = on;
  return c;
}

export const api = {
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
};
