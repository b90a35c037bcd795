// The instructor's broadcast on a learner's page: a banner, and on request the instructor's terminal, read-only and live.
'use client';
import { useState } from 'react';
import { PROTOCOL_VERSION, TOKEN_PROTOCOL_PREFIX } from '../../server/protocol/messages';
import type { WatchClient } from '../classroom/WatchClient';
import { WatchTerminal } from '../classroom/WatchTerminal';
import { WatchXray } from '../classroom/WatchXray';
import { tabSessionToken } from './lesson-deps';

export function FollowPanel({ name }: { name: string | null }) {
  const [open, setOpen] = useState(false);
  const [watch, setWatch] = useState<WatchClient | null>(null);
  if (!name) return null;
  const token = tabSessionToken();
  return (
    <>
      {!open && (
        <div
          role="status"
          data-testid="broadcast-banner"
          className="flex items-center gap-3 rounded-xl border border-accent/50 bg-accent-soft px-4 py-2 text-sm text-fg"
        >
          <span aria-hidden="true" className="size-2 animate-pulse rounded-full bg-accent" />
          <span className="flex-1">{name} is broadcasting their terminal.</span>
          <button
            type="button"
            data-testid="follow"
            onClick={() => setOpen(true)}
            className="h-8 rounded-md bg-accent px-3 font-semibold text-accent-fg hover:brightness-110"
          >
            Watch
          </button>
        </div>
      )}
      {open && token && (
        <div
          className="absolute inset-0 z-30 flex flex-col overflow-hidden rounded-xl border border-accent/60 bg-panel shadow-2xl"
          data-testid="follow-panel"
        >
          <div className="flex h-10 items-center gap-2 border-b border-line px-3">
            <span className="text-sm font-semibold text-fg">{name}&apos;s terminal</span>
            <button
              type="button"
              data-testid="unfollow"
              onClick={() => setOpen(false)}
              className="ml-auto h-7 rounded-md border border-line px-3 text-sm text-muted hover:bg-raised hover:text-fg"
            >
              Back to my terminal
            </button>
          </div>
          <div className="min-h-0 flex-[3]">
            <WatchTerminal
              protocols={[PROTOCOL_VERSION, TOKEN_PROTOCOL_PREFIX + token]}
              testId="follow-term"
              fontSize={15}
              onClient={setWatch}
            />
          </div>
          {/* The instructor's x-ray, as their own open view receives it. */}
          <div className="min-h-[10rem] flex-[2] border-t border-line">
            <WatchXray watch={watch} />
          </div>
        </div>
      )}
    </>
  );
}
