// Every lifecycle activity heartbeats while it runs, so a cancellation from the workflow
// reaches it and the workflow, which waits for cancelled activities to finish
// (WAIT_CANCELLATION_COMPLETED), learns when it is really over. The activity itself is not
// aborted: a Kubernetes write in flight completes (or fails) before the workflow moves on,
// so a stop or delete can never be overtaken by the write it interrupted.
import { Context } from '@temporalio/activity';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';

export class HeartbeatInterceptor implements ActivityInboundCallsInterceptor {
  constructor(private readonly intervalMs: number) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const ctx = Context.current();
    ctx.heartbeat();
    const timer = setInterval(() => ctx.heartbeat(), this.intervalMs);
    try {
      return await next(input);
    } finally {
      clearInterval(timer);
    }
  }
}
