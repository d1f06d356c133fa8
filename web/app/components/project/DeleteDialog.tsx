// "Delete…": asks first, in a modal dialog.
import { Form } from '@remix-run/react';
import { useRef } from 'react';

export function DeleteDialog({ name }: { name: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  return (
    <>
      <button type="button" className="btn btn-danger-ghost" onClick={() => ref.current?.showModal()}>
        Delete…
      </button>
      <dialog ref={ref} className="dialog" aria-labelledby="delete-title">
        <Form method="post">
          <h2 id="delete-title">Delete “{name}”?</h2>
          <p>The sandbox, its files and its database are removed for good. This cannot be undone.</p>
          <div className="row-end">
            <button type="button" className="btn btn-ghost" onClick={() => ref.current?.close()} autoFocus>
              Cancel
            </button>
            <button type="submit" name="intent" value="delete" className="btn btn-danger">
              Delete project
            </button>
          </div>
        </Form>
      </dialog>
    </>
  );
}
