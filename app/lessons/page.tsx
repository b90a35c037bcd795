// The lesson list (lesson content comes from the server at runtime: GET /api/lessons).
import type { Metadata } from 'next';
import { LessonList } from '../../components/lessons/LessonList';

export const metadata: Metadata = { title: 'Lessons · Boxlab' };

export default function Lessons() {
  return <LessonList />;
}
