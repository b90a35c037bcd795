// Subscribes the socket to the x-ray views on screen (again after every reconnect) and folds the server's diffs into state.
'use client';
import { useEffect, useState } from 'react';
import type { XrayView } from '../../server/protocol/xray';
import type { BoxlabClient } from '../terminal/BoxlabClient';
import { EMPTY_XRAY, applyXray, extendHistory, type XrayState } from './xray-state';

export function useXray(client: BoxlabClient | null, views: readonly XrayView[]): XrayState {
  const [state, setState] = useState<XrayState>(EMPTY_XRAY);
  const key = [...views].sort().join(',');
  useEffect(() => {
    if (!client) return;
    const list = (key ? key.split(',') : []) as XrayView[];
    // Nothing watched, nothing sent: the server keeps no sampler and no timer for this session.
    const subscribe = () => list.length > 0 && client.control({ type: 'xray', views: list });
    subscribe();
    const off = client.onControl((m) => {
      if (m.type === 'hello')
        subscribe(); // a new socket starts unsubscribed
      else if (m.type === 'xray') setState((s) => applyXray(s, m));
      else if (m.type === 'stage' && m.event.stage === 'prepare_state') setState(EMPTY_XRAY);
      else if (m.type === 'stages' && m.events[0]?.stage === 'prepare_state') setState(EMPTY_XRAY);
    });
    // A quiet box sends no stats: keep the sparklines moving with the last known values.
    const tick = list.includes('cgroup') ? setInterval(() => setState((s) => extendHistory(s)), 500) : null;
    return () => {
      off();
      if (tick) clearInterval(tick);
      if (list.length) client.control({ type: 'xray', views: [] });
    };
  }, [client, key]);
  return state;
}
