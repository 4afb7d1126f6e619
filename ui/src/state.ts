// What the views share: which view is shown, and the index's state as the engine last reported
// it. Views read it and re-render; they derive nothing the engine already knows.
import type { Status } from "./api";

export type View = "ask" | "search" | "folders" | "settings";

export const state = {
  view: "ask" as View,
  status: null as Status | null,
  /** A sync is running (between its sync_started and idle events). */
  busy: false,
  indexing: { done: 0, total: 0, current: null as string | null, ocr: null as string | null },
};
