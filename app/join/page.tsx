// The learner's way into a class: the join link (/join?code=XXXXXX) or the code typed, a display name, or a resume code.
import type { Metadata } from 'next';
import { JoinPage } from '../../components/classroom/JoinPage';

export const metadata: Metadata = { title: 'Join a class · Boxlab', robots: { index: false } };

export default function Join() {
  return <JoinPage />;
}
