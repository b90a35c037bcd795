// A learner's page follows class actions on its session socket (playground and lesson pages alike): see class-state.ts.
'use client';
import { useEffect, useRef, useState } from 'react';
import type { BoxlabClient } from '../terminal/BoxlabClient';
import { INITIAL_CLASS, NOTICE_MS, classStep, type ClassView } from './class-state';

/**
 * slug null is the playground: it tells the server "not in a lesson" after every hello (a lesson page sends its own
 * lesson message), so the server answers with the broadcast under way and gives back a default box after a lesson
 * with its own limits.
 */
export function useClassActions(client: BoxlabClient | null, slug: string | null): ClassView & { dismiss(): void } {
  const [view, setView] = useState<ClassView>(INITIAL_CLASS);
  const current = useRef(view);
  current.current = view;

  useEffect(() => {
    if (!client) return;
    const announce = () => {
      if (slug === null) client.control({ type: 'lesson', slug: null, step: 0 });
    };
    announce();
    return client.onControl((m) => {
      if (m.type === 'hello') return announce();
      const r = classStep(current.current, m, { slug });
      if (r.view !== current.current) setView((current.current = r.view));
      if (r.goto) window.location.assign(r.goto);
    });
  }, [client, slug]);

  const notice = view.notice;
  useEffect(() => {
    if (!notice) return;
    const id = setTimeout(() => setView((v) => (v.notice === notice ? { ...v, notice: null } : v)), NOTICE_MS);
    return () => clearTimeout(id);
  }, [notice]);

  return { ...view, dismiss: () => setView((v) => ({ ...v, notice: null })) };
}
