import { redirect, type LoaderFunctionArgs } from '@remix-run/node';
import '../load-context';

export function loader({ context }: LoaderFunctionArgs) {
  return redirect(context.user ? '/projects' : '/signin');
}
