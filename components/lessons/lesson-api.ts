// HTTP calls of the lesson pages: the lesson list, one lesson, and this learner's progress.
import {
  API_LESSONS_PATH,
  API_PROGRESS_PATH,
  LEARNER_HEADER,
  type LessonListResponse,
  type LessonResponse,
  type ProgressResponse,
} from '../../server/protocol/lessons';
import { RESUME_HEADER } from '../../server/protocol/classes';
import { loadMembership } from '../classroom/membership';

async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url, { headers, cache: 'no-store' });
  if (!res.ok) throw new Error(res.status === 404 ? 'No such lesson.' : `The server answered ${res.status}.`);
  return (await res.json()) as T;
}

export const fetchLessons = () => getJson<LessonListResponse>(API_LESSONS_PATH);
export const fetchLesson = (slug: string) => getJson<LessonResponse>(`${API_LESSONS_PATH}/${encodeURIComponent(slug)}`);
/** A class member's progress is theirs wherever they signed in (their resume code); else this browser's learner id. */
export const fetchProgress = (learner: string) => {
  const member = loadMembership();
  return getJson<ProgressResponse>(API_PROGRESS_PATH, {
    [LEARNER_HEADER]: learner,
    ...(member?.resume ? { [RESUME_HEADER]: member.resume } : {}),
  });
};
