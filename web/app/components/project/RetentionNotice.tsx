// The retention notice: shown on a stopped project that the platform is about to delete.
import { Form } from '@remix-run/react';
import { dateTime, type LiveView } from './live';

/** The retention notice: a stopped project is deleted at a set time unless it is started or kept. */
export function RetentionNotice({ view }: { view: LiveView }) {
  const notice = view.retention?.notice;
  if (!notice || view.status !== 'STOPPED') return null;
  return (
    <div className="alert alert-warn" role="alert" data-testid="retention-notice">
      <strong>This project will be deleted on {dateTime(notice.deleteAt)}</strong>: it has been stopped since{' '}
      {view.retention.stoppedAt ? dateTime(view.retention.stoppedAt) : 'a while'} (the platform deletes projects stopped for{' '}
      {view.retention.stoppedDays} days, {view.retention.graceDays} days after this notice). Start it, or keep it:{' '}
      <Form method="post" className="inline-form">
        <input type="hidden" name="keep" value="true" />
        <button className="btn btn-sm btn-primary" name="intent" value="retention-keep" type="submit">
          Keep this project
        </button>
      </Form>
    </div>
  );
}
