// Browser entry of the minimal terminal test page (test/terminal-browser.test.ts): renders
// the same client component the Remix route loads, without the rest of the web app.
import { createRoot } from 'react-dom/client';
import TerminalWorkspace from '../../web/app/components/terminal-workspace.client';

const params = new URLSearchParams(location.search);
const root = document.getElementById('root');
if (!root) throw new Error('#root missing');
createRoot(root).render(<TerminalWorkspace projectId={params.get('project') ?? 'p1'} projectName="demo-shop" />);
