// The terminal page body: several terminal tabs on one project, each its own WebSocket
// (and its own shell in the sandbox). Client-only; the route loads it lazily.
import { useCallback, useState } from 'react';
import TerminalView from './terminal-view.client';

interface Tab {
  session: string;
  label: string;
  title?: string;
}

let counter = 0;
function newSession(): string {
  const random = Math.random().toString(36).slice(2, 8);
  return `t${Date.now().toString(36)}${random}${counter++}`;
}

export interface TerminalWorkspaceProps {
  projectId: string;
  projectName?: string;
}

export default function TerminalWorkspace({ projectId, projectName }: TerminalWorkspaceProps) {
  const [tabs, setTabs] = useState<Tab[]>(() => [{ session: newSession(), label: 'Terminal 1' }]);
  const [active, setActive] = useState(() => tabs[0]!.session);
  const [next, setNext] = useState(2);

  const addTab = () => {
    const tab = { session: newSession(), label: `Terminal ${next}` };
    setNext(next + 1);
    setTabs((t) => [...t, tab]);
    setActive(tab.session);
  };

  const closeTab = (session: string) => {
    if (tabs.length === 1) return;
    const index = tabs.findIndex((t) => t.session === session);
    const rest = tabs.filter((t) => t.session !== session);
    setTabs(rest);
    if (session === active) setActive(rest[Math.max(0, index - 1)]!.session);
  };

  const setTitle = useCallback((session: string, title: string) => {
    setTabs((current) => current.map((t) => (t.session === session ? { ...t, title } : t)));
  }, []);

  return (
    <div className="terminal-workspace" style={{ display: 'flex', flexDirection: 'column', height: '100%', minHeight: 0, background: '#1e1e1e' }}>
      <div role="tablist" aria-label="Terminals" style={{ display: 'flex', alignItems: 'stretch', gap: 2, background: '#252526', font: '13px system-ui, sans-serif', color: '#ccc' }}>
        {projectName && <span style={{ padding: '6px 12px', color: '#8ab4f8', fontWeight: 600 }}>{projectName}</span>}
        {tabs.map((tab) => (
          <div
            key={tab.session}
            role="tab"
            aria-selected={tab.session === active}
            data-session={tab.session}
            onClick={() => setActive(tab.session)}
            title={tab.title}
            style={{
              display: 'flex',
              alignItems: 'center',
              gap: 6,
              padding: '6px 10px',
              cursor: 'pointer',
              background: tab.session === active ? '#1e1e1e' : 'transparent',
              color: tab.session === active ? '#fff' : '#aaa',
            }}
          >
            <span>{tab.label}</span>
            {tabs.length > 1 && (
              <button
                type="button"
                aria-label={`Close ${tab.label}`}
                onClick={(e) => {
                  e.stopPropagation();
                  closeTab(tab.session);
                }}
                style={{ background: 'none', border: 0, color: 'inherit', cursor: 'pointer', padding: 0 }}
              >
                ×
              </button>
            )}
          </div>
        ))}
        <button type="button" aria-label="New terminal" onClick={addTab} style={{ background: 'none', border: 0, color: '#ccc', cursor: 'pointer', padding: '0 10px', fontSize: 16 }}>
          +
        </button>
      </div>
      <div style={{ position: 'relative', flex: 1, minHeight: 0 }}>
        {tabs.map((tab) => (
          <TerminalView key={tab.session} projectId={projectId} session={tab.session} active={tab.session === active} onTitle={(title) => setTitle(tab.session, title)} />
        ))}
      </div>
    </div>
  );
}
