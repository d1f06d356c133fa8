// Lifecycle policies shared by the workflow, the web and the page: actors (who asked), idle
// auto-stop limits and the "kept running because … / stopped because …" explanation. Pure:
// the workflow bundle imports it.
import { ACTOR_KINDS, type Actor, type ActorKind, type ProjectStatusView } from './lifecycle';
import type { ScheduleWindow } from './schedules';

export const IDLE_MIN_MINUTES = 5;
export const IDLE_MAX_MINUTES = 24 * 60;
export const ACTOR_NAME_MAX = 80;

/**
 * An actor from a signal's or update's argument, whatever was sent: anything missing or not
 * understood is the operator (a signal sent from the Temporal UI or CLI without input).
 */
export function normalizeActor(raw: unknown): Actor {
  const a = (raw && typeof raw === 'object' ? (raw as { actor?: unknown }).actor : undefined) as { kind?: unknown; name?: unknown } | undefined;
  if (!a || typeof a !== 'object' || !ACTOR_KINDS.includes(a.kind as ActorKind)) return { kind: 'operator' };
  const name = typeof a.name === 'string' ? a.name.replace(/[\p{Cc}]/gu, '').slice(0, ACTOR_NAME_MAX) : '';
  return name ? { kind: a.kind as ActorKind, name } : { kind: a.kind as ActorKind };
}

/** A reason from a signal's argument: plain text, bounded. */
export function normalizeReason(raw: unknown): string | undefined {
  const r = raw && typeof raw === 'object' ? (raw as { reason?: unknown }).reason : undefined;
  return typeof r === 'string' && r ? r.replace(/[\p{Cc}]/gu, ' ').slice(0, 300) : undefined;
}

/** "you" for the viewer's own session, otherwise who it was. */
export function describeActor(actor: Actor | undefined, viewer?: string): string {
  if (!actor) return 'an operator';
  switch (actor.kind) {
    case 'user':
      return viewer && actor.name === viewer ? 'you' : actor.name ? `user ${actor.name}` : 'a user';
    case 'token':
      return actor.name ? `API token "${actor.name}"` : 'an API token';
    case 'cli':
      return actor.name ? `the CLI (token "${actor.name}")` : 'the CLI';
    case 'schedule':
      return 'the schedule';
    case 'idle':
      return 'the idle policy';
    case 'retention':
      return 'the retention policy';
    case 'operator':
      return 'an operator (Temporal UI / CLI)';
  }
}

export function formatMinutes(ms: number): string {
  const min = Math.round(ms / 60_000);
  if (min >= 1) return min % 60 === 0 && min >= 60 ? `${min / 60} h` : `${min} min`;
  return `${Math.max(1, Math.round(ms / 1000))} s`;
}

/** HH:MM in UTC: the workflow knows no time zone (the page formats its own times locally). */
export function utcClock(iso: string): string {
  return `${iso.slice(11, 16)} UTC`;
}

/** What the idle stop of a project opted in to app-URL activity says about the app. */
export interface AppActivityContext {
  /** What the last activity was. */
  source: 'terminal' | 'app' | null;
  /** Why requests to the app could not be seen at the stop (no signal), if so. */
  unavailable?: string | null;
}

/**
 * The reason an idle stop records: "idle for 30 min: no terminal activity since 14:02 UTC";
 * opted in to app-URL activity: "idle for 30 min: no terminal activity or requests to the
 * app's URL since 14:02 UTC (the last was a request to the app)".
 */
export function idleStopReason(timeoutMs: number, lastActivityAt: string | null, since: string | null, app?: AppActivityContext): string {
  if (app) {
    const last = app.source === 'app' ? ' (the last was a request to the app)' : app.source === 'terminal' ? ' (the last was terminal activity)' : '';
    const when = lastActivityAt ? `since ${utcClock(lastActivityAt)}${last}` : `since it started at ${utcClock(since ?? '')}`;
    const blind = app.unavailable ? `; requests to the app could not be seen: ${app.unavailable}` : '';
    return `idle for ${formatMinutes(timeoutMs)}: no terminal activity or requests to the app's URL ${when}${blind}`;
  }
  const what = lastActivityAt ? `no terminal activity since ${utcClock(lastActivityAt)}` : `no terminal activity since it started at ${utcClock(since ?? '')}`;
  return `idle for ${formatMinutes(timeoutMs)}: ${what}`;
}

