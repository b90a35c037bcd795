// One lesson page per file in lessons/ (slugs read at build time for the static export; the content is fetched at runtime).
import fs from 'node:fs';
import path from 'node:path';
import { LessonRunner } from '../../../components/lessons/LessonRunner';

export const dynamicParams = false;

export function generateStaticParams(): { slug: string }[] {
  const dir = path.join(process.cwd(), 'lessons');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.md') && f !== 'README.md')
    .map((f) => ({ slug: f.slice(0, -3) }));
}

export default async function LessonPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = await params;
  return <LessonRunner slug={slug} />;
}
