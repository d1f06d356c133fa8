// The web terminal: a WebSocket proxy from the page to the sandbox's ttyd.
export { attachTerminalProxy, TERMINAL_PATH, type TerminalProxy, type TerminalProxyDeps, type TerminalTarget } from './proxy';
export { resolveTerminalTarget, ttydWebSocketUrl } from './resolve-target';
export { TERMINAL_CLOSE } from './browser-protocol';
