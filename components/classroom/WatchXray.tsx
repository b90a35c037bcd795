// The x-ray of a watched session: a viewer cannot subscribe, so it shows the x-ray diffs the watched client's own views receive.
'use client';
import { useSyncExternalStore } from 'react';
import type { BoxlabClient } from '../terminal/BoxlabClient';
import { INITIAL_VIEW, type ClientView } from '../terminal/client-types';
import { XrayPanel } from '../xray/XrayPanel';
import type { WatchClient } from './WatchClient';

const none = () => () => {};

export function WatchXray({ watch }: { watch: WatchClient | null }) {
  const wv = useSyncExternalStore(
    watch?.subscribe ?? none,
    () => watch?.getView() ?? null,
    () => null,
  );
  // useXray only needs onControl/control: control() answers false (a viewer sends no subscription).
  const adapter = watch ? ({ onControl: (fn: never) => watch.onControl(fn), control: () => false } as unknown as BoxlabClient) : null;
  const view: ClientView = {
    ...INITIAL_VIEW,
    phase: wv?.state === 'running' ? 'running' : 'creating',
    stages: wv?.stages ?? [],
    stats: wv?.stats ?? null,
  };
  return <XrayPanel view={view} client={adapter} wide={false} onWide={() => {}} />;
}
