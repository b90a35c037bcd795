// What a learner's page shows of class actions (banner, reset notice, class over) and where "move" sends it: pure, for both pages.
import type { ServerMessage } from '../terminal/protocol';

export interface ClassView {
  /** Name of whoever broadcasts, or null. */
  broadcast: string | null;
  /** A notice from the instructor (the reset), shown for a while. */
  notice: string | null;
  /** The class is over: its message (the box is torn down right after). */
  ended: string | null;
}

export const INITIAL_CLASS: ClassView = { broadcast: null, notice: null, ended: null };

/** Where the learner is: the playground (slug null) or a lesson page. */
export interface Here {
  slug: string | null;
}

/** The next view, and the lesson page to open when the instructor moves everyone somewhere else. */
export function classStep(view: ClassView, msg: ServerMessage, here: Here): { view: ClassView; goto?: string } {
  switch (msg.type) {
    case 'broadcast':
      return { view: { ...view, broadcast: msg.active ? (msg.name ?? 'Instructor') : null } };
    case 'goto':
      return msg.slug === here.slug ? { view } : { view, goto: `/lessons/${encodeURIComponent(msg.slug)}` };
    case 'class_reset':
      return { view: { ...view, notice: msg.message } };
    case 'class_ended':
      return { view: { ...view, ended: msg.message, broadcast: null, notice: null } };
    default:
      return { view };
  }
}

/** How long the reset notice stays (it is also dismissable). */
export const NOTICE_MS = 10_000;
