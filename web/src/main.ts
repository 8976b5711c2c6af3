/** The dashboard app: `#/` is the job list, `#/jobs/<id>` the transcript viewer. */
import { ApiError, loadSession } from './api.js';
import { h } from './dom.js';
import { renderJobs } from './jobs.js';
import { renderViewer } from './viewer.js';

const root = document.getElementById('app') as HTMLElement;
let dispose: (() => void) | undefined;

async function route(): Promise<void> {
  dispose?.();
  dispose = undefined;
  root.replaceChildren();
  const m = /^#\/jobs\/([^/]+)$/.exec(location.hash);
  try {
    dispose = m ? await renderViewer(root, decodeURIComponent(m[1] as string)) : await renderJobs(root);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return void location.assign('/signin');
    root.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Could not load: ${(err as Error).message}`));
  }
}

async function start(): Promise<void> {
  // The session (tenant, CSRF token) and the first screen's data load side by side: reads need no CSRF token.
  const session = loadSession().then(
    (s) => {
      document.body.dataset.tenant = s.tenant;
      document.getElementById('tenant')?.replaceChildren(s.tenant);
    },
    () => location.assign('/signin'),
  );
  window.addEventListener('hashchange', () => void route());
  await Promise.all([session, route()]);
}

void start();
