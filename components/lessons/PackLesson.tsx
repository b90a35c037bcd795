// A pack lesson's page: the slug comes from the address (/lessons/<slug>), validated before anything is fetched.
'use client';
import { useEffect, useState } from 'react';
import { SLUG_RE } from '../../server/protocol/lessons';
import { LessonRunner } from './LessonRunner';

export function PackLesson() {
  const [slug, setSlug] = useState<string | null>(null);
  useEffect(() => {
    const s = window.location.pathname.split('/').filter(Boolean)[1] ?? '';
    setSlug(SLUG_RE.test(s) ? s : '');
  }, []);
  if (slug === null) return null;
  if (!slug) return <p className="p-6 text-bad">No such lesson.</p>;
  return <LessonRunner slug={slug} />;
}
