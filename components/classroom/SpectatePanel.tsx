// Spectating one learner: their terminal and (when their x-ray is open) their x-ray, live and read-only.
'use client';
import { useState, useSyncExternalStore } from 'react';
import { PROTOCOL_VERSION } from '../../server/protocol/messages';
import { INSTRUCTOR_PROTOCOL_PREFIX } from '../../server/protocol/lessons';
import type { WatchClient } from './WatchClient';
import { WatchTerminal } from './WatchTerminal';
import { WatchXray } from './WatchXray';

const none = () => () => {};

export function SpectatePanel({ token, sessionId, onClose }: { token: string; sessionId: string; onClose(): void }) {
  const [watch, setWatch] = useState<WatchClient | null>(null);
  const wv = useSyncExternalStore(
    watch?.subscribe ?? none,
    () => watch?.getView() ?? null,
    () => null,
  );
  return (
    <div className="flex h-full min-h-0 flex-col gap-3" data-testid="spectate-panel">
      <div className="flex items-center gap-2">
        <h2 className="text-sm font-semibold text-fg">Watching {wv?.name ?? sessionId.slice(0, 8)}</h2>
        <button
          type="button"
          onClick={onClose}
          className="ml-auto h-7 rounded-md border border-line px-2 text-xs text-muted hover:bg-raised hover:text-fg"
        >
          Close
        </button>
      </div>
      <div className="min-h-[16rem] flex-[3] overflow-hidden rounded-xl border border-line bg-panel">
        <WatchTerminal
          key={sessionId}
          protocols={[PROTOCOL_VERSION, INSTRUCTOR_PROTOCOL_PREFIX + token]}
          query={`session=${encodeURIComponent(sessionId)}`}
          testId="spectate-term"
          onClient={setWatch}
        />
      </div>
      <div className="min-h-[12rem] flex-[2] overflow-hidden rounded-xl border border-line bg-panel">
        <WatchXray watch={watch} />
      </div>
    </div>
  );
}
