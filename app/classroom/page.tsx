// The instructor's classroom dashboard (sign-in with the instructor token; every call is checked by the server).
import type { Metadata } from 'next';
import { Dashboard } from '../../components/classroom/Dashboard';

export const metadata: Metadata = { title: 'Classroom · Boxlab', robots: { index: false } };

export default function Classroom() {
  return <Dashboard />;
}