export interface Explanation {
  kind: 'running' | 'stopped' | 'deleting';
  text: string;
}

/** A project's schedule as the explanation needs it: its description and where now falls in it. */
export interface ScheduleContext {
  description: string;
  window: ScheduleWindow;
}

type ExplainedView = Pick<ProjectStatusView, 'status' | 'desired' | 'idle' | 'lastIntent'> & { schedule?: ScheduleContext | null };

/**
 * Why the project is in its state, in one sentence: "kept running because …" or "stopped
 * because …". `clock` formats an ISO time for the reader (the page: local time).
 */
export function explainState(view: ExplainedView, clock: (iso: string) => string = utcClock, viewer?: string): Explanation | null {
  const base = explainWithoutSchedule(view, clock, viewer);
  const schedule = view.schedule;
  if (!base || !schedule || base.kind === 'deleting') return base;
  if (base.kind === 'stopped') {
    const intent = view.lastIntent;
    if (intent?.desired === 'STOPPED' && intent.actor.kind === 'schedule') {
      return { kind: 'stopped', text: `stopped by the schedule (${schedule.description}) at ${clock(intent.at)}; it starts again ${schedule.window.nextStart}` };
    }
    return { kind: 'stopped', text: `${base.text}; the schedule (${schedule.description}) starts it ${schedule.window.nextStart}` };
  }
  if (!schedule.window.running) return base;
  // Inside the schedule's window: the schedule keeps it until its stop; the idle policy may stop it earlier.
  const idle = view.idle;
  const earlier = idle?.timeoutMs && idle.stopAt ? `; it stops earlier, at ${clock(idle.stopAt)}, after ${formatMinutes(idle.timeoutMs)} without terminal activity` : '';
  return { kind: 'running', text: `kept running because of the schedule (${schedule.description}) until ${schedule.window.until}${earlier}` };
}

function explainWithoutSchedule(view: ExplainedView, clock: (iso: string) => string, viewer?: string): Explanation | null {
  const intent = view.lastIntent;
  const by = intent ? `${describeActor(intent.actor, viewer)} at ${clock(intent.at)}` : undefined;
  if (view.desired === 'TERMINATED') return { kind: 'deleting', text: `deleted by ${by ?? 'an operator'}` };
  if (view.desired === 'STOPPED') {
    if (intent?.desired === 'STOPPED' && intent.actor.kind === 'idle') {
      return { kind: 'stopped', text: `stopped by the idle policy at ${clock(intent.at)}${intent.reason ? `: ${intent.reason}` : ''}` };
    }
    if (intent?.desired === 'STOPPED') return { kind: 'stopped', text: `stopped by ${by}${intent.reason ? ` (${intent.reason})` : ''}` };
    return { kind: 'stopped', text: 'stopped' };
  }
  if (view.status !== 'RUNNING') return null;
  const idle = view.idle;
  if (!idle) return { kind: 'running', text: `kept running: auto-stop is not set for this project${by ? `; started by ${by}` : ''}` };
  if (idle.timeoutMs === null) return { kind: 'running', text: 'kept running because auto-stop is off' };
  const without = idle.appActivity ? "terminal activity or requests to the app's URL" : 'terminal activity';
  const stop = idle.stopAt ? `; stops at ${clock(idle.stopAt)} after ${formatMinutes(idle.timeoutMs)} without ${without}` : '';
  if (idle.lastActivityAt && (!idle.since || idle.lastActivityAt >= idle.since) && idle.lastActivitySource === 'app') {
    return { kind: 'running', text: `kept running because of requests to the app's URL at ${clock(idle.lastActivityAt)}${stop}` };
  }
  if (idle.lastActivityAt && (!idle.since || idle.lastActivityAt >= idle.since)) {
    return { kind: 'running', text: `kept running because of recent terminal activity at ${clock(idle.lastActivityAt)}${stop}` };
  }
  const since = idle.since ? ` at ${clock(idle.since)}` : '';
  return { kind: 'running', text: `kept running because it was started or kept running${since}${stop}` };
}
