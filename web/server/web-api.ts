// The services bound to this process's context, handed to Remix loaders and actions
// through the load context: pages and the JSON API share one implementation.
import type { AuthKit } from './auth';
import type { ServiceContext } from './context';
import * as env from './services/environment.server';
import * as projects from './services/projects.server';
import * as schedules from './services/schedules.server';
import * as settings from './services/settings.server';
import * as timeline from './services/timeline.server';
import * as tokens from './services/tokens.server';
import type { Actor } from '../../common/lifecycle';
import * as users from './services/users.server';

export function createWebApi(ctx: ServiceContext, auth: AuthKit) {
  return {
    listProjects: (userId: string) => projects.listProjects(ctx, userId),
    createProject: (userId: string, input: unknown, actor?: Actor) => projects.createProject(ctx, userId, input, actor),
    getProject: (userId: string, projectId: string) => projects.getProject(ctx, userId, projectId),
    signalProject: (userId: string, projectId: string, action: projects.ProjectAction, actor?: Actor) => projects.signalProject(ctx, userId, projectId, action, actor),
    listTimeline: (userId: string, projectId: string, query: unknown = {}) => timeline.listTimeline(ctx, userId, projectId, query),
    setIdlePolicy: (userId: string, projectId: string, input: unknown, actor: Actor) => timeline.setIdlePolicy(ctx, userId, projectId, input, actor),
    keepRunning: (userId: string, projectId: string, actor: Actor) => timeline.keepRunning(ctx, userId, projectId, actor),
    getSchedule: (userId: string, projectId: string) => schedules.getSchedule(ctx, userId, projectId),
    putSchedule: (userId: string, projectId: string, input: unknown, actor: Actor) => schedules.putSchedule(ctx, userId, projectId, input, actor),
    deleteSchedule: (userId: string, projectId: string, actor: Actor) => schedules.deleteSchedule(ctx, userId, projectId, actor),
    setRetention: (userId: string, projectId: string, input: unknown, actor: Actor) => schedules.setRetention(ctx, userId, projectId, input, actor),
    createEnvironmentVariable: (userId: string, projectId: string, input: unknown) => env.createEnvironmentVariable(ctx, userId, projectId, input),
    updateEnvironmentVariable: (userId: string, projectId: string, envId: string, input: unknown) =>
      env.updateEnvironmentVariable(ctx, userId, projectId, envId, input),
    deleteEnvironmentVariable: (userId: string, projectId: string, envId: string) => env.deleteEnvironmentVariable(ctx, userId, projectId, envId),
    createToken: (userId: string, input: unknown) => tokens.createToken(ctx, userId, input),
    listTokens: (userId: string) => tokens.listTokens(ctx, userId),
    revokeToken: (userId: string, tokenId: string) => tokens.revokeToken(ctx, userId, tokenId),
    getSettings: (userId: string) => settings.getSettings(ctx, userId),
    saveKubeconfig: (userId: string, input: unknown) => settings.saveKubeconfig(ctx, userId, input),
    saveAnthropic: (userId: string, input: unknown) => settings.saveAnthropic(ctx, userId, input),
    findUser: (userId: string) => users.findUser(ctx, userId),
    /** Auth.js actions for pages (CSRF token for the sign-in form). */
    authAction: auth.action,
    providers: auth.providers,
  };
}

export type WebApi = ReturnType<typeof createWebApi>;
export type { ProjectDto, ProjectSummary, ProjectAction } from './services/projects.server';
export type { EnvironmentDto, EnvCategory } from './services/environment.server';
export type { TimelineEntry } from './services/timeline.server';
export type { ScheduleDto, RetentionDto } from './services/schedules.server';
export type { TokenDto } from './services/tokens.server';
export type { SettingsDto, KubeconfigSummary } from './services/settings.server';
