// The page of a lesson from a pack (slugs unknown at build time): the server answers /lessons/<slug> with this page for
// pack lessons, and it reads the slug from the address bar; built-in lessons keep their prerendered pages.
import { PackLesson } from '../../components/lessons/PackLesson';

export default function PackLessonPage() {
  return <PackLesson />;
}
