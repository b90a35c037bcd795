// The playground: a terminal on a fresh sandbox, with the stages that built it.
import { Playground } from '../components/playground/Playground';

export default function Page() {
  return <Playground />;
}
